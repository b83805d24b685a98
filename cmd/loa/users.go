package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	osuser "os/user"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

func runUserAdd(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "user add", "")
	c.registerStore(fs, env)
	name := fs.String("name", "", "user name (required)")
	role := fs.String("role", "", "role: admin, producer, translator, reviewer or operator (required)")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	langs := fs.String("languages", "", "comma-separated languages a translator or reviewer works in (vi, blt, hnj)")
	commune := fs.String("commune", "", "code of the commune an operator answers for (loa communes list shows the codes)")
	asJSON := fs.Bool("json", false, "print the user as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *role == "" || !*stdin {
		return usageError{"--name, --role and --password-stdin are required (the password is never taken from the command line)"}
	}
	password, err := readLine(env)
	if err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, pipeline.NewUser{Name: *name, Role: pipeline.Role(*role), Password: password,
		Languages: splitList(*langs), Commune: *commune, CreatedActor: cliActor(env).Name})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(u)
	}
	fmt.Fprintf(env.stdout, "user %s added (role %s, id %d)\n", u.Name, u.Role, u.ID)
	return nil
}

func readLine(env *cliEnv) (string, error) {
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{fmt.Sprintf("no password on standard input (%v): pipe it in, e.g. printf '%%s\\n' \"$PW\" | loa user add ...", err)}
	}
	return line, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runUserList(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "user list", "")
	c.registerStore(fs, env)
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	db, err := c.openExistingDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	users, err := db.Users(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(users)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tLANGUAGES\tCOMMUNE\tSTATE")
	for _, u := range users {
		state := "enabled"
		if u.Disabled {
			state = "DISABLED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, strings.Join(u.Languages, ","), u.Commune, state)
	}
	return tw.Flush()
}

func runTokenCreate(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "token create", "")
	c.registerStore(fs, env)
	user := fs.String("user", "", "user the token signs in as (required)")
	label := fs.String("label", "", "what the token is for (e.g. a device name)")
	kind := fs.String("kind", "api", "api (signs the user in to what their role allows) or metrics (reads /metrics only, for a scraper)")
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return usageError{"--user is required"}
	}
	db, err := c.openExistingDB(ctx) // a new database has no user to make a token for
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByName(ctx, *user)
	if err != nil {
		return err
	}
	tok, err := db.CreateTokenAs(ctx, u.ID, *label, pipeline.TokenKind(*kind), cliActor(env))
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(map[string]string{"token": tok, "user": u.Name})
	}
	fmt.Fprintln(env.stdout, tok)
	return nil
}

func runTokenRevoke(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "token revoke", "[ID]")
	c.registerStore(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageError{"give one token id ('loa token list' shows them), or none and the token itself on standard input"}
	}
	var id int64
	var tok string
	if len(pos) == 1 {
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return usageError{fmt.Sprintf("%q is not a token id: 'loa token list' shows them", pos[0])}
		}
	} else if tok, err = readLine(env); err != nil {
		return usageError{"give the token's id ('loa token list' shows them), or pipe the token itself on standard input"}
	}
	db, err := c.openExistingDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if tok != "" {
		err = db.RevokeToken(ctx, tok, cliActor(env))
	} else {
		err = db.RevokeTokenID(ctx, id, cliActor(env))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "token revoked (every running server following the change feed refuses it within "+
		pipeline.HumanDuration(sqlstore.FeedPoll)+" or so)")
	return nil
}

func runTokenList(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "token list", "")
	c.registerStore(fs, env)
	user := fs.String("user", "", "list only this user's tokens")
	all := fs.Bool("all", false, "list revoked tokens too")
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	db, err := c.openExistingDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	toks, err := db.Tokens(ctx, *user, *all)
	if err != nil {
		return err
	}
	if *asJSON {
		if toks == nil {
			toks = []pipeline.TokenInfo{}
		}
		return json.NewEncoder(env.stdout).Encode(toks)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tKIND\tLABEL\tCREATED\tBY\tLAST USED\tREVOKED")
	for _, t := range toks {
		by := t.CreatedBy
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.Kind, t.Label, stamp(t.CreatedAt), by, stampPtr(t.LastUsedAt), stampPtr(t.RevokedAt))
	}
	return tw.Flush()
}

func runUserSetDisabled(disabled bool) func(ctx context.Context, env *cliEnv, args []string) error {
	name := "user enable"
	if disabled {
		name = "user disable"
	}
	return func(ctx context.Context, env *cliEnv, args []string) error {
		var c serverConfig
		fs := newFlags(env, name, "NAME")
		c.registerStore(fs, env)
		pos, err := parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageError{"give the user's name: loa " + name + " NAME"}
		}
		db, err := c.openExistingDB(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		u, err := db.SetUserDisabled(ctx, pos[0], disabled, cliActor(env))
		if err != nil {
			return err
		}
		if disabled {
			fmt.Fprintf(env.stdout, "user %s disabled: sign-in refused, sessions ended and tokens revoked for good (by every running server following the change feed within %s or so); once enabled again, they sign in again and need new tokens (loa token create)\n",
				u.Name, pipeline.HumanDuration(sqlstore.FeedPoll))
		} else {
			fmt.Fprintf(env.stdout, "user %s enabled\n", u.Name)
		}
		return nil
	}
}

func runUserSignOut(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "user sign-out-everywhere", "NAME")
	c.registerStore(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give the user's name: loa user sign-out-everywhere NAME"}
	}
	db, err := c.openExistingDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByName(ctx, pos[0])
	if err != nil {
		return err
	}
	out, err := db.SignOutEverywhere(ctx, u.ID, cliActor(env))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "user %s signed out everywhere: %d sessions ended, %d tokens revoked\n", u.Name, out.Sessions, out.Tokens)
	return nil
}

// cliActor is who runs a command on the server's command line, for the
// audit log: "cli:" and the operating-system user.
func cliActor(env *cliEnv) pipeline.Actor {
	if u, err := osuser.Current(); err == nil && u.Username != "" {
		return pipeline.CLIActor(u.Username)
	}
	return pipeline.CLIActor(env.getenv("USER"))
}
