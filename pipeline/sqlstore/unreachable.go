package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unreachable reports whether err says the database could not be reached
// or dropped the connection, rather than refused what was asked: the
// PostgreSQL server down or restarting (connection refused, SQLSTATE class
// 08 "connection exception" or 57P "operator intervention", e.g. 57P01
// when it shuts down), a network error, a connection database/sql gave up,
// or SQLite still locked by another process after its busy timeout (10 s).
// Any other network error in err's chain counts too (the media store's,
// when it reaches a handler unwrapped), so the API's message names both.
// Such a request is worth retrying in a moment; the HTTP layer answers it
// 503 with Retry-After instead of 500. Nothing was committed: every write
// runs in a transaction.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P")
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) {
		code := lite.Code() & 0xff // the primary result code
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}
