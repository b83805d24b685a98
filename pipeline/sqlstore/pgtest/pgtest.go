// Package pgtest gives each test its own store location: a new, empty
// PostgreSQL database when LOA_TEST_POSTGRES_URL is set (the server
// .ci/with-postgres starts), else a SQLite file under t.TempDir(). The
// same tests thus run on both backends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding the test server's URL (a superuser's,
// on a database it may connect to, such as postgres).
const EnvURL = "LOA_TEST_POSTGRES_URL"

// Enabled reports whether tests run against PostgreSQL.
func Enabled() bool { return os.Getenv(EnvURL) != "" }

// Location returns a LOA_DB value for a new, empty store: a database
// created for this test (dropped when it ends) under PostgreSQL, else
// the SQLite file name under a new t.TempDir().
func Location(t testing.TB, name string) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		return filepath.Join(t.TempDir(), name)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s does not parse: %v", EnvURL, err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	db := "loa_test_" + hex.EncodeToString(b[:])
	exec(t, admin, "CREATE DATABASE "+db)
	t.Cleanup(func() { exec(t, admin, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	u.Path = "/" + db
	return u.String()
}

// exec runs one statement on the admin connection.
func exec(t testing.TB, admin, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
