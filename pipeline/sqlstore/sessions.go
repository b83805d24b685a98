package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// seenEvery is how stale last_seen_at may get before a lookup writes it
// again, so reading a page does not write to the database every time.
const seenEvery = 10 * time.Minute

// CreateSession starts a browser session for a user and returns its
// token, which goes in the cookie; only the token's hash is stored.
// Expired sessions of all users are removed on the way. A user disabled
// meanwhile (after their password was checked) gets no session
// (ErrUserDisabled): the check holds the user's row until the session
// is stored, so a disable (SetUserDisabled) either comes first and is
// seen here, or comes after and ends the new session with the others.
func (db *DB) CreateSession(ctx context.Context, userID int64, p pipeline.SessionPolicy) (string, error) {
	token, hash, err := pipeline.NewToken()
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	now := db.Now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// A write that changes nothing, for the row lock it takes on
		// PostgreSQL (SQLite's write transactions are serial anyway).
		res, err := tx.ExecContext(ctx, "UPDATE users SET disabled_at = disabled_at WHERE id = ? AND disabled_at IS NULL", userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrUserDisabled, Message: errDisabledMessage}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < ? OR last_seen_at < ?", now, now.Add(-p.Idle)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO sessions (hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			hash, userID, now, now, now.Add(p.Max))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create session for user %d: %w", userID, err)
	}
	return token, nil
}

// UserBySession returns the user of a live session and notes that the
// session was used. An unknown, idle or expired session is CodeUnauthorized.
func (db *DB) UserBySession(ctx context.Context, token string, p pipeline.SessionPolicy) (pipeline.User, error) {
	hash := pipeline.HashToken(token)
	var seen time.Time
	u, err := scanUser(db.sql.QueryRowContext(ctx,
		"SELECT "+userColumns+", s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires_at > ?",
		hash, db.Now()), &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "The session has ended: sign in again.")
	}
	if err != nil {
		return pipeline.User{}, fmt.Errorf("look up session: %w", err)
	}
	if u.Disabled {
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrUserDisabled, Message: errDisabledMessage}
	}
	now := db.Now()
	if now.Sub(seen) > p.Idle {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "The session has ended: sign in again.")
	}
	if now.Sub(seen) > seenEvery {
		if _, err := db.sql.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE hash = ?", now, hash); err != nil {
			return pipeline.User{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return u, nil
}

// DeleteSession ends a session (sign-out). Ending an unknown session is
// not an error.
func (db *DB) DeleteSession(ctx context.Context, token string) error {
	if _, err := db.sql.ExecContext(ctx, "DELETE FROM sessions WHERE hash = ?", pipeline.HashToken(token)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
