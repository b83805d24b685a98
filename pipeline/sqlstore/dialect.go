package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is the SQL engine behind a store.
type Dialect string

// The dialects Loa speaks.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Location is where a store lives, as LOA_DB names it.
type Location struct {
	Dialect Dialect
	// Path is the SQLite file (SQLite only).
	Path string
	// URL is the PostgreSQL connection URL (PostgreSQL only).
	URL string
}

// ParseLocation reads LOA_DB: postgres://… or postgresql://… is a
// PostgreSQL server; sqlite:PATH or a plain path is a SQLite file. An
// empty value or a URL that does not parse is an error.
func ParseLocation(s string) (Location, error) {
	switch {
	case s == "":
		return Location{}, errors.New("no database given: set LOA_DB to a SQLite file path or a postgres:// URL")
	case strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://"):
		if _, err := pgx.ParseConfig(s); err != nil {
			return Location{}, fmt.Errorf("database URL does not parse (%v): write postgres://USER:PASSWORD@HOST:PORT/DATABASE", redactErr(err, s))
		}
		return Location{Dialect: Postgres, URL: s}, nil
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(s, "sqlite:")
		if p == "" {
			return Location{}, errors.New("sqlite: needs a file path after it, e.g. sqlite:/var/lib/loa/loa.db")
		}
		return Location{Dialect: SQLite, Path: p}, nil
	case strings.Contains(s, "://"):
		return Location{}, fmt.Errorf("database %q: only postgres:// URLs, sqlite:PATH and file paths are understood", redact(s))
	}
	return Location{Dialect: SQLite, Path: s}, nil
}

// String is the location with any password hidden.
func (l Location) String() string {
	if l.Dialect == Postgres {
		return redact(l.URL)
	}
	return l.Path
}

// redact hides the password of a URL, for messages and logs.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a database URL that does not parse)"
	}
	return u.Redacted()
}

// redactErr is err with the DSN's password replaced in its message; it
// still unwraps to err, so callers can tell what failed (Unreachable).
func redactErr(err error, dsn string) error {
	msg := err.Error()
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError is an error whose message had a password taken out.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// openPostgres opens a pool on a PostgreSQL server whose connections
// rebind Loa's ? placeholders (see rebind).
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact(dsn), redactErr(err, dsn))
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(20)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", redact(dsn), redactErr(err, dsn))
	}
	return db, nil
}

// pgConnector makes connections that rebind placeholders: the one place
// where Loa's ?-style SQL becomes PostgreSQL's $1-style.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("pgx gave a %T connection, not *stdlib.Conn", conn)
	}
	return &pgConn{sc}, nil
}

// pgConn is a pgx connection whose queries are rebound.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// rebind turns the ? placeholders of q into $1, $2… for PostgreSQL. A ?
// inside a quoted string or identifier or a comment is left alone, and so
// is a query that already uses $N placeholders (River's own SQL, whose ?
// is PostgreSQL's JSON key operator).
func rebind(q string) string {
	if !strings.Contains(q, "?") || hasDollarPlaceholder(q) {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	forEachCode(q, func(i int, c byte, code bool) {
		if code && c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			return
		}
		b.WriteByte(c)
	})
	return b.String()
}

// hasDollarPlaceholder reports whether q has a $N outside quotes and
// comments.
func hasDollarPlaceholder(q string) bool {
	found := false
	forEachCode(q, func(i int, c byte, code bool) {
		if code && c == '$' && i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
			found = true
		}
	})
	return found
}

// forEachCode calls fn for each byte of q, saying whether it is SQL code
// (not inside a '…' string, a "…" identifier, a -- comment or a /* */
// comment).
func forEachCode(q string, fn func(i int, c byte, code bool)) {
	const (
		code = iota
		single
		double
		line
		block
	)
	state := code
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch state {
		case code:
			switch {
			case c == '\'':
				state = single
			case c == '"':
				state = double
			case c == '-' && i+1 < len(q) && q[i+1] == '-':
				state = line
			case c == '/' && i+1 < len(q) && q[i+1] == '*':
				state = block
			default:
				fn(i, c, true)
				continue
			}
		case single:
			if c == '\'' {
				state = code
			}
		case double:
			if c == '"' {
				state = code
			}
		case line:
			if c == '\n' {
				state = code
			}
		case block:
			if c == '/' && i > 0 && q[i-1] == '*' {
				state = code
			}
		}
		fn(i, c, false)
	}
}

// isPostgres reports whether sqldb is a PostgreSQL pool opened by Open.
func isPostgres(sqldb *sql.DB) bool {
	_, ok := sqldb.Driver().(interface{ isLoaPostgres() })
	return ok
}

// Driver returns the connector's driver, marked as Loa's PostgreSQL one.
func (c pgConnector) Driver() driver.Driver { return pgDriver{c.Connector.Driver()} }

// pgDriver is pgx's driver, marked so isPostgres can tell it apart.
type pgDriver struct{ driver.Driver }

func (pgDriver) isLoaPostgres() {}

// RiverDriver returns River's driver for the store's pool sqldb (from
// DB.SQL): riversqlite for SQLite and riverdatabasesql for PostgreSQL,
// both working in *sql.Tx so jobs are queued in the transactions of the
// store that make them true.
func RiverDriver(sqldb *sql.DB) riverdriver.Driver[*sql.Tx] {
	if isPostgres(sqldb) {
		return riverdatabasesql.New(sqldb)
	}
	return riversqlite.New(sqldb)
}

// Dialect says which engine the store runs on.
func (db *DB) Dialect() Dialect { return db.dialect }

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure (two writers racing for one key), on either engine.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505" // unique_violation
	}
	return false
}

// copyRows stores n rows into table with PostgreSQL's COPY, on conn (in
// the transaction begun on it, when there is one): row(i) gives the
// values of row i, in the order of columns (pgx encodes them before it
// asks for the next row, so row may reuse its slice and buffers); an
// error from row stops the copy and is returned.
func copyRows(ctx context.Context, conn *sql.Conn, table string, columns []string, n int, row func(i int) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("copy into %s: a %T connection, not PostgreSQL's", table, dc)
		}
		_, err := c.Conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromSlice(n, row))
		return err
	})
}

// copyArgs is copyRows over args, which holds the rows' values one row
// after another.
func copyArgs(ctx context.Context, conn *sql.Conn, table string, columns []string, args []any) error {
	w := len(columns)
	return copyRows(ctx, conn, table, columns, len(args)/w, func(i int) ([]any, error) { return args[i*w : (i+1)*w], nil })
}
