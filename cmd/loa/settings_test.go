package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLoa runs one loa command in-process and returns its exit code and
// what it wrote to stderr.
func runLoa(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return run(ctx, env, args), stderr.String()
}

// TestBadSettingStopsStart sets one bad value at a time, by variable or by
// flag: the command stops with a usage error naming the setting before it
// touches the database (the data folder does not exist), instead of
// starting with the default.
func TestBadSettingStopsStart(t *testing.T) {
	cases := []struct {
		env, value string
		flag       string // instead of the variable, when set
		want       string // in the message, besides the name
	}{
		{env: "LOA_MAX_UPLOAD_MB", value: "abc", want: "whole number"},
		{env: "LOA_MAX_UPLOAD_MB", value: "0", want: "less than 1"},
		{env: "LOA_JOB_LEASE", value: "2days", want: "not a duration"},
		{env: "LOA_MAX_DURATION", value: "-5m", want: "not positive"},
		{env: "LOA_CRON_REPORTS", value: "61 * * * *", want: "cron spec"},
		{env: "LOA_CRON_SWEEP", value: "CRON_TZ=UTC 0 * * * *", want: "time zone"},
		{env: "LOA_PLAIN_HTTP", value: "perhaps", want: "parse"},
		{env: "LOA_S3_SSL", value: "yes please", want: "parse"},
		{env: "LOA_SMTP_ADDR", value: "mail.example.vn", want: "host:port"},
		{env: "LOA_DEBUG_ADDR", value: "0.0.0.0:6060", want: "loopback"},
		{env: "LOA_NOTIFY_WEBHOOK", value: "hooks.example.vn/loa", want: "URL"},
		{env: "LOA_LOG_LEVEL", value: "loud", want: "log level"},
		{env: "LOA_TRUSTED_PROXIES", value: "10.0.0.0/8, lb.example.vn", want: `"lb.example.vn" is not an address or a CIDR prefix`},
		{env: "LOA_VOICEOVER_TOLERANCE", value: "20%", want: "fraction"},
		{env: "LOA_MEDIA_JOBS", value: "0", want: "less than 1"},
		{env: "LOA_SCHEDULE_DAYS", value: "seven", want: "whole number"},
		{env: "LOA_DB", value: "mysql://loa@db/loa", want: "postgres://"},
		{env: "LOA_DB", value: "postgres://loa:secret@db:port/loa", want: "does not parse"},
		{env: "LOA_DB", value: "sqlite:", want: "file path"},
		{env: "LOA_PLAYLIST_ADDR", value: "127.0.0.1:8080", want: "the same as LOA_ADDR"},
		{env: "LOA_PLAYLIST_PUBLIC_URL", value: "playlists.example.vn", want: "URL"},
		{env: "LOA_PLAYLIST_PUBLIC_URL", value: "https://playlists.example.vn", want: "set LOA_PLAYLIST_ADDR"},
		{flag: "--max-upload-mb=abc", env: "max-upload-mb", want: "whole number"},
		{flag: "--job-lease=2days", env: "job-lease", want: "not a duration"},
	}
	for _, c := range cases {
		t.Run(c.env+"="+c.value+c.flag, func(t *testing.T) {
			t.Setenv("LOA_DATA", t.TempDir()+"/must-not-be-made")
			args := []string{"serve"}
			if c.flag != "" {
				args = append(args, c.flag)
			} else {
				t.Setenv(c.env, c.value)
			}
			code, stderr := runLoa(t, args...)
			if code != 2 {
				t.Fatalf("exit code %d, want 2 (usage); stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, c.env) || !strings.Contains(stderr, c.want) {
				t.Fatalf("the message does not name %s or say %q: %s", c.env, c.want, stderr)
			}
			if _, err := os.Stat(os.Getenv("LOA_DATA")); err == nil {
				t.Fatal("the server started with a bad setting: its data folder was made")
			}
		})
	}
}

// TestSettingsPrecedence: a variable sets a setting, a flag wins over it,
// and flags that are not settings are never read from the environment.
func TestSettingsPrecedence(t *testing.T) {
	t.Setenv("LOA_MAX_UPLOAD_MB", "100")
	t.Setenv("LOA_JOB_LEASE", "36h")
	t.Setenv("LOA_CRON_REPORTS", "15 4 * * *")
	t.Setenv("LOA_PLAIN_HTTP", "true")
	t.Setenv("LOA_SMTP_PASSWORD", "bí-mật")
	t.Setenv("LOA_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")
	var c serverConfig
	env := &cliEnv{stderr: &bytes.Buffer{}, getenv: os.Getenv}
	fs := newFlags(env, "serve", "")
	c.register(fs, env)
	if _, err := parse(fs, []string{"--job-lease", "12h"}); err != nil {
		t.Fatal(err)
	}
	if c.maxUploadMB != 100 || c.jobs.lease != 12*time.Hour || c.cronReports != "15 4 * * *" || !c.plainHTTP || c.jobs.smtpPassword != "bí-mật" {
		t.Fatalf("settings: upload %d MiB, lease %s, reports %q, plain http %v, smtp password %q",
			c.maxUploadMB, c.jobs.lease, c.cronReports, c.plainHTTP, c.jobs.smtpPassword)
	}
	if got := c.trustedProxies.String(); got != "10.0.0.0/8,192.0.2.7" {
		t.Fatalf("LOA_TRUSTED_PROXIES: trusted proxies %q", got)
	}
	// A variable named otherwise than its flag, as the help says.
	t.Setenv("LOA_PLAYER_DIR", "/var/lib/loa-player")
	t.Setenv("LOA_PLAYER_COUNT", "many")
	fs = newFlags(env, "player", "")
	dir := fs.String("dir", "", "the player's folder (required; LOA_PLAYER_DIR)")
	var count int64
	intFlag(fs, &count, "count", 1, 1, "how many (LOA_PLAYER_COUNT)")
	if _, err := parse(fs, nil); err == nil || !strings.Contains(err.Error(), "LOA_PLAYER_COUNT (--count)") {
		t.Fatalf("LOA_PLAYER_COUNT=many: %v", err)
	}
	t.Setenv("LOA_PLAYER_COUNT", "2")
	if _, err := parse(fs, nil); err != nil || *dir != "/var/lib/loa-player" || count != 2 {
		t.Fatalf("--dir %q --count %d: %v", *dir, count, err)
	}
	t.Setenv("LOA_TITLE", "from the environment")
	fs = newFlags(env, "upload", "")
	title := fs.String("title", "", "segment title")
	if _, err := parse(fs, nil); err != nil || *title != "" {
		t.Fatalf("a command's own flag was read from LOA_TITLE: %q %v", *title, err)
	}
}

// TestSettingsTable checks the README's settings table against the flags
// of every command: each setting a command has is in the table with its
// variable and default, and each row of the table is a setting of some
// command.
func TestSettingsTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ env, def string }
	table := map[string]row{} // by flag name
	rowRE := regexp.MustCompile("^\\| `--([a-z0-9-]+)` \\| `(LOA_[A-Z0-9_]+)` \\| ([^|]*) \\|")
	for _, line := range strings.Split(string(readme), "\n") {
		if m := rowRE.FindStringSubmatch(line); m != nil {
			def := strings.TrimSpace(m[3])
			if strings.HasPrefix(def, "`") && strings.HasSuffix(def, "`") {
				def = strings.Trim(def, "`")
			} else {
				def = "" // words describe an empty flag
			}
			table[m[1]] = row{m[2], def}
		}
	}
	if len(table) < 40 {
		t.Fatalf("found %d rows in the README's settings table", len(table))
	}
	seen := map[string]bool{}
	for _, cmd := range commands() {
		_, help := runLoa(t, append(strings.Fields(cmd.name), "--help")...)
		for name, s := range helpSettings(t, help) {
			seen[name] = true
			r, ok := table[name]
			if !ok {
				t.Errorf("loa %s --%s (%s) is not in the README's settings table", cmd.name, name, s.env)
				continue
			}
			if r.env != s.env || normalDefault(r.def) != normalDefault(s.def) {
				t.Errorf("loa %s --%s: the README says %s default %q, the flag %s default %q", cmd.name, name, r.env, r.def, s.env, s.def)
			}
		}
	}
	for name, r := range table {
		if !seen[name] {
			t.Errorf("the README lists --%s (%s), which no command has", name, r.env)
		}
	}
}

// helpSettings reads the settings out of a command's --help: flag name,
// variable and default.
func helpSettings(t *testing.T, help string) map[string]struct{ env, def string } {
	t.Helper()
	out := map[string]struct{ env, def string }{}
	flagRE := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	defRE := regexp.MustCompile(`\(default (.*)\)$`)
	var name, usage string
	flush := func() {
		if name == "" {
			return
		}
		usage = strings.TrimSpace(usage)
		if env := settingEnv(&flag.Flag{Name: name, Usage: usage}); env != "" {
			def := ""
			if d := defRE.FindStringSubmatch(usage); d != nil {
				def = d[1]
				if u, err := strconv.Unquote(def); err == nil {
					def = u
				}
			}
			out[name] = struct{ env, def string }{env, def}
		}
		name, usage = "", ""
	}
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		line := sc.Text()
		if m := flagRE.FindStringSubmatch(line); m != nil {
			flush()
			name = m[1]
			continue
		}
		usage += strings.TrimSpace(line) + " "
	}
	flush()
	return out
}

// normalDefault makes "72h" and "72h0m0s" compare equal.
func normalDefault(s string) string {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		return d.String()
	}
	return s
}

// FuzzSettingValues feeds any text to every setting type: each either
// refuses it with a message or keeps a value that reads back the same.
func FuzzSettingValues(f *testing.F) {
	for _, s := range []string{"4096", "abc", "2days", "48h", "-5m", "0.2", "20%", "*/5 * * * *", "CRON_TZ=UTC 0 * * * *",
		"61 * * * *", "127.0.0.1:8080", "mail", "https://hooks.example.vn/loa", "ftp://x", "debug", "loud", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var (
			n     int64
			d     time.Duration
			frac  float64
			text  string
			level string
		)
		values := map[string]flag.Value{
			"int": intValue{&n, 1}, "duration": durationValue{&d}, "fraction": fractionValue{&frac},
			"cron": cronValue{&text}, "addr": addrValue{p: &text}, "loopback": addrValue{p: &text, loopback: true}, "url": urlValue{&text}, "level": levelValue{&level},
		}
		for name, v := range values {
			if err := v.Set(s); err != nil {
				if err.Error() == "" {
					t.Fatalf("%s: empty message for %q", name, s)
				}
				continue
			}
			again := v.String()
			if err := v.Set(again); err != nil || v.String() != again {
				t.Fatalf("%s: %q kept as %q, which reads back as %q (%v)", name, s, again, v.String(), err)
			}
		}
	})
}
