package worker

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// The night after New Year, Q4, H2 and the year close: each is stored in
// every format, once; a second run stores nothing.
func TestCloseReports(t *testing.T) {
	ctx := context.Background()
	store, _ := objectstest.New(t)
	db, err := sqlstore.Open(ctx, pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 2, 30, 0, 0, report.Location())
	keys, err := CloseReports(ctx, db, store, now, nil)
	if err == nil && len(keys) != 9 {
		t.Fatalf("stored %d reports: %v", len(keys), keys)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := store.Stat(ctx, k); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	again, err := CloseReports(ctx, db, store, now.Add(24*time.Hour), nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run stored %v, %v", again, err)
	}
	list, _ := db.StoredReports(ctx)
	if len(list) != 9 || list[0].SHA256 == "" {
		t.Fatalf("recorded %+v", list)
	}
}
