package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
)

// CreateUser adds a user with a hashed password.
func (db *DB) CreateUser(ctx context.Context, n pipeline.NewUser) (pipeline.User, error) {
	if err := n.Validate(); err != nil {
		return pipeline.User{}, err
	}
	hash, err := pipeline.HashPassword(n.Password)
	if err != nil {
		return pipeline.User{}, err
	}
	now := db.Now()
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE name = ?", n.Name).Scan(&exists); err != nil {
			return err
		}
		if exists > 0 {
			return pipeline.Errorf(pipeline.CodeConflict, "A user named %q already exists.", n.Name)
		}
		return tx.QueryRowContext(ctx,
			`INSERT INTO users (name, role, password_hash, languages, commune, created_at)
			 VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Name, string(n.Role), hash, strings.Join(n.Languages, ","), strings.TrimSpace(n.Commune), now).Scan(&id)
	})
	if err != nil {
		return pipeline.User{}, fmt.Errorf("create user %s: %w", n.Name, err)
	}
	return pipeline.User{ID: id, Name: n.Name, Role: n.Role, Languages: n.Languages, Commune: strings.TrimSpace(n.Commune), CreatedAt: now}, nil
}

const userColumns = "u.id, u.name, u.role, u.languages, u.commune, u.created_at"

func scanUser(row scanner, extra ...any) (pipeline.User, error) {
	var u pipeline.User
	var role, langs string
	dest := append([]any{&u.ID, &u.Name, &role, &langs, &u.Commune, &u.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return u, err
	}
	u.Role = pipeline.Role(role)
	if langs != "" {
		u.Languages = strings.Split(langs, ",")
	}
	return u, nil
}

// Users lists all users by name.
func (db *DB) Users(ctx context.Context) ([]pipeline.User, error) {
	return queryAll(ctx, db.sql, "list users", func(r scanner) (pipeline.User, error) { return scanUser(r) },
		"SELECT "+userColumns+" FROM users u ORDER BY u.name")
}

// UserByName returns the user with the given name.
func (db *DB) UserByName(ctx context.Context, name string) (pipeline.User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.name = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, pipeline.Errorf(pipeline.CodeNotFound, "No user named %q.", name)
	}
	if err != nil {
		return u, fmt.Errorf("user %s: %w", name, err)
	}
	return u, nil
}

// Authenticate returns the user whose name and password match. A wrong
// name and a wrong password give the same error.
func (db *DB) Authenticate(ctx context.Context, name, password string) (pipeline.User, error) {
	var hash string
	u, err := scanUser(db.sql.QueryRowContext(ctx, "SELECT "+userColumns+", u.password_hash FROM users u WHERE u.name = ?", name), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so names cannot be probed.
		db.dummyOnce.Do(func() { db.dummyHash, _ = pipeline.HashPassword("no such user, no such password") })
		pipeline.CheckPassword(db.dummyHash, password)
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Wrong user name or password.")
	}
	if err != nil {
		return pipeline.User{}, fmt.Errorf("authenticate %s: %w", name, err)
	}
	if !pipeline.CheckPassword(hash, password) {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Wrong user name or password.")
	}
	return u, nil
}

// CreateToken makes a new API token for a user and returns it; only its
// hash is stored, so this is the one time it can be seen.
func (db *DB) CreateToken(ctx context.Context, userID int64, label string) (string, error) {
	token, hash, err := pipeline.NewToken()
	if err != nil {
		return "", err
	}
	_, err = db.sql.ExecContext(ctx, "INSERT INTO tokens (user_id, hash, label, created_at) VALUES (?, ?, ?, ?)",
		userID, hash, label, db.Now())
	if err != nil {
		return "", fmt.Errorf("create token for user %d: %w", userID, err)
	}
	return token, nil
}

// UserByToken returns the user a live (not revoked) token belongs to.
func (db *DB) UserByToken(ctx context.Context, token string) (pipeline.User, error) {
	hash := pipeline.HashToken(token)
	if u, ok := db.tokens.get(hash); ok {
		return u, nil
	}
	gen := db.tokens.generation()
	u, err := scanUser(db.sql.QueryRowContext(ctx,
		"SELECT "+userColumns+" FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND t.revoked_at IS NULL",
		hash))
	if err == nil {
		db.tokens.put(hash, u, gen)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return u, pipeline.Errorf(pipeline.CodeUnauthorized, "The token is unknown or revoked: ask an administrator for a new one (loa token create).")
	}
	if err != nil {
		return u, fmt.Errorf("look up token: %w", err)
	}
	return u, nil
}

// RevokeToken revokes a token so it no longer signs anyone in.
func (db *DB) RevokeToken(ctx context.Context, token string) error {
	res, err := db.sql.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", db.Now(), pipeline.HashToken(token))
	db.tokens.invalidate()
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pipeline.Errorf(pipeline.CodeNotFound, "No live token matches.")
	}
	return nil
}
