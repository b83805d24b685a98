// Package sqlstore is Loa's metadata store: users, tokens, segments and
// uploads in flight, in SQLite (embedded, pure Go) with versioned,
// embedded migrations. The SQL is kept to what PostgreSQL also accepts so
// a second backend can follow; queries use ? placeholders, rebound per
// dialect in one place.
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/maypok86/otter/v2"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/sonla-cchc/loa/pipeline"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// The SQLite migrations are in migrations/, their PostgreSQL twins (same
// versions and names) in migrations/postgres/.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migrationDir is the folder of the store's dialect's migrations.
func (db *DB) migrationDir() string {
	if db.dialect == Postgres {
		return "migrations/postgres"
	}
	return "migrations"
}

// migrationSource is where Migrate reads its migrations: the embedded ones,
// or a test's.
func (db *DB) migrationSource() fs.FS {
	if db.migrations != nil {
		return db.migrations
	}
	return migrationFS
}

// DB is the metadata store.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// path is the SQLite file (empty on PostgreSQL).
	path string
	// Now is the clock; tests replace it.
	Now func() time.Time

	// PasswordCost is the bcrypt cost of the password hashes this store
	// writes (users, devices, resets); 0 means pipeline.DefaultPasswordCost.
	// Tests lower it: a hash at the default cost takes over a second
	// under the race detector.
	PasswordCost int

	dummyOnce sync.Once
	dummyHash string

	// saves keeps schedule saves' working memory (*saveScratch) for the
	// next save.
	saves sync.Pool

	// tokens and heads answer the lookups every device poll makes.
	tokens *readCache[[sha256.Size]byte, pipeline.User] // by pipeline.TokenSum
	heads  *readCache[string, pipeline.CommuneHead]     // by commune code
	// versionItems keeps the decoded entries of recently read schedule
	// versions (versions never change once stored).
	versionItems *otter.Cache[string, []pipeline.ScheduleItem]

	// migrations replaces the embedded migrations in tests.
	migrations fs.FS

	// feed is this process's state of the change feed (changes.go);
	// pgURL is where Follow listens for its notifications (PostgreSQL).
	feed  *feed
	pgURL string

	// PriorityChangedTx, when set, runs inside the transaction that
	// changes a segment's priority (SetPriority, MarkEmergency) with the
	// new priority, so work already queued for the segment can follow it
	// (the worker raises its queued processing job). An error rolls the
	// change back.
	PriorityChangedTx func(ctx context.Context, tx *sql.Tx, segmentID string, p pipeline.Priority) error
	// JobDeadlines are the translation jobs' deadlines per priority (the zero
	// value: translation.DefaultOpenOptions); a segment whose priority
	// rises has its jobs' deadlines brought forward to them. Set it to
	// what OpenJobsTx is given.
	JobDeadlines JobOptions
	// WithdrawnTx, when set, runs inside the transaction that withdraws
	// a segment, so the job that moves its objects out of reach of the
	// links already issued exists exactly when the withdrawal commits
	// (the worker's EnqueueWithdrawnTx). An error rolls it back.
	WithdrawnTx func(ctx context.Context, tx *sql.Tx, segmentID string) error
	// RebuildTx, when set, runs inside every transaction that changes
	// where or how a segment airs (SetPriority, MarkEmergency and so a
	// confirmed request, EndEmergency, WithdrawSegment), so the rebuild
	// of every commune (the worker's EnqueueRebuild) exists exactly when
	// the change commits. The caller rebuilds the communes it must at
	// once (an emergency's targets); this rebuild brings every other
	// commune whose stored schedule still names the segment up to date
	// right after, not at the nightly build. An error rolls it back.
	RebuildTx func(ctx context.Context, tx *sql.Tx, segmentID string) error
}

// rebuildTx runs db.RebuildTx, when set, for segment segmentID's change.
func (db *DB) rebuildTx(ctx context.Context, tx *sql.Tx, segmentID string) error {
	if db.RebuildTx == nil {
		return nil
	}
	if err := db.RebuildTx(ctx, tx, segmentID); err != nil {
		return fmt.Errorf("queue the schedules' rebuild after %s changed: %w", segmentID, err)
	}
	return nil
}

// priorityChanged brings the deadlines of the segment's translation jobs
// forward to p's (retimeJobsTx) and runs db.PriorityChangedTx when it is
// set: every change of a segment's priority (SetPriority, MarkEmergency,
// EndEmergency) goes through here, inside its transaction.
func (db *DB) priorityChanged(ctx context.Context, tx *sql.Tx, segmentID string, p pipeline.Priority) error {
	if err := db.retimeJobsTx(ctx, tx, segmentID, p); err != nil {
		return err
	}
	if db.PriorityChangedTx == nil {
		return nil
	}
	if err := db.PriorityChangedTx(ctx, tx, segmentID, p); err != nil {
		return fmt.Errorf("requeue work of %s at priority %s: %w", segmentID, p, err)
	}
	return nil
}

// Open opens the store LOA_DB names (see ParseLocation): a PostgreSQL
// server for postgres://…, else (creating it if needed) a SQLite file.
func Open(ctx context.Context, where string) (*DB, error) {
	loc, err := ParseLocation(where)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var sqldb *sql.DB
	switch loc.Dialect {
	case Postgres:
		sqldb, err = openPostgres(ctx, loc.URL)
	default:
		sqldb, err = openSQLite(ctx, loc.Path)
	}
	if err != nil {
		return nil, err
	}
	return &DB{sql: sqldb, dialect: loc.Dialect, path: loc.Path, Now: func() time.Time { return time.Now().UTC() },
		tokens: newReadCache[[sha256.Size]byte, pipeline.User](TokenCacheTTL), heads: newReadCache[string, pipeline.CommuneHead](HeadCacheTTL),
		feed: newFeed(), pgURL: loc.URL,
		versionItems: otter.Must(&otter.Options[string, []pipeline.ScheduleItem]{MaximumSize: versionItemsCached})}, nil
}

// openSQLite opens (creating if needed) the SQLite database at path. The
// DSN sets WAL and the busy timeout so every connection gets them, and
// makes transactions take the write lock when they begin. One connection
// is kept open: SQLite allows one writer, and River's SQLite driver asks
// for it.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open database: create folder %s: %w", dir, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// TokenCacheTTL bounds how long a cached token is trusted. A token
// revoked or a user changed in any process is dropped from every
// process's cache through the change feed (within FeedPoll of the change
// while Follow runs); the TTL only bounds a process that does not follow
// the feed.
const TokenCacheTTL = 30 * time.Second

// HeadCacheTTL bounds how long this process may serve a commune's previous
// schedule head after another process stored a new version, when it does
// not follow the change feed (which drops the head at once).
const HeadCacheTTL = time.Second

// Close closes the database and stops its read caches' clean-up.
func (db *DB) Close() error {
	if db.tokens != nil {
		db.tokens.close()
	}
	if db.heads != nil {
		db.heads.close()
	}
	if db.versionItems != nil {
		db.versionItems.StopAllGoroutines()
	}
	return db.sql.Close()
}

// SQL returns the connection pool, for River.
func (db *DB) SQL() *sql.DB { return db.sql }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.sql.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// MigrationResult says which versions a migration run applied.
type MigrationResult struct {
	Applied []int `json:"applied"`
	Current int   `json:"current"`
	River   []int `json:"river_applied"`
	// Unbound lists operators whose stored commune is not a commune code
	// and could not be mapped to exactly one (see bindOperatorCommunes);
	// each answers for no commune until recreated with a code.
	Unbound []string `json:"unbound_operators,omitempty"`
}

// foreignKeysOffMarker in a migration's SQL makes it run with foreign keys
// off and checked before commit (for table rebuilds).
const foreignKeysOffMarker = "-- loa:foreign-keys-off"

// Migrate applies Loa's pending migrations, each in its own transaction,
// then River's. It is safe to run again: applied versions are skipped.
func (db *DB) Migrate(ctx context.Context) (MigrationResult, error) {
	var res MigrationResult
	unlock, err := db.lockMigrations(ctx)
	if err != nil {
		return res, err
	}
	defer unlock()
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)`); err != nil {
		return res, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	ms, err := loadMigrations(db.migrationSource(), db.migrationDir())
	if err != nil {
		return res, err
	}
	if err := db.checkNotNewer(ctx, ms); err != nil {
		return res, err
	}
	for _, m := range ms {
		applied, err := db.applyMigration(ctx, m.version, m.path)
		if err != nil {
			return res, err
		}
		if applied {
			res.Applied = append(res.Applied, m.version)
		}
		res.Current = m.version
	}
	migrator, err := rivermigrate.New(RiverDriver(db.sql), nil)
	if err != nil {
		return res, fmt.Errorf("migrate: river: %w", err)
	}
	rr, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return res, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range rr.Versions {
		res.River = append(res.River, v.Version)
	}
	// Packing schedule entries (0017) and binding operators to codes are
	// data migrations of Loa's own schema; a test's own migration set
	// (db.migrations) has neither.
	if db.migrations == nil {
		if _, err := db.packScheduleItems(ctx); err != nil {
			return res, fmt.Errorf("migrate: %w", err)
		}
	}
	// Binding operators to codes is a data migration of Loa's own schema;
	// a test's own migration set (db.migrations) has no users to bind.
	if db.migrations == nil {
		if res.Unbound, err = db.bindOperatorCommunes(ctx); err != nil {
			return res, fmt.Errorf("migrate: %w", err)
		}
	}
	return res, nil
}

// migrationLockKey is the PostgreSQL advisory lock that Migrate holds, so
// replicas starting together migrate one after the other (the second
// finds every version applied).
const migrationLockKey = 0x4c6f614d6967 // "LoaMig"

// lockMigrations makes processes starting together on one database
// migrate it one after the other; the second finds every version applied.
// SQLite's write lock serialises Loa's own migrations but not River's
// migrator, which reads the applied versions before its transaction: on
// SQLite the lock is an flock(2) on PATH.migrate-lock beside the database
// file, polled every 50 ms until ctx ends. On PostgreSQL it is an advisory
// lock held on a connection of its own until unlock is called.
func (db *DB) lockMigrations(ctx context.Context) (unlock func(), err error) {
	if db.dialect != Postgres {
		lock := flock.New(db.path + ".migrate-lock")
		if _, err := lock.TryLockContext(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("migrate: wait for another process's migration (lock %s): %w", lock.Path(), err)
		}
		return func() { lock.Unlock() }, nil
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", int64(migrationLockKey)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("migrate: wait for another process's migration: %w", err)
	}
	return func() {
		conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", int64(migrationLockKey))
		conn.Close()
	}, nil
}

func (db *DB) applyMigration(ctx context.Context, version int, name string) (bool, error) {
	body, err := fs.ReadFile(db.migrationSource(), name)
	if err != nil {
		return false, fmt.Errorf("migrate: read %s: %w", name, err)
	}
	// A migration that rebuilds a table others refer to runs with foreign
	// keys off (SQLite's documented way; the pragma is a no-op inside a
	// transaction, so it is set on the connection first) and checks them
	// before it commits.
	fkOff := db.dialect == SQLite && strings.Contains(string(body), foreignKeysOffMarker)
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("migrate %d: connect: %w", version, err)
	}
	defer conn.Close()
	if fkOff {
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return false, fmt.Errorf("migrate %d: foreign keys off: %w", version, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %d: begin: %w", version, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", version).Scan(&n); err != nil {
		return false, fmt.Errorf("migrate %d: %w", version, err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return false, fmt.Errorf("migrate %d (%s): %w", version, filepath.Base(name), err)
	}
	if fkOff {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		err := tx.QueryRowContext(ctx, "PRAGMA foreign_key_check").Scan(&table, &rowid, &parent, &fk)
		if err == nil {
			return false, fmt.Errorf("migrate %d (%s): a row of %s refers to a missing %s row", version, filepath.Base(name), table, parent)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("migrate %d: check foreign keys: %w", version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", version, db.Now()); err != nil {
		return false, fmt.Errorf("migrate %d: record: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %d: commit: %w", version, err)
	}
	return true, nil
}

// inTx runs fn in a write transaction and commits it when fn succeeds.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inConnTx is inTx on one connection of the pool, given to fn with the
// transaction: on PostgreSQL, fn may reach pgx through it (copyRows) and
// what it does there is part of the transaction.
func (db *DB) inConnTx(ctx context.Context, fn func(*sql.Conn, *sql.Tx) error) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(conn, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// scanner is a row being read: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs q and reads every row with scan; what names the query in
// errors. It always returns a non-nil slice on success, so empty lists
// encode as [] in JSON.
func queryAll[T any](ctx context.Context, db rowsQuerier, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
