package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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
	hash, err := pipeline.HashPassword(n.Password, db.PasswordCost)
	if err != nil {
		return pipeline.User{}, err
	}
	now := db.Now()
	var id int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Names differing only in case or diacritics would read as one
		// person in the audit log and reports: they are one name.
		existing, err := userNamedLike(ctx, tx, n.Name)
		switch {
		case err != nil:
			return err
		case existing == "":
		case existing == n.Name:
			return pipeline.Errorf(pipeline.CodeConflict, "A user named %q already exists: to set their password, use loa user password --name %s (or the users page).", n.Name, n.Name)
		default:
			return pipeline.Errorf(pipeline.CodeConflict, "A user named %q already exists, which %q would be confused with (names differ by more than upper and lower case and diacritics): choose another name.", existing, n.Name).
				WithKey("user_name_like", strconv.Quote(existing), strconv.Quote(n.Name))
		}
		if n.Role == pipeline.RoleOperator {
			if err := checkCommuneCode(ctx, tx, n.Commune); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx,
			`INSERT INTO users (name, role, password_hash, languages, commune, created_at, created_by, created_actor)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			n.Name, string(n.Role), hash, strings.Join(n.Languages, ","), strings.TrimSpace(n.Commune), now, nullID(n.CreatedBy), n.CreatedActor).Scan(&id)
	})
	if err != nil {
		return pipeline.User{}, fmt.Errorf("create user %s: %w", n.Name, err)
	}
	return pipeline.User{ID: id, Name: n.Name, Role: n.Role, Languages: n.Languages, Commune: strings.TrimSpace(n.Commune), CreatedAt: now}, nil
}

// userNamedLike returns the first user (by id) whose name has name's
// pipeline.UserNameKey, or "". Names are compared in Go: SQL's LOWER
// folds ASCII only, and no SQL function drops diacritics.
func userNamedLike(ctx context.Context, tx *sql.Tx, name string) (string, error) {
	key := pipeline.UserNameKey(name)
	rows, err := tx.QueryContext(ctx, "SELECT name FROM users ORDER BY id")
	if err != nil {
		return "", fmt.Errorf("compare user names: %w", err)
	}
	defer rows.Close()
	found := ""
	for rows.Next() {
		var existing string
		if err := rows.Scan(&existing); err != nil {
			return "", fmt.Errorf("compare user names: %w", err)
		}
		if existing == name {
			return existing, rows.Close()
		}
		if found == "" && pipeline.UserNameKey(existing) == key {
			found = existing
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("compare user names: %w", err)
	}
	return found, nil
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
		err = db.WriteChange(ctx, pipeline.ChangeUsers, strconv.FormatInt(u.id, 10), func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE users SET commune = ? WHERE id = ? AND commune = ?", codes[0], u.id, u.commune)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("bind operator %s to commune %s: %w", u.name, codes[0], err)
		}
	}
	return unbound, nil
}

const userColumns = "u.id, u.name, u.role, u.languages, u.commune, u.created_at, u.disabled_at IS NOT NULL"

func scanUser(row scanner, extra ...any) (pipeline.User, error) {
	var u pipeline.User
	var role, langs string
	dest := append([]any{&u.ID, &u.Name, &role, &langs, &u.Commune, &u.CreatedAt, &u.Disabled}, extra...)
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
		db.dummyOnce.Do(func() { db.dummyHash, _ = pipeline.HashPassword("no such user, no such password", db.PasswordCost) })
		pipeline.CheckPassword(db.dummyHash, password)
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Wrong user name or password.")
	}
	if err != nil {
		return pipeline.User{}, fmt.Errorf("authenticate %s: %w", name, err)
	}
	if !pipeline.CheckPassword(hash, password) {
		return pipeline.User{}, pipeline.Errorf(pipeline.CodeUnauthorized, "Wrong user name or password.")
	}
	if u.Disabled {
		// Said only after the password matched, so it tells a guesser nothing.
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrUserDisabled, Message: errDisabledMessage}
	}
	return u, nil
}

const errDisabledMessage = "This account is disabled: ask an administrator to enable it again (loa user enable NAME)."

// CreateToken makes a new API token for a user and returns it; only its
// hash is stored, so this is the one time it can be seen. The audit log
// names no one as its maker (the server's command line).
func (db *DB) CreateToken(ctx context.Context, userID int64, label string) (string, error) {
	return db.CreateTokenBy(ctx, userID, label, 0)
}

// CreateTokenBy is CreateToken done by the user by (an administrator
// through the API), whom the audit log names; by 0 is no one.
func (db *DB) CreateTokenBy(ctx context.Context, userID int64, label string, by int64) (string, error) {
	return db.CreateTokenAs(ctx, userID, label, pipeline.TokenAPI, pipeline.Actor{ID: by})
}

// CreateTokenAs makes a token of the given kind for userID, made by the
// actor the audit log names, and returns it (shown this once). A metrics
// token reads /metrics only; an unknown kind is CodeInvalid.
func (db *DB) CreateTokenAs(ctx context.Context, userID int64, label string, kind pipeline.TokenKind, by pipeline.Actor) (string, error) {
	if kind == "" {
		kind = pipeline.TokenAPI
	}
	if kind != pipeline.TokenAPI && kind != pipeline.TokenMetrics {
		return "", pipeline.FieldError("kind", "Unknown token kind %q: use api or metrics.", kind)
	}
	token, hash, err := pipeline.NewToken()
	if err != nil {
		return "", err
	}
	_, err = db.sql.ExecContext(ctx, "INSERT INTO tokens (user_id, hash, label, created_at, created_by, created_actor, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
		userID, hash, label, db.Now(), nullID(by.ID), by.Name, string(kind))
	if err != nil {
		return "", fmt.Errorf("create token for user %d: %w", userID, err)
	}
	return token, nil
}

// UserByToken returns the user a live (not revoked) API token belongs
// to. A disabled user's token is refused (ErrUserDisabled); a metrics
// token signs no one in (it is checked by MetricsToken).
func (db *DB) UserByToken(ctx context.Context, token string) (pipeline.User, error) {
	sum := pipeline.TokenSum(token)
	if u, ok := db.tokens.get(sum); ok {
		return u, nil
	}
	gen := db.tokens.generation()
	hash := hex.EncodeToString(sum[:]) // pipeline.HashToken(token)
	var revoked, used sql.NullTime
	var id int64
	var kind string
	u, err := scanUser(db.sql.QueryRowContext(ctx,
		"SELECT "+userColumns+", t.revoked_at, t.id, t.kind, t.last_used_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
		hash), &revoked, &id, &kind, &used)
	if err == nil && revoked.Valid {
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrTokenRevoked,
			Message: "The token is unknown or revoked: ask an administrator for a new one (loa token create; for a loudspeaker player, loa device add)."}
	}
	if err == nil && u.Disabled {
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeUnauthorized, Err: pipeline.ErrUserDisabled, Message: errDisabledMessage}
	}
	if err == nil && kind != string(pipeline.TokenAPI) {
		return pipeline.User{}, &pipeline.Error{Code: pipeline.CodeForbidden,
			Message: fmt.Sprintf("This is a %s token: it reads /metrics only. Use an API token (loa token create --user NAME).", kind)}
	}
	if err == nil {
		if err := db.noteTokenUse(ctx, id, used); err != nil {
			return pipeline.User{}, err
		}
		db.tokens.put(sum, u, gen)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return u, pipeline.Errorf(pipeline.CodeUnauthorized, "The token is unknown or revoked: ask an administrator for a new one (loa token create; for a loudspeaker player, loa device add).")
	}
	if err != nil {
		return u, fmt.Errorf("look up token: %w", err)
	}
	return u, nil
}

// noteTokenUse records that token id was used, at most every seenEvery
// (the token cache spares most lookups anyway).
func (db *DB) noteTokenUse(ctx context.Context, id int64, used sql.NullTime) error {
	now := db.Now()
	if used.Valid && now.Sub(used.Time) < seenEvery {
		return nil
	}
	if _, err := db.sql.ExecContext(ctx, "UPDATE tokens SET last_used_at = ? WHERE id = ?", now, id); err != nil {
		return fmt.Errorf("note token %d used: %w", id, err)
	}
	return nil
}

// RevokeToken revokes a token, given by its plaintext, so it no longer
// signs anyone in, on behalf of by (see RevokeTokenID).
func (db *DB) RevokeToken(ctx context.Context, token string, by pipeline.Actor) error {
	var id int64
	err := db.sql.QueryRowContext(ctx, "SELECT id FROM tokens WHERE hash = ? AND revoked_at IS NULL", pipeline.HashToken(token)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return pipeline.Errorf(pipeline.CodeNotFound, "No live token matches.")
	}
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return db.RevokeTokenID(ctx, id, by)
}

// RevokeTokenID revokes the token with the given id (as TokenList shows
// it) on behalf of by, whom the audit log names. A token already revoked
// or unknown is CodeNotFound. This process refuses it at once, every
// process following the change feed within FeedPoll.
func (db *DB) RevokeTokenID(ctx context.Context, id int64, by pipeline.Actor) error {
	now := db.Now()
	err := db.WriteChange(ctx, pipeline.ChangeTokens, strconv.FormatInt(id, 10), func(tx *sql.Tx) error {
		var userID int64
		var label string
		err := tx.QueryRowContext(ctx, "SELECT user_id, label FROM tokens WHERE id = ? AND revoked_at IS NULL", id).Scan(&userID, &label)
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.CodeNotFound, "No live token with id %d: 'loa token list' shows the ids.", id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ?", now, id); err != nil {
			return err
		}
		return accountEvent(ctx, tx, now, by, "token.revoke", userID, id, label)
	})
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	return nil
}

// accountEvent records an account change for the audit log.
func accountEvent(ctx context.Context, tx *sql.Tx, at time.Time, by pipeline.Actor, action string, userID, tokenID int64, detail string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO account_events (at, actor_id, actor, action, user_id, token_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		at, nullID(by.ID), by.Name, action, userID, nullID(tokenID), detail)
	if err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	return nil
}

// Tokens lists the tokens of the user named user, or of every user when
// user is "", newest first; never their secrets. Revoked tokens are left
// out unless revoked is true (then they follow the live ones): the one
// rule behind GET /api/tokens (?revoked=1), loa token list (--all) and
// the admin page. An unknown user is CodeNotFound.
func (db *DB) Tokens(ctx context.Context, user string, revoked bool) ([]pipeline.TokenInfo, error) {
	q := `SELECT t.id, u.name, t.kind, t.label, t.created_at, COALESCE(a.name, t.created_actor), t.last_used_at, t.revoked_at
		FROM tokens t JOIN users u ON u.id = t.user_id LEFT JOIN users a ON a.id = t.created_by WHERE 1 = 1`
	var args []any
	if user != "" {
		if _, err := db.UserByName(ctx, user); err != nil {
			return nil, err
		}
		q += " AND u.name = ?"
		args = append(args, user)
	}
	if !revoked {
		q += " AND t.revoked_at IS NULL"
	}
	q += " ORDER BY t.revoked_at IS NOT NULL, t.created_at DESC, t.id DESC"
	return queryAll(ctx, db.sql, "list tokens", func(r scanner) (pipeline.TokenInfo, error) {
		var t pipeline.TokenInfo
		var kind string
		var used, revoked sql.NullTime
		if err := r.Scan(&t.ID, &t.User, &kind, &t.Label, &t.CreatedAt, &t.CreatedBy, &used, &revoked); err != nil {
			return t, err
		}
		t.Kind = pipeline.TokenKind(kind)
		if used.Valid {
			t.LastUsedAt = &used.Time
		}
		if revoked.Valid {
			t.RevokedAt = &revoked.Time
		}
		return t, nil
	}, q, args...)
}

// SetUserDisabled disables (or enables again) the user named name on
// behalf of by. Disabling ends the user's browser sessions and revokes
// every live token of theirs (metrics tokens too) for good, in the
// transaction that marks the user disabled: enabling the user again
// brings none of them back (the user signs in again and is given new
// tokens). The store holds the revocation, so every process refuses them
// once its token cache drops them: this process at once, another one
// following the change feed within FeedPoll. Disabling oneself, or the
// last administrator who is not disabled, is refused (CodeConflict), so
// no one can lock the last way in.
func (db *DB) SetUserDisabled(ctx context.Context, name string, disabled bool, by pipeline.Actor) (pipeline.User, error) {
	u, err := db.UserByName(ctx, name)
	if err != nil {
		return u, err
	}
	if disabled && by.ID == u.ID {
		return u, pipeline.Errorf(pipeline.CodeConflict, "You cannot disable your own account: ask another administrator.").WithKey("disable_self")
	}
	if disabled && u.Role == pipeline.RoleAdmin && !u.Disabled {
		var others int
		if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = ? AND disabled_at IS NULL AND id <> ?",
			string(pipeline.RoleAdmin), u.ID).Scan(&others); err != nil {
			return u, fmt.Errorf("count administrators: %w", err)
		}
		if others == 0 {
			return u, pipeline.Errorf(pipeline.CodeConflict,
				"%s is the last administrator who is not disabled: add or enable another administrator first (loa user add --role admin).", u.Name).
				WithKey("disable_last_admin", u.Name)
		}
	}
	if u.Disabled == disabled {
		return u, nil
	}
	now := db.Now()
	err = db.WriteChange(ctx, pipeline.ChangeUsers, strconv.FormatInt(u.ID, 10), func(tx *sql.Tx) error {
		action, at := "user.enable", any(nil)
		if disabled {
			action, at = "user.disable", now
		}
		// The user's row first: on PostgreSQL this waits for a sign-in
		// that holds it (CreateSession), so the session it made is seen
		// and ended below.
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled_at = ? WHERE id = ?", at, u.ID); err != nil {
			return err
		}
		detail := ""
		if disabled {
			res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID)
			if err != nil {
				return err
			}
			sessions, _ := res.RowsAffected()
			tokens, err := revokeUserTokens(ctx, tx, now, by, u.ID)
			if err != nil {
				return err
			}
			detail = fmt.Sprintf("%d sessions, %d tokens", sessions, tokens)
		}
		return accountEvent(ctx, tx, now, by, action, u.ID, 0, detail)
	})
	if err != nil {
		return u, fmt.Errorf("set user %s disabled=%t: %w", name, disabled, err)
	}
	u.Disabled = disabled
	return u, nil
}

// SignOutEverywhere ends every browser session of the user and revokes
// every live token of theirs (metrics tokens too), on behalf of by; this
// process refuses them at once. The user can still sign in again with
// their password.
func (db *DB) SignOutEverywhere(ctx context.Context, userID int64, by pipeline.Actor) (pipeline.SignedOut, error) {
	var out pipeline.SignedOut
	now := db.Now()
	err := db.WriteChange(ctx, pipeline.ChangeUsers, strconv.FormatInt(userID, 10), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
		if err != nil {
			return err
		}
		out.Sessions, _ = res.RowsAffected()
		if out.Tokens, err = revokeUserTokens(ctx, tx, now, by, userID); err != nil {
			return err
		}
		return accountEvent(ctx, tx, now, by, "user.sign_out_everywhere", userID, 0,
			fmt.Sprintf("%d sessions, %d tokens", out.Sessions, out.Tokens))
	})
	if err != nil {
		return out, fmt.Errorf("sign user %d out everywhere: %w", userID, err)
	}
	return out, nil
}

// revokeUserTokens revokes, in tx, every live token of the user userID
// (metrics tokens too), each with its token.revoke event naming by, and
// returns how many it revoked.
func revokeUserTokens(ctx context.Context, tx *sql.Tx, now time.Time, by pipeline.Actor, userID int64) (int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, label FROM tokens WHERE user_id = ? AND revoked_at IS NULL", userID)
	if err != nil {
		return 0, err
	}
	type tok struct {
		id    int64
		label string
	}
	var toks []tok
	for rows.Next() {
		var t tok
		if err := rows.Scan(&t.id, &t.label); err != nil {
			rows.Close()
			return 0, err
		}
		toks = append(toks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, t := range toks {
		if _, err := tx.ExecContext(ctx, "UPDATE tokens SET revoked_at = ? WHERE id = ?", now, t.id); err != nil {
			return 0, err
		}
		if err := accountEvent(ctx, tx, now, by, "token.revoke", userID, t.id, t.label); err != nil {
			return 0, err
		}
	}
	return int64(len(toks)), nil
}

// MetricsToken checks a token that may read /metrics: a live metrics
// token of an enabled user, or an administrator's API token. Anything
// else is CodeUnauthorized (unknown, revoked, disabled) or CodeForbidden.
func (db *DB) MetricsToken(ctx context.Context, token string) error {
	var kind, role string
	var disabled bool
	var revoked sql.NullTime
	err := db.sql.QueryRowContext(ctx, "SELECT t.kind, u.role, u.disabled_at IS NOT NULL, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?",
		pipeline.HashToken(token)).Scan(&kind, &role, &disabled, &revoked)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && (revoked.Valid || disabled):
		return pipeline.Errorf(pipeline.CodeUnauthorized, "The token is unknown, revoked or its user disabled: make a metrics token (loa token create --user NAME --kind metrics).")
	case err != nil:
		return fmt.Errorf("check metrics token: %w", err)
	case kind == string(pipeline.TokenMetrics) || (kind == string(pipeline.TokenAPI) && role == string(pipeline.RoleAdmin)):
		return nil
	}
	return pipeline.Errorf(pipeline.CodeForbidden, "Only a metrics token or an administrator's token reads /metrics (loa token create --user NAME --kind metrics).")
}

// ChangePassword sets the password of the user userID, who proves it is
// them with their current password, and ends their other browser
// sessions: every one but the session whose token is keepSession (the one
// making the change; "" keeps none). API tokens are left alone: they are
// separate credentials (SignOutEverywhere or RevokeTokenID end them). A
// wrong current password is CodeInvalid on field "current" wrapping
// pipeline.ErrWrongPassword (a caller counts it as a failed sign-in); a
// new password breaking the rules (pipeline.ValidatePassword) is
// CodeInvalid on field "new". The audit log records user.password_change.
func (db *DB) ChangePassword(ctx context.Context, userID int64, current, newPassword, keepSession string) (pipeline.SignedOut, error) {
	if current == "" {
		return pipeline.SignedOut{}, pipeline.FieldError("current", "Give your current password: it proves the change is yours.").WithKey("current_missing")
	}
	var hash string
	if err := db.sql.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", userID).Scan(&hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.SignedOut{}, pipeline.Errorf(pipeline.CodeNotFound, "No user with id %d.", userID)
		}
		return pipeline.SignedOut{}, fmt.Errorf("change password of user %d: %w", userID, err)
	}
	if !pipeline.CheckPassword(hash, current) {
		return pipeline.SignedOut{}, &pipeline.Error{Code: pipeline.CodeInvalid, Field: "current", Err: pipeline.ErrWrongPassword,
			Message: "The current password is wrong: nothing was changed.", Key: "current_wrong"}
	}
	if err := pipeline.ValidatePassword("new", newPassword); err != nil {
		return pipeline.SignedOut{}, err
	}
	out, err := db.setPassword(ctx, userID, newPassword, keepSession, pipeline.Actor{ID: userID}, "user.password_change")
	if err != nil {
		return out, fmt.Errorf("change password of user %d: %w", userID, err)
	}
	return out, nil
}

// SetPassword is an administrator's (or the server command line's)
// reset of the password of the user named name, on behalf of by: no
// current password is asked, every browser session of the user ends, and
// their API tokens are left alone. An unknown user is CodeNotFound; a
// password breaking the rules is CodeInvalid on field "password". The
// audit log records user.password_reset with by.
func (db *DB) SetPassword(ctx context.Context, name, password string, by pipeline.Actor) (pipeline.User, pipeline.SignedOut, error) {
	u, err := db.UserByName(ctx, name)
	if err != nil {
		return u, pipeline.SignedOut{}, err
	}
	if err := pipeline.ValidatePassword("password", password); err != nil {
		return u, pipeline.SignedOut{}, err
	}
	out, err := db.setPassword(ctx, u.ID, password, "", by, "user.password_reset")
	if err != nil {
		return u, out, fmt.Errorf("reset password of %s: %w", name, err)
	}
	return u, out, nil
}

// setPassword stores password's hash for userID and ends the user's
// sessions but keepSession's, recording action for by.
func (db *DB) setPassword(ctx context.Context, userID int64, password, keepSession string, by pipeline.Actor, action string) (pipeline.SignedOut, error) {
	hash, err := pipeline.HashPassword(password, db.PasswordCost)
	if err != nil {
		return pipeline.SignedOut{}, err
	}
	keep := ""
	if keepSession != "" {
		keep = pipeline.HashToken(keepSession)
	}
	var out pipeline.SignedOut
	now := db.Now()
	err = db.WriteChange(ctx, pipeline.ChangeUsers, strconv.FormatInt(userID, 10), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ? AND hash <> ?", userID, keep)
		if err != nil {
			return err
		}
		out.Sessions, _ = res.RowsAffected()
		return accountEvent(ctx, tx, now, by, action, userID, 0, fmt.Sprintf("%d other sessions ended; tokens kept", out.Sessions))
	})
	return out, err
}
