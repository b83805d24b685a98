package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// replicas opens n stores on one new database, as n Loa processes do,
// each following the change feed until the test ends.
func replicas(t *testing.T, n int) []*DB {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	loc := pgtest.Location(t, "loa.db")
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	dbs := make([]*DB, n)
	for i := range dbs {
		db, err := Open(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		dbs[i] = db
	}
	for _, db := range dbs {
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			close(started)
			if err := db.Follow(ctx, slog.New(slog.DiscardHandler)); err != nil {
				t.Error(err)
			}
		}()
		<-started
	}
	return dbs
}

// within waits for ok to hold, up to limit, and returns how long it took.
func within(t *testing.T, limit time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestRevokeSeenByOtherProcess: a token cached by process B is refused
// by B within a second of A revoking it (the cache's TTL is 30 s), and a
// change recorded by A reaches B's listeners, in order.
func TestRevokeSeenByOtherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbs := replicas(t, 2)
	a, b := dbs[0], dbs[1]
	u, err := a.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.CreateToken(ctx, u.ID, "may")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var heard []pipeline.Change
	stop := b.OnChange(func(c pipeline.Change) {
		mu.Lock()
		heard = append(heard, c)
		mu.Unlock()
	})
	defer stop()
	for range 2 { // the second answer comes from B's cache
		if _, err := b.UserByToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.RevokeToken(ctx, tok, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	took := within(t, time.Second, "revoked token refused by the other process", func() bool {
		_, err := b.UserByToken(ctx, tok)
		return errors.Is(err, pipeline.ErrTokenRevoked)
	})
	t.Logf("revocation seen by the other process after %s", took)

	key := strconv.FormatInt(u.ID, 10)
	if err := a.WriteChange(ctx, pipeline.ChangeUsers, key, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "user change heard by the other process", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(heard) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if heard[0].Kind != pipeline.ChangeTokens || heard[1].Kind != pipeline.ChangeUsers || heard[1].Key != key || heard[0].ID >= heard[1].ID {
		t.Fatalf("heard %+v, want the revocation then the user change", heard)
	}
}

// TestWriteChangeRollsBack: a change whose transaction fails is neither
// stored nor heard, and the error is fn's.
func TestWriteChangeRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := replicas(t, 1)[0]
	boom := errors.New("boom")
	if err := db.WriteChange(ctx, pipeline.ChangeUsers, "7", func(*sql.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v, want fn's", err)
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM changes").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d changes stored (%v), want none", n, err)
	}
	if err := db.RevokeToken(ctx, "no-such-token", pipeline.Actor{}); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		t.Fatalf("revoking an unknown token: %v", err)
	}
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM changes").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d changes stored after a refused revocation (%v), want none", n, err)
	}
}

// TestChangesSweptUnreadAreLost: a process that missed changes swept
// before it read them is told to drop everything (ChangeLost); old rows
// are swept and new ones kept.
func TestChangesSweptUnreadAreLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	record := func() {
		t.Helper()
		if err := db.WriteChange(ctx, pipeline.ChangeTokens, "", func(*sql.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	var heard []pipeline.ChangeKind
	db.OnChange(func(c pipeline.Change) { heard = append(heard, c.Kind) })
	record()
	last, err := db.readChanges(ctx, 0, nil)
	if err != nil || last == 0 {
		t.Fatalf("read: %d %v", last, err)
	}
	record()
	record()
	if err := db.SweepChanges(ctx, db.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	record()
	if _, err := db.readChanges(ctx, last, nil); err != nil {
		t.Fatal(err)
	}
	want := []pipeline.ChangeKind{pipeline.ChangeTokens, pipeline.ChangeLost, pipeline.ChangeTokens}
	if len(heard) != len(want) || heard[0] != want[0] || heard[1] != want[1] || heard[2] != want[2] {
		t.Fatalf("heard %v, want %v", heard, want)
	}
}

// TestFollowEndedBeforeItBegan: a follower whose context ends before its
// first read returns nil, as one that ends later does (a process stopped
// at once after it started, or a quick test's cleanup).
func TestFollowEndedBeforeItBegan(t *testing.T) {
	db := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Follow(ctx, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Follow with an ended context: %v, want nil", err)
	}
}

// TestManyChangesInOneTransaction: changes recorded together (a national
// build records one per commune, in multi-row statements) are all heard,
// in the order they were recorded, with increasing ids.
func TestManyChangesInOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	var heard []pipeline.Change
	db.OnChange(func(c pipeline.Change) { heard = append(heard, c) })
	// Past two full statements and a partial one.
	cs := make([]pipeline.Change, 2*execRowsMax+57)
	for i := range cs {
		cs[i] = pipeline.Change{Kind: pipeline.ChangeSchedule, Key: "xa-" + strconv.Itoa(i), Note: "build " + strconv.Itoa(i%3)}
	}
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return db.recordChange(ctx, tx, cs...) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.readChanges(ctx, 0, nil); err != nil {
		t.Fatal(err)
	}
	if len(heard) != len(cs) {
		t.Fatalf("heard %d changes, want %d", len(heard), len(cs))
	}
	for i, c := range heard {
		if c.Kind != cs[i].Kind || c.Key != cs[i].Key || c.Note != cs[i].Note || (i > 0 && c.ID <= heard[i-1].ID) {
			t.Fatalf("change %d heard as %+v, want %+v after id %d", i, c, cs[i], heard[max(i-1, 0)].ID)
		}
	}
}
