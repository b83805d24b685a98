package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// copyTables is every table Loa owns, parents before the tables that
// refer to them. River's tables and schema_migrations are not copied:
// the target's migrations make its own, and the queue must be drained
// first (see Copy). A table missing from this list stops Copy, so a new
// migration cannot be left out silently.
var copyTables = []string{
	"users", "tokens", "user_contacts", "sessions", "account_events", "device_polls", "device_heartbeats", "uploads",
	"segments", "segment_events", "renditions", "variants", "emergencies", "emergency_communes", "emergency_requests",
	"jobs", "job_events", "job_submissions", "translation_memory", "glossary", "notices",
	"communes", "clusters", "slots", "devices",
	"schedule_versions", "schedule_heads", "schedule_days", "schedule_interrupts", "schedule_history", "schedule_builds",
	"play_reports", "reports",
}

// TableCopy is what Copy did with one table.
type TableCopy struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
	// Checksum is the SHA-256 (hex) of the table's rows, each encoded
	// canonically and hashed, in sorted hash order; it is the same on the
	// source and the target, or Copy fails.
	Checksum string `json:"checksum"`
}

// Copy moves every table Loa owns from the store from into the store to,
// which must be empty: it migrates to, refuses it if any of Loa's
// tables has a row, refuses a source whose job queue still holds work
// (River's queue is not copied: stop loa serve once its queue is empty),
// copies each table in one transaction, then reads both sides back and
// compares each table's row count and checksum. Only when every table
// matches does it return without error.
func Copy(ctx context.Context, from, to *DB) ([]TableCopy, error) {
	if _, err := from.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("copy: bring the source up to date: %w", err)
	}
	if _, err := to.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("copy: prepare the target: %w", err)
	}
	if err := from.checkCopyCovers(ctx); err != nil {
		return nil, err
	}
	if err := from.checkQueueDrained(ctx); err != nil {
		return nil, err
	}
	for _, t := range copyTables {
		var n int64
		if err := to.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("copy: count %s in the target: %w", t, err)
		}
		if n > 0 {
			return nil, &pipeline.Error{Code: pipeline.CodeConflict,
				Message: fmt.Sprintf("The target database is not empty (%s has %d rows): copy only into a new, empty database.", t, n)}
		}
	}
	err := to.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range copyTables {
			if err := copyTable(ctx, from, tx, to, t); err != nil {
				return err
			}
		}
		return to.resetIdentities(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	var out []TableCopy
	for _, t := range copyTables {
		src, err := from.tableChecksum(ctx, t)
		if err != nil {
			return out, err
		}
		dst, err := to.tableChecksum(ctx, t)
		if err != nil {
			return out, err
		}
		if src != dst {
			return out, fmt.Errorf("copy: %s differs after the copy: source %d rows, checksum %s; target %d rows, checksum %s",
				t, src.Rows, src.Checksum, dst.Rows, dst.Checksum)
		}
		out = append(out, src)
	}
	return out, nil
}

// checkCopyCovers refuses a source with a table of Loa's that copyTables
// does not list.
func (db *DB) checkCopyCovers(ctx context.Context) error {
	var q string
	if db.dialect == Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	} else {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	names, err := queryAll(ctx, db.sql, "copy: list the source's tables", func(sc scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	}, q)
	if err != nil {
		return err
	}
	for _, n := range names {
		// The change feed (changes) is transient: replicas start from its
		// newest row, and the target's Migrate creates it; so are the open
		// event streams (event_streams), which end with their processes.
		if n == "schema_migrations" || n == "changes" || n == "event_streams" || strings.HasPrefix(n, "river_") || slices.Contains(copyTables, n) {
			continue
		}
		return fmt.Errorf("copy: the source has a table %s that this loa does not know how to copy; upgrade loa", n)
	}
	return nil
}

// checkQueueDrained refuses a source whose River queue has jobs not yet
// finished: they would be lost, since the queue is not copied.
func (db *DB) checkQueueDrained(ctx context.Context) error {
	var n int64
	err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job
		WHERE state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n)
	if err != nil {
		return fmt.Errorf("copy: read the source's job queue: %w", err)
	}
	if n > 0 {
		return &pipeline.Error{Code: pipeline.CodeConflict,
			Message: fmt.Sprintf("The source's job queue still has %d unfinished jobs (processing, schedule builds, notices): let loa serve finish them, stop it, and copy again. The queue itself is not copied.", n)}
	}
	return nil
}

// copyTable reads every row of table from the source and inserts it in
// tx on the target, converting each value to the target column's type.
func copyTable(ctx context.Context, from *DB, tx *sql.Tx, to *DB, table string) error {
	cols, types, err := from.columnKinds(ctx, table)
	if err != nil {
		return err
	}
	rows, err := from.sql.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("write %s: %w", table, err)
	}
	defer stmt.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		args := make([]any, len(cols))
		for i, v := range vals {
			if args[i], err = normalize(v, types[i]); err != nil {
				return fmt.Errorf("read %s.%s: %w", table, cols[i], err)
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("write a row of %s: %w", table, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	return nil
}

// resetIdentities moves each PostgreSQL identity column past the largest
// id copied, so new rows do not collide with copied ones.
func (db *DB) resetIdentities(ctx context.Context, tx *sql.Tx) error {
	if db.dialect != Postgres {
		return nil
	}
	tables, err := func() ([]string, error) {
		rows, err := tx.QueryContext(ctx, `SELECT table_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND column_name = 'id' AND is_identity = 'YES'`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		return out, rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("list identity columns: %w", err)
	}
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence(?, 'id'), COALESCE((SELECT MAX(id) FROM "+t+"), 0) + 1, false)", t); err != nil {
			return fmt.Errorf("reset the ids of %s: %w", t, err)
		}
	}
	return nil
}

// columnKind is how a column's values are compared: the same on both
// dialects whatever the driver hands back.
type columnKind int

const (
	kindText columnKind = iota
	kindInt
	kindFloat
	kindTime
	kindBytes
)

// columnKinds reads table's columns, sorted by name (each engine lists
// them in its own order), and the kind of each.
func (db *DB) columnKinds(ctx context.Context, table string) ([]string, []columnKind, error) {
	var q string
	if db.dialect == Postgres {
		q = "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
	} else {
		q = "SELECT name, type FROM pragma_table_info(?)"
	}
	decl := map[string]string{}
	rows, err := db.sql.QueryContext(ctx, q, table)
	if err != nil {
		return nil, nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, nil, fmt.Errorf("read the columns of %s: %w", table, err)
		}
		decl[name] = strings.ToUpper(typ)
		cols = append(cols, name)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read the columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("copy: table %s has no columns", table)
	}
	slices.Sort(cols)
	out := make([]columnKind, len(cols))
	for i, c := range cols {
		t := decl[c]
		switch {
		case strings.Contains(t, "TIMESTAMP"):
			out[i] = kindTime
		case strings.Contains(t, "INT"):
			out[i] = kindInt
		case strings.Contains(t, "REAL"), strings.Contains(t, "DOUBLE"):
			out[i] = kindFloat
		case t == "BLOB", t == "BYTEA":
			out[i] = kindBytes
		default:
			out[i] = kindText
		}
	}
	return cols, out, nil
}

// normalize turns a value read from either driver into the Go type of its
// kind: nil, int64, float64, string, []byte, or time.Time in UTC.
func normalize(v any, k columnKind) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		if k == kindBytes {
			return bytes.Clone(b), nil
		}
		v = string(b)
	}
	switch k {
	case kindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case kindFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
				if t, err := time.Parse(layout, x); err == nil {
					return t.UTC(), nil
				}
			}
			return nil, fmt.Errorf("time %q is in no known layout", x)
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) is not what the column holds", v, v)
}

// tableChecksum counts table's rows and hashes them: each row's values
// normalized and encoded (type tag, length, bytes), hashed, and the
// sorted row hashes hashed again, so the order rows come back in and the
// driver's types do not matter. Times are compared to the microsecond,
// PostgreSQL's precision.
func (db *DB) tableChecksum(ctx context.Context, table string) (TableCopy, error) {
	res := TableCopy{Table: table}
	cols, kinds, err := db.columnKinds(ctx, table)
	if err != nil {
		return res, err
	}
	rows, err := db.sql.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+table)
	if err != nil {
		return res, fmt.Errorf("copy: check %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var hashes [][sha256.Size]byte
	var buf bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return res, fmt.Errorf("copy: check %s: %w", table, err)
		}
		buf.Reset()
		for i, v := range vals {
			n, err := normalize(v, kinds[i])
			if err != nil {
				return res, fmt.Errorf("copy: check %s.%s: %w", table, cols[i], err)
			}
			encodeValue(&buf, n)
		}
		hashes = append(hashes, sha256.Sum256(buf.Bytes()))
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("copy: check %s: %w", table, err)
	}
	slices.SortFunc(hashes, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for _, x := range hashes {
		h.Write(x[:])
	}
	res.Rows = int64(len(hashes))
	res.Checksum = hex.EncodeToString(h.Sum(nil))
	return res, nil
}

// encodeValue appends a normalized value: a type tag, then its bytes
// (length-prefixed for text).
func encodeValue(buf *bytes.Buffer, v any) {
	var n [8]byte
	switch x := v.(type) {
	case nil:
		buf.WriteByte('N')
	case int64:
		buf.WriteByte('I')
		binary.BigEndian.PutUint64(n[:], uint64(x))
		buf.Write(n[:])
	case float64:
		buf.WriteByte('F')
		binary.BigEndian.PutUint64(n[:], math.Float64bits(x))
		buf.Write(n[:])
	case time.Time:
		buf.WriteByte('T')
		binary.BigEndian.PutUint64(n[:], uint64(x.Truncate(time.Microsecond).UnixMicro()))
		buf.Write(n[:])
	case []byte:
		buf.WriteByte('B')
		binary.BigEndian.PutUint64(n[:], uint64(len(x)))
		buf.Write(n[:])
		buf.Write(x)
	case string:
		buf.WriteByte('S')
		binary.BigEndian.PutUint64(n[:], uint64(len(x)))
		buf.Write(n[:])
		buf.WriteString(x)
	}
}
