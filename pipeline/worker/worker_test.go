package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

func TestNewRefusesBadSpec(t *testing.T) {
	t.Parallel()
	_, err := New(Config{SweepSpec: "CRON_TZ="})
	if err == nil || !strings.Contains(err.Error(), "LOA_CRON_SWEEP") {
		t.Fatalf("got %v, want an error naming LOA_CRON_SWEEP", err)
	}
}

// TestSweepUploads leaves an object behind as a crashed upload would and
// checks the sweep removes it only once it is older than the grace.
func TestSweepUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := objectstest.New(t)
	db := sqlstoretest.New(t)
	u := sqlstoretest.User(t, db, "p", pipeline.RoleProducer)
	now := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	key := "segments/crashed/original"
	if err := db.BeginUpload(ctx, key, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, key, strings.NewReader("half a file"), -1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	if n, err := SweepUploads(ctx, db, store, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep within the grace removed %d (%v)", n, err)
	}
	if n, err := SweepUploads(ctx, db, store, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep after the grace removed %d (%v), want 1", n, err)
	}
	if objs, _ := store.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("objects left: %v", objs)
	}
	if left, _ := db.StaleUploads(ctx, now.Add(time.Hour)); len(left) != 0 {
		t.Fatalf("upload rows left: %v", left)
	}
}
