package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// passwordReader reads passwords for a command: from the terminal
// without echo (prompts on stderr) when stdin is one, otherwise one per
// line from stdin (piped).
type passwordReader struct {
	env *cliEnv
	tty *os.File
	in  *bufio.Reader
}

func newPasswordReader(env *cliEnv) *passwordReader {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return &passwordReader{env: env, tty: f}
	}
	return &passwordReader{env: env, in: bufio.NewReader(env.stdin)}
}

// read returns the next password; what names it in the prompt and in the
// error when none comes. On a terminal a new password (confirm) is asked
// twice and must match.
func (p *passwordReader) read(what string, confirm bool) (string, error) {
	if p.tty == nil {
		line, err := p.in.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", usageError{fmt.Sprintf("no %s on standard input (%v): type it at a terminal, or pipe one password a line", what, err)}
		}
		return line, nil
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(p.env.stderr, prompt)
		b, err := term.ReadPassword(int(p.tty.Fd()))
		fmt.Fprintln(p.env.stderr)
		if err != nil {
			return "", fmt.Errorf("read %s from the terminal: %w", what, err)
		}
		return string(bytes.TrimRight(b, "\r\n")), nil
	}
	pw, err := ask(strings.ToUpper(what[:1]) + what[1:] + ": ")
	if err != nil || pw == "" {
		if err == nil {
			err = usageError{"no " + what + " typed"}
		}
		return "", err
	}
	if confirm {
		again, err := ask(strings.ToUpper(what[:1]) + what[1:] + " again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", usageError{"the two " + what + "s differ: nothing was changed; run the command again"}
		}
	}
	return pw, nil
}

// finish checks, for piped input, what follows the last password read
// (last, named what): nothing, or the same password once more (typed
// twice, as at a terminal). Anything else is refused before anything is
// changed: a second line that differs is a typo in one of them.
func (p *passwordReader) finish(what, last string) error {
	if p.tty != nil {
		return nil
	}
	rest, err := io.ReadAll(io.LimitReader(p.in, 64<<10))
	if err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(string(rest), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	switch {
	case len(lines) == 0 || (len(lines) == 1 && lines[0] == last):
		return nil
	case len(lines) == 1:
		return usageError{"the two " + what + "s on standard input differ: nothing was changed; pipe it once, or twice the same"}
	default:
		return usageError{fmt.Sprintf("standard input has %d more lines than this command reads: nothing was changed; pipe one password a line", len(lines))}
	}
}

// passwordRule says the password rule in words, for the commands' help.
var passwordRule = fmt.Sprintf("at least %d characters and at most %d bytes (%d plain letters or digits; a Vietnamese letter with marks takes 2-3)",
	pipeline.MinPasswordLen, pipeline.MaxPasswordBytes, pipeline.MaxPasswordBytes)

// runUserPassword is 'loa user password --name NAME': on the server's
// command line, set a user's password (a reset: no current password);
// all the user's browser sessions end, API tokens stay.
func runUserPassword(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "user password", "")
	c.registerStore(fs, env)
	name := fs.String("name", "", "user whose password to set (required)")
	fs.Bool("password-stdin", false, "read the password from the first line of standard input (the default when it is not a terminal); "+passwordRule)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"--name is required (the password is typed at the terminal or piped, never taken from the command line)"}
	}
	pr := newPasswordReader(env)
	password, err := pr.read("new password", true)
	if err != nil {
		return err
	}
	if err := pr.finish("new password", password); err != nil {
		return err
	}
	db, err := c.openExistingDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, out, err := db.SetPassword(ctx, *name, password, cliActor(env))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "password of %s set: %d browser sessions ended; API tokens left alone (loa user sign-out-everywhere %s ends them too)\n",
		u.Name, out.Sessions, u.Name)
	return nil
}

// runPassword is 'loa password': the user of --token changes their own
// password through the API, typing the current one and the new one at the
// terminal (or piping them, one a line: current, then new).
func runPassword(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "password", "")
	cl := registerClient(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	pr := newPasswordReader(env)
	current, err := pr.read("current password", false)
	if err != nil {
		return err
	}
	newPassword, err := pr.read("new password", true)
	if err != nil {
		return err
	}
	if err := pr.finish("new password", newPassword); err != nil {
		return err
	}
	body, err := json.Marshal(api.PasswordChangeRequest{Current: current, New: newPassword})
	if err != nil {
		return fmt.Errorf("encode the password change: %w", err)
	}
	var out api.PasswordResponse
	if err := cl.do(ctx, "POST", "/api/me/password", bytes.NewReader(body), "application/json", &out); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "password of %s changed: %d browser sessions ended; API tokens (this one too) left alone\n", out.User, out.SessionsEnded)
	return nil
}
