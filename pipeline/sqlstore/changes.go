package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/sonla-cchc/loa/pipeline"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The change feed makes several Loa processes on one database agree. A
// change other processes must hear of (a token revoked, a user changed, a
// commune's schedule stored) adds a row to the changes table in the
// transaction that makes it. Every process runs Follow, which reads the
// rows after the last id it has seen: at once when this process wrote one
// or PostgreSQL's NOTIFY says another did, and every FeedPoll anyway (the
// only way on SQLite, and the backstop when a notification is lost). For
// each change it drops the cached entries it touches, then tells the
// listeners added with OnChange (the devices' event streams).

// Defaults of the change feed.
const (
	// FeedPoll is how often Follow reads the feed when nothing woke it:
	// the longest another process's change takes to be seen when
	// PostgreSQL's notification is lost, and always on SQLite.
	FeedPoll = 250 * time.Millisecond
	// FeedKeep is how long a change stays in the table before it is
	// swept. A process that could not read the feed for longer treats
	// every cache as stale (ChangeLost).
	FeedKeep = 10 * time.Minute
	// feedChannel is PostgreSQL's notification channel of the feed.
	feedChannel = "loa_changes"
)

// feed is a process's state of the change feed.
type feed struct {
	wake chan struct{} // a send makes Follow read at once

	mu        sync.Mutex
	listeners map[int]func(pipeline.Change)
	next      int
}

func newFeed() *feed {
	return &feed{wake: make(chan struct{}, 1), listeners: map[int]func(pipeline.Change){}}
}

// OnChange adds a listener called, in Follow's goroutine and in id order,
// with every change read from the feed (this process's and others'),
// after the caches it touches were dropped. fn must return quickly. The
// returned function removes the listener.
func (db *DB) OnChange(fn func(pipeline.Change)) (stop func()) {
	f := db.feed
	f.mu.Lock()
	id := f.next
	f.next++
	f.listeners[id] = fn
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.listeners, id)
		f.mu.Unlock()
	}
}

// WriteChange runs fn in a write transaction that also records a change
// of kind and key in the feed, and commits both. After the commit this
// process's caches drop what the change touches at once; every other
// process following the feed drops them within FeedPoll (at once on
// PostgreSQL). Any change to tokens or users goes through here.
func (db *DB) WriteChange(ctx context.Context, kind pipeline.ChangeKind, key string, fn func(*sql.Tx) error) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return db.recordChange(ctx, tx, pipeline.Change{Kind: kind, Key: key})
	})
	if err != nil {
		return err
	}
	db.changed(kind)
	return nil
}

// recordChange adds cs to the feed inside tx. Call it last in tx: on
// PostgreSQL it takes the feed's table lock, held until tx ends, so ids
// commit in increasing order (a reader that saw id n never later finds a
// smaller one), and asks for a notification sent when tx commits.
func (db *DB) recordChange(ctx context.Context, tx *sql.Tx, cs ...pipeline.Change) error {
	if len(cs) == 0 {
		return nil
	}
	if db.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, "LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("record change %s %s: %w", cs[0].Kind, cs[0].Key, err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify('"+feedChannel+"', '')"); err != nil {
			return fmt.Errorf("record change %s %s: %w", cs[0].Kind, cs[0].Key, err)
		}
	}
	// Multi-row statements (a national build records 3,321 changes):
	// the rows get their ids in the order of cs.
	now := db.Now()
	args := make([]any, 0, 4*len(cs))
	for _, c := range cs {
		args = append(args, string(c.Kind), c.Key, c.Note, now)
	}
	if err := execRows(ctx, tx, "INSERT INTO changes (kind, key, note, at) VALUES ", "(?, ?, ?, ?)", ", ", "", 4, args); err != nil {
		return fmt.Errorf("record %d changes from %s %s: %w", len(cs), cs[0].Kind, cs[0].Key, err)
	}
	return nil
}

// changed drops this process's caches that changes of kinds touch and
// wakes Follow, so this process's listeners hear of its own change at
// once. Call it after the transaction that recorded them committed.
func (db *DB) changed(kinds ...pipeline.ChangeKind) {
	for _, k := range kinds {
		db.evict(k)
	}
	select {
	case db.feed.wake <- struct{}{}:
	default:
	}
}

// evict drops the cached entries a change of kind touches.
func (db *DB) evict(kind pipeline.ChangeKind) {
	switch kind {
	case pipeline.ChangeTokens, pipeline.ChangeUsers:
		db.tokens.invalidate()
	case pipeline.ChangeSchedule, pipeline.ChangeRegistry:
		db.heads.invalidate()
	default: // pipeline.ChangeLost and kinds of a newer binary: everything
		db.tokens.invalidate()
		db.heads.invalidate()
	}
}

// Follow reads the change feed until ctx ends: it drops the caches each
// change touches and calls the OnChange listeners. It starts at the
// newest change (the caches start empty). On PostgreSQL it also listens
// for the feed's notifications on a connection of its own, reconnecting
// when it drops; when the database cannot be read it retries every
// FeedPoll and, once it can again, treats every cache as stale. Every
// minute it sweeps changes older than FeedKeep. It returns nil when ctx
// ends, or an error when the feed cannot be read at the start.
func (db *DB) Follow(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	var last int64
	if err := db.sql.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM changes").Scan(&last); err != nil {
		if ctx.Err() != nil {
			return nil // ended before it began: nothing to follow
		}
		return fmt.Errorf("follow the change feed: %w (run loa migrate)", err)
	}
	if db.dialect == Postgres && db.pgURL != "" {
		go db.listen(ctx, log)
	}
	tick := time.NewTicker(FeedPoll)
	defer tick.Stop()
	failing := false
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-db.feed.wake:
		}
		next, err := db.readChanges(ctx, last, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !failing {
				log.Warn("change feed not readable; caches are dropped once it is", "err", err)
			}
			failing = true
			continue
		}
		if failing {
			failing = false
			log.Info("change feed readable again")
			db.deliver(pipeline.Change{Kind: pipeline.ChangeLost})
		}
		last = next
		if time.Since(lastSweep) > time.Minute {
			lastSweep = time.Now()
			if err := db.SweepChanges(ctx, db.Now().Add(-FeedKeep)); err != nil {
				log.Warn("sweep the change feed", "err", err)
			}
		}
	}
}

// readChanges hands the changes after id last to deliver and returns the
// newest id read. When the oldest change still stored is newer than
// last+1, some were swept before this process read them: it delivers
// ChangeLost first. Each change is logged at Debug ("change heard": its
// id, kind, key, note and how long after it was recorded it was read),
// so a replica's log shows when it heard of each change; log may be nil.
func (db *DB) readChanges(ctx context.Context, last int64, log *slog.Logger) (int64, error) {
	rows, err := db.sql.QueryContext(ctx, "SELECT id, kind, key, note, at FROM changes WHERE id > ? ORDER BY id LIMIT 1000", last)
	if err != nil {
		return last, fmt.Errorf("read the change feed: %w", err)
	}
	var cs []pipeline.Change
	for rows.Next() {
		var c pipeline.Change
		var kind string
		if err := rows.Scan(&c.ID, &kind, &c.Key, &c.Note, &c.At); err != nil {
			rows.Close()
			return last, fmt.Errorf("read the change feed: %w", err)
		}
		c.Kind = pipeline.ChangeKind(kind)
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return last, fmt.Errorf("read the change feed: %w", err)
	}
	if len(cs) > 0 && last > 0 && cs[0].ID > last+1 && db.feedSwept(ctx, last) {
		// Ids are not reused and commit in order (recordChange), but a
		// PostgreSQL sequence skips the values a rolled-back transaction
		// took: only when the last change read is gone too may unread
		// ones have been swept.
		if log != nil {
			log.Info("changes swept before this process read them: every cache dropped", "last_read", last, "next", cs[0].ID)
		}
		db.deliver(pipeline.Change{Kind: pipeline.ChangeLost})
	}
	debug := log != nil && log.Enabled(ctx, slog.LevelDebug)
	for _, c := range cs {
		if debug {
			log.Debug("change heard", "id", c.ID, "kind", string(c.Kind), "key", c.Key, "note", c.Note,
				"after", time.Since(c.At).Round(time.Microsecond).String())
		}
		db.deliver(c)
		last = c.ID
	}
	if len(cs) == 1000 {
		// More are waiting: read again at once.
		select {
		case db.feed.wake <- struct{}{}:
		default:
		}
	}
	return last, nil
}

// feedSwept reports whether the change with id last, which this process
// read, is no longer stored: the rows after it may have been swept too.
func (db *DB) feedSwept(ctx context.Context, last int64) bool {
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM changes WHERE id = ?", last).Scan(&n); err != nil {
		return true
	}
	return n == 0
}

// deliver drops the caches c touches, then calls the listeners.
func (db *DB) deliver(c pipeline.Change) {
	db.evict(c.Kind)
	f := db.feed
	f.mu.Lock()
	fns := make([]func(pipeline.Change), 0, len(f.listeners))
	for _, fn := range f.listeners {
		fns = append(fns, fn)
	}
	f.mu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// listen wakes Follow at each of PostgreSQL's notifications of the feed,
// on a connection of its own, until ctx ends; a dropped connection is
// made again after a second (the poll covers the gap).
func (db *DB) listen(ctx context.Context, log *slog.Logger) {
	for ctx.Err() == nil {
		err := db.listenOnce(ctx, log)
		if ctx.Err() != nil {
			return
		}
		log.Warn("listen for changes; the feed is polled meanwhile", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// listenOnce listens on one connection until it fails or ctx ends; it
// logs at Info when it listens (at the start and after each reconnect).
func (db *DB) listenOnce(ctx context.Context, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, db.pgURL)
	if err != nil {
		return fmt.Errorf("connect: %w", redactErr(err, db.pgURL))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+feedChannel); err != nil {
		return fmt.Errorf("LISTEN: %w", err)
	}
	log.Info("listening for the change feed's notifications")
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("wait for a notification: %w", err)
		}
		select {
		case db.feed.wake <- struct{}{}:
		default:
		}
	}
}

// SweepChanges deletes the changes recorded before before.
func (db *DB) SweepChanges(ctx context.Context, before time.Time) error {
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM changes WHERE at < ?", before.UTC()); err != nil {
		return fmt.Errorf("sweep the change feed: %w", err)
	}
	return nil
}
