package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestUnreachable classifies errors the drivers really return: a
// PostgreSQL server that is not listening and a SQLite file another
// connection holds locked are unreachable; refusals of what was asked
// (a constraint, no rows, a pipeline refusal, a cancelled request) are not.
func TestUnreachable(t *testing.T) {
	ctx := context.Background()

	// A port nothing listens on: the connection is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	_, refused := Open(ctx, fmt.Sprintf("postgres://loa@127.0.0.1:%d/loa?sslmode=disable&connect_timeout=5", port))
	if refused == nil {
		t.Fatal("opened a PostgreSQL database on a port nothing listens on")
	}

	// A SQLite file held by another writer, asked without waiting.
	path := filepath.Join(t.TempDir(), "locked.db")
	holder, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := holder.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	hold, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Close() })
	if _, err := hold.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	_, busy := other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if busy == nil {
		t.Fatal("wrote to a SQLite file another connection holds")
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"PostgreSQL not listening", refused, true},
		{"PostgreSQL shutting down (57P01)", fmt.Errorf("save: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{"PostgreSQL connection failure (08006)", &pgconn.PgError{Code: "08006"}, true},
		{"SQLite busy", fmt.Errorf("save: %w", busy), true},
		{"a connection database/sql gave up", sql.ErrConnDone, true},
		{"unique violation (23505)", &pgconn.PgError{Code: "23505"}, false},
		{"no rows", sql.ErrNoRows, false},
		{"a refusal", pipeline.Errorf(pipeline.CodeConflict, "taken"), false},
		{"a cancelled request", cancelled.Err(), false},
		{"nil", nil, false},
		{"plain", errors.New("disk full"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
