package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// openSQLiteFile opens and migrates a SQLite store in a new folder,
// whatever backend the other tests use: Copy's source is always SQLite.
func openSQLiteFile(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "source.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestCopy copies a seeded SQLite catalog into an empty store (a new
// PostgreSQL database under LOA_TEST_POSTGRES_URL, else another SQLite
// file): every table has the source's rows and checksum, a token made on
// the source works on the target, and a user added after the copy gets
// a new id. A second copy into the now full target is refused.
func TestCopy(t *testing.T) {
	ctx := context.Background()
	src := openSQLiteFile(t)
	loc := report.Location()
	seedReport(t, src, seedConfig{communes: 3, clusters: 2, from: time.Date(2025, 1, 1, 0, 0, 0, 0, loc), to: time.Date(2025, 2, 28, 0, 0, 0, 0, loc),
		cover: 2, segments: 20, seed: 3})
	u, err := src.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.CreateToken(ctx, u.ID, "may tinh")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := Open(ctx, pgtest.Location(t, "target.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })

	tables, err := Copy(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != len(copyTables) {
		t.Fatalf("%d tables reported, want %d", len(tables), len(copyTables))
	}
	byName := map[string]TableCopy{}
	for _, tc := range tables {
		byName[tc.Table] = tc
		var n int64
		if err := dst.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tc.Table).Scan(&n); err != nil || n != tc.Rows {
			t.Errorf("%s: target has %d rows (%v), report says %d", tc.Table, n, err, tc.Rows)
		}
	}
	for _, table := range []string{"users", "tokens", "segments", "schedule_versions", "schedule_days", "play_reports", "communes"} {
		if byName[table].Rows == 0 {
			t.Errorf("%s: no rows copied; the seed should have made some", table)
		}
	}
	got, err := dst.UserByToken(ctx, tok)
	if err != nil || got.ID != u.ID || got.Name != u.Name {
		t.Fatalf("the source's token on the target: %+v, %v", got, err)
	}
	v, err := dst.CreateUser(ctx, pipeline.NewUser{Name: "moi", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatalf("a user added after the copy: %v", err)
	}
	if v.ID <= u.ID {
		t.Fatalf("a user added after the copy got id %d, not after the copied %d", v.ID, u.ID)
	}

	_, err = Copy(ctx, src, dst)
	var pe *pipeline.Error
	if !errors.As(err, &pe) || pe.Code != pipeline.CodeConflict || !strings.Contains(pe.Message, "not empty") {
		t.Fatalf("a copy into a full target: %v, want a conflict saying it is not empty", err)
	}
}

// TestCopyRefusesUndrainedQueue: a source whose job queue holds work is
// refused, since the queue is not copied, and the target stays empty.
func TestCopyRefusesUndrainedQueue(t *testing.T) {
	ctx := context.Background()
	src := openSQLiteFile(t)
	if _, err := src.sql.ExecContext(ctx, `INSERT INTO river_job (kind, state, attempt, max_attempts, created_at, scheduled_at, args)
		VALUES ('process_segment', 'available', 0, 5, ?, ?, '{}')`, src.Now(), src.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := src.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"}); err != nil {
		t.Fatal(err)
	}
	dst, err := Open(ctx, pgtest.Location(t, "target.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	_, err = Copy(ctx, src, dst)
	if err == nil || !strings.Contains(err.Error(), "1 unfinished jobs") {
		t.Fatalf("Copy = %v, want a refusal naming the unfinished job", err)
	}
	var n int
	if err := dst.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the refused copy left %d users in the target (%v)", n, err)
	}
}
