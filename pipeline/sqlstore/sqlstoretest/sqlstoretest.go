// Package sqlstoretest gives tests a fresh, migrated metadata store in a
// temporary folder, closed when the test ends.
package sqlstoretest

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

// PasswordCost is the bcrypt cost of the passwords test stores hash
// (bcrypt.MinCost): sign-in works as in production, but a hash takes
// milliseconds under the race detector instead of seconds.
const PasswordCost = bcrypt.MinCost

// New opens and migrates a new store: a SQLite file under t.TempDir(),
// or a new PostgreSQL database when LOA_TEST_POSTGRES_URL is set (see
// pgtest).
func New(t testing.TB) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.PasswordCost = PasswordCost
	return db
}

// Replicas opens n stores on one new, migrated database, as n Loa
// processes (replicas) do, each following the change feed until the test
// ends.
func Replicas(t testing.TB, n int) []*sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	loc := pgtest.Location(t, "loa.db")
	var wg sync.WaitGroup
	dbs := make([]*sqlstore.DB, n)
	for i := range dbs {
		db, err := sqlstore.Open(ctx, loc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		db.PasswordCost = PasswordCost
		dbs[i] = db
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.Follow(ctx, slog.New(slog.DiscardHandler)); err != nil {
				t.Error(err)
			}
		}()
	}
	return dbs
}

// User adds a user with a fixed test password and returns it.
func User(t testing.TB, db *sqlstore.DB, name string, role pipeline.Role, languages ...string) pipeline.User {
	t.Helper()
	n := pipeline.NewUser{Name: name, Role: role, Password: "mat-khau-dai-du", Languages: languages}
	if role == pipeline.RoleOperator {
		n.Commune = "muong-lan"
	}
	u, err := db.CreateUser(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// CaughtUp returns once follower's feed has delivered every change
// recorded in the database so far, so a listener added after it hears
// only what happens next. It records a marker change through writer and
// waits for follower to deliver it (changes are delivered in id order);
// it fails the test if that takes longer than 30 s.
func CaughtUp(t testing.TB, writer, follower *sqlstore.DB) {
	t.Helper()
	key := fmt.Sprintf("caught-up-%d", time.Now().UnixNano())
	heard := make(chan struct{})
	var once sync.Once
	stop := follower.OnChange(func(c pipeline.Change) {
		if c.Key == key {
			once.Do(func() { close(heard) })
		}
	})
	defer stop()
	if err := writer.WriteChange(context.Background(), pipeline.ChangeTokens, key, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(30 * time.Second):
		t.Fatal("the follower did not hear the feed's marker change within 30 s")
	}
}
