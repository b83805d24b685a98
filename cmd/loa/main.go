// Command loa is Loa's one binary: the server and worker, the admin
// bootstrap commands, and the client that producers use to upload.
//
// Run "loa help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what every command gets: its streams and environment, so tests
// can run commands in-process.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// now is the clock (a bundle's valid_until is checked against it);
	// nil means time.Now. Tests set it.
	now func() time.Time
}

func (env *cliEnv) clock() time.Time {
	if env.now != nil {
		return env.now()
	}
	return time.Now()
}

func commands() []command {
	return append([]command{
		{"serve", "run the HTTP API and the worker in one process", runServe},
		{"worker", "run the background worker alone", runWorker},
		{"migrate", "apply database migrations", runMigrate},
		{"db copy", "copy a SQLite catalog into an empty PostgreSQL database, verified", runDBCopy},
		{"user add", "add a user (admin bootstrap; password from stdin)", runUserAdd},
		{"user list", "list users", runUserList},
		{"user disable", "disable a user: sign-in refused, sessions ended, tokens revoked for good", runUserSetDisabled(true)},
		{"user enable", "enable a disabled user again", runUserSetDisabled(false)},
		{"user sign-out-everywhere", "end all of a user's sessions and revoke all their tokens", runUserSignOut},
		{"user password", "set a user's password (a reset; typed at the terminal or piped): their sessions end, tokens stay", runUserPassword},
		{"password", "change your own password through the API (current, then new; typed or piped): your sessions end, tokens stay", runPassword},
		{"token create", "create an API (or --kind metrics) token for a user and print it", runTokenCreate},
		{"token list", "list tokens (id, kind, label, created, last used; never the secret)", runTokenList},
		{"token revoke", "revoke a token by its id, or the token itself read from stdin", runTokenRevoke},
		{"upload", "upload a radio or TV segment", runUpload},
		{"segments list", "list segments", runSegmentsList},
		{"segments show", "show one segment", runSegmentsShow},
		{"segments withdraw", "withdraw a segment", runSegmentsWithdraw},
		{"segments priority", "set a segment's priority: normal or priority", runSegmentsPriority},
		{"demo", "load the demo data into a running server (again: its demo tokens are replaced)", runDemo},
		{"report", "download the CCHC report of a period (xlsx, csv, html)", runReport},
		{"audit", "download the audit log of a period as CSV", runAudit},
	}, append(scheduleCommands(), append(jobCommands(), playerCommands()...)...)...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(ctx, env, os.Args[1:]))
}

// Exit codes: 0 done, 1 failure, 2 usage error, 3 refused (bad input),
// 4 not allowed, 5 service unavailable (retry later).
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	switch pipeline.ErrorCode(err) {
	case pipeline.CodeInvalid, pipeline.CodeTooLarge, pipeline.CodeConflict, pipeline.CodeNotFound:
		return 3
	case pipeline.CodeUnauthorized, pipeline.CodeForbidden:
		return 4
	case pipeline.CodeUnavailable, pipeline.CodeRateLimited, pipeline.CodeTimeout:
		return 5
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return 0
	}
	// "users ..." and "tokens ..." are "user ..." and "token ...".
	if a, ok := strings.CutSuffix(args[0], "s"); ok && (a == "user" || a == "token") {
		args = append([]string{a}, args[1:]...)
	}
	// Longest match first: "user add" before "user".
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return len(cmds[i].name) > len(cmds[j].name) })
	for _, c := range cmds {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			err := c.run(ctx, env, args[len(words):])
			if err != nil && !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(env.stderr, "loa %s: %s\n", c.name, describe(err))
			}
			return exitCode(err)
		}
	}
	fmt.Fprintf(env.stderr, "loa: unknown command %q\n\n", strings.Join(args, " "))
	usage(env.stderr)
	return 2
}

// describe is the message a person reads for err.
func describe(err error) string {
	var e *pipeline.Error
	if errors.As(err, &e) {
		msg := e.Message
		if e.Field != "" {
			msg = e.Field + ": " + msg
		}
		return msg
	}
	return err.Error()
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "loa: CCHC segments to commune loudspeakers, in Vietnamese, Thái and Mông.")
	fmt.Fprintln(w, "\nUsage: loa COMMAND [flags]   (loa COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery setting can also be set by the LOA_* environment variable named in its help;")
	fmt.Fprintln(w, "a flag on the command line wins over the variable. A bad value stops the command.")
}

// newFlags makes a FlagSet that reports errors instead of exiting.
func newFlags(env *cliEnv, name, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("loa "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: loa %s [flags] %s\n\nFlags:\n", name, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// parse sets the settings among fs's flags from their LOA_* variables
// (applyEnv), then parses the command line, which wins, allowing flags
// after positional arguments ("loa upload FILE --title T"); it returns the
// positional arguments. A bad value in either is a usage error that names
// the setting.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := applyEnv(fs); err != nil {
		return nil, err
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
