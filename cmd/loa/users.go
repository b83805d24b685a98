package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/sonla-cchc/loa/pipeline"
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
		Languages: splitList(*langs), Commune: *commune})
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
	db, err := c.openDB(ctx)
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
	fmt.Fprintln(tw, "NAME\tROLE\tLANGUAGES\tCOMMUNE")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, strings.Join(u.Languages, ","), u.Commune)
	}
	return tw.Flush()
}

func runTokenCreate(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "token create", "")
	c.registerStore(fs, env)
	user := fs.String("user", "", "user the token signs in as (required)")
	label := fs.String("label", "", "what the token is for (e.g. a device name)")
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *user == "" {
		return usageError{"--user is required"}
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := db.UserByName(ctx, *user)
	if err != nil {
		return err
	}
	tok, err := db.CreateToken(ctx, u.ID, *label)
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
	fs := newFlags(env, "token revoke", "")
	c.registerStore(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	tok, err := readLine(env)
	if err != nil {
		return usageError{"pipe the token to revoke on standard input"}
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.RevokeToken(ctx, tok); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "token revoked")
	return nil
}
