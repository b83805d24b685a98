package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/sonla-cchc/loa/pipeline"
)

// CreateUser adds a user with a hashed password. An operator's Commune
// must be the code of a commune in the registry (names are not unique, so
// they never decide scope); otherwise the error is CodeInvalid on field
// "commune", naming the codes a name would match.
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
		if n.Role == pipeline.RoleOperator {
			if err := checkCommuneCode(ctx, tx, n.Commune); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx,
			`INSERT INTO users (name, role, password_hash, languages, commune, created_at, created_by)
			 VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Name, string(n.Role), hash, strings.Join(n.Languages, ","), strings.TrimSpace(n.Commune), now, nullID(n.CreatedBy)).Scan(&id)
	})
	if err != nil {
		return pipeline.User{}, fmt.Errorf("create user %s: %w", n.Name, err)
	}
	return pipeline.User{ID: id, Name: n.Name, Role: n.Role, Languages: n.Languages, Commune: strings.TrimSpace(n.Commune), CreatedAt: now}, nil
}

// checkCommuneCode refuses a commune that is not a registry code, and
// says which codes a commune name stands for.
func checkCommuneCode(ctx context.Context, tx *sql.Tx, commune string) error {
	commune = strings.TrimSpace(commune)
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM communes WHERE code = ?", commune).Scan(&n); err != nil {
		return fmt.Errorf("check commune %q: %w", commune, err)
	}
	if n == 1 {
		return nil
	}
	codes, err := communeCodesNamed(ctx, tx, commune)
	if err != nil {
		return err
	}
	switch len(codes) {
	case 0:
		return pipeline.FieldError("commune", "No commune with code %q: give the commune's code ('loa communes list' shows them; import the registry first).", commune)
	case 1:
		return pipeline.FieldError("commune", "%q is a commune name, not a code: give its code, %s.", commune, codes[0])
	default:
		return pipeline.FieldError("commune", "%q is the name of %d communes (%s): give the code of the one this operator answers for.", commune, len(codes), strings.Join(codes, ", "))
	}
}

// communeCodesNamed lists the codes of the communes whose name is name,
// compared in any case and Unicode form.
func communeCodesNamed(ctx context.Context, q rowsQuerier, name string) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SELECT code, name FROM communes ORDER BY position, code")
	if err != nil {
		return nil, fmt.Errorf("communes named %q: %w", name, err)
	}
	defer rows.Close()
	var codes []string
	for rows.Next() {
		var code, n string
		if err := rows.Scan(&code, &n); err != nil {
			return nil, fmt.Errorf("communes named %q: %w", name, err)
		}
		if foldName(n) == foldName(name) {
			codes = append(codes, code)
		}
	}
	return codes, rows.Err()
}

func foldName(s string) string { return strings.ToLower(norm.NFC.String(strings.TrimSpace(s))) }

// bindOperatorCommunes is the migration of operators stored by commune
// name (before scope went by code): a name that is the name of exactly
// one commune becomes its code; any other is left unbound (the operator
// then sees no commune) and returned as a message saying what to do.
func (db *DB) bindOperatorCommunes(ctx context.Context) ([]string, error) {
	type legacy struct {
		id            int64
		name, commune string
	}
	users, err := queryAll(ctx, db.sql, "operators not bound to a commune code", func(r scanner) (legacy, error) {
		var l legacy
		return l, r.Scan(&l.id, &l.name, &l.commune)
	}, `SELECT id, name, commune FROM users WHERE role = ? AND commune NOT IN (SELECT code FROM communes) ORDER BY name`, string(pipeline.RoleOperator))
	if err != nil {
		return nil, err
	}
	var unbound []string
	for _, u := range users {
		codes, err := communeCodesNamed(ctx, db.sql, u.commune)
		if err != nil {
			return nil, err
		}
		if len(codes) != 1 {
			what := "matches no commune"
			if len(codes) > 1 {
				what = fmt.Sprintf("is the name of %d communes (%s)", len(codes), strings.Join(codes, ", "))
			}
			unbound = append(unbound, fmt.Sprintf("operator %s: commune %q %s, so it answers for none; recreate it with --commune CODE", u.name, u.commune, what))
			continue
		}
		err = db.WriteChange(ctx, ChangeUsers, strconv.FormatInt(u.id, 10), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE users SET commune = ? WHERE id = ? AND commune = ?", codes[0], u.id, u.commune)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("bind operator %s to commune %s: %w", u.name, codes[0], err)
		}
	}
	return unbound, nil
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
// hash is stored, so this is the one time it can be seen. The audit log
// names no one as its maker (the server's command line).
func (db *DB) CreateToken(ctx context.Context, userID int64, label string) (string, error) {
	return db.CreateTokenBy(ctx, userID, label, 0)
}

// CreateTokenBy is CreateToken done by the user by (an administrator
// through the API), whom the audit log names; by 0 is no one.
func (db *DB) CreateTokenBy(ctx context.Context, userID int64, label string, by int64) (string, error) {
	token, hash, err := pipeline.NewToken()
	if err != nil {
		return "", err
	}
	_, err = db.sql.ExecContext(ctx, "INSERT INTO tokens (user_id, hash, label, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
		userID, hash, label, db.Now(), nullID(by))
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
	var revoked sql.NullTime
	u, err := scanUser(db.sql.QueryRowContext(ctx,
		"SELECT "+userColumns+", t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
		hash), &revoked)
	if err == nil && revoked.Valid {
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrTokenRevoked,
			Message: "The token is unknown or revoked: ask an administrator for a new one (loa token create)."}
	}
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

// RevokeToken revokes a token so it no longer signs anyone in, in this
// process at once and in every process following the change feed within
// FeedPoll.
func (db *DB) RevokeToken(ctx context.Context, token string) error {
	errNone := pipeline.Errorf(pipeline.CodeNotFound, "No live token matches.")
	err := db.WriteChange(ctx, ChangeTokens, "", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at IS NULL", db.Now(), pipeline.HashToken(token))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNone
		}
		return nil
	})
	if errors.Is(err, errNone) {
		return err
	}
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}
