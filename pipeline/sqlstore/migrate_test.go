package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

func sqlFile(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

// TestMigrationsRefused: a repeated or missing version, a badly named
// file, and a database newer than the binary each stop Migrate with a
// message that names the problem, and nothing of the refused set runs.
func TestMigrationsRefused(t *testing.T) {
	one := sqlFile("CREATE TABLE one (id INTEGER PRIMARY KEY);")
	two := sqlFile("CREATE TABLE two (id INTEGER PRIMARY KEY);")
	cases := []struct {
		name  string
		files fstest.MapFS
		want  []string
	}{
		{"repeated version", fstest.MapFS{
			"migrations/0001_one.sql":     one,
			"migrations/0002_two.sql":     two,
			"migrations/0002_another.sql": sqlFile("CREATE TABLE another (id INTEGER);"),
		}, []string{"0002_another.sql", "0002_two.sql", "same version 2"}},
		{"missing version", fstest.MapFS{
			"migrations/0001_one.sql":   one,
			"migrations/0003_three.sql": two,
		}, []string{"version 2 is missing", "0003_three.sql"}},
		{"first version missing", fstest.MapFS{
			"migrations/0002_two.sql": two,
		}, []string{"version 1 is missing"}},
		{"bad name", fstest.MapFS{
			"migrations/0001_one.sql": one,
			"migrations/2-two.sql":    two,
		}, []string{"2-two.sql", "0008_what_it_does.sql"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := openBare(t)
			db.migrations = under(db, c.files)
			_, err := db.Migrate(t.Context())
			if err == nil {
				t.Fatal("Migrate accepted the set")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q: %v", w, err)
				}
			}
			var n int
			if err := db.sql.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil || n != 0 {
				t.Fatalf("%d migrations recorded (%v), want none", n, err)
			}
		})
	}
}

// TestMigrationAddedWithTakenVersion is the case that was silently
// skipped: a database at version 2 and a new file that reuses 2.
func TestMigrationAddedWithTakenVersion(t *testing.T) {
	db := openBare(t)
	files := under(db, fstest.MapFS{
		"migrations/0001_one.sql": sqlFile("CREATE TABLE one (id INTEGER PRIMARY KEY);"),
		"migrations/0002_two.sql": sqlFile("CREATE TABLE two (id INTEGER PRIMARY KEY);"),
	})
	db.migrations = files
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	files[db.migrationDir()+"/0002_three.sql"] = sqlFile("CREATE TABLE three (id INTEGER PRIMARY KEY);")
	if _, err := db.Migrate(t.Context()); err == nil || !strings.Contains(err.Error(), "0002_three.sql") {
		t.Fatalf("a second version 2 was not refused: %v", err)
	}
}

// TestDatabaseNewerThanBinary: a database migrated by a newer Loa is
// refused by an older one, naming both versions.
func TestDatabaseNewerThanBinary(t *testing.T) {
	db := openBare(t)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations(migrationFS, db.migrationDir())
	if err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{}
	for _, m := range ms[:len(ms)-1] {
		body, err := migrationFS.ReadFile(m.path)
		if err != nil {
			t.Fatal(err)
		}
		older[m.path] = &fstest.MapFile{Data: body}
	}
	db.migrations = older
	_, err = db.Migrate(t.Context())
	if err == nil {
		t.Fatal("an older binary migrated a newer database")
	}
	for _, w := range []string{"at version " + strconv.Itoa(ms[len(ms)-1].version), "up to " + strconv.Itoa(ms[len(ms)-2].version), "newer Loa"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q: %v", w, err)
		}
	}
}

// under moves a test's migrations/NAME files to the folder of db's
// dialect.
func under(db *DB, files fstest.MapFS) fstest.MapFS {
	out := fstest.MapFS{}
	for name, f := range files {
		out[db.migrationDir()+"/"+strings.TrimPrefix(name, "migrations/")] = f
	}
	return out
}

// TestMigrationsOfBothDialects: every SQLite migration has a PostgreSQL
// twin of the same version and name, and both sets pass the runner's
// checks, so neither backend can be left a version behind.
func TestMigrationsOfBothDialects(t *testing.T) {
	lite, err := loadMigrations(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := loadMigrations(migrationFS, "migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	names := func(ms []migration) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.name)
		}
		return out
	}
	if a, b := strings.Join(names(lite), " "), strings.Join(names(pg), " "); a != b {
		t.Fatalf("the dialects' migrations differ:\nsqlite:   %s\npostgres: %s", a, b)
	}
	if len(lite) < 12 {
		t.Fatalf("%d migrations found, want at least 12", len(lite))
	}
}

// openBare opens an empty database without migrating it.
func openBare(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestConcurrentMigrate: processes starting together on one new database
// (replicas) each migrate it without error, and every version is applied
// once.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	where := pgtest.Location(t, "loa.db")
	const n = 3
	dbs := make([]*DB, n)
	for i := range dbs {
		db, err := Open(ctx, where)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	errs := make(chan error, n)
	for _, db := range dbs {
		go func() {
			_, err := db.Migrate(ctx)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ms, err := loadMigrations(migrationFS, dbs[0].migrationDir())
	if err != nil {
		t.Fatal(err)
	}
	var count, distinct int
	if err := dbs[0].sql.QueryRow("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&count, &distinct); err != nil {
		t.Fatal(err)
	}
	if count != len(ms) || distinct != len(ms) {
		t.Fatalf("%d rows, %d versions recorded; want %d", count, distinct, len(ms))
	}
}
