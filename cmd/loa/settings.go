package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/throttle"
)

// Settings: every flag whose help ends by naming its environment
// variable, as in "(LOA_MAX_UPLOAD_MB)" or "(required; LOA_COMMUNE)", is a
// setting. parse reads the environment into them with ff (applyEnv), then
// the command line, which wins; a value that does not parse stops the
// command with the variable's and the flag's names. The value types below
// check ranges and forms (whole numbers, durations, cron specs, addresses)
// while parsing, so a bad value never falls back to the default.

// envPrefix is the prefix of every setting's environment variable.
const envPrefix = "LOA"

// settingVar finds the variable a flag's help names: LOA_X right before
// the closing parenthesis, after "(" or "; ".
var settingVar = regexp.MustCompile(`(?:\(|; )(LOA_[A-Z0-9_]+)\)`)

// settingEnv returns the environment variable of flag f, or "" when f is
// not a setting (a command's own --title or --json).
func settingEnv(f *flag.Flag) string {
	m := settingVar.FindAllStringSubmatch(f.Usage, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// applyEnv sets fs's settings from the environment with ff. ff names a
// flag's variable after the flag, so each setting is given to it under
// the name that maps to the variable its help names (--dir, "(LOA_PLAYER_DIR)",
// as player-dir); errors name the variable and the real flag.
func applyEnv(fs *flag.FlagSet) error {
	settings := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	fs.VisitAll(func(f *flag.Flag) {
		env := settingEnv(f)
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, envPrefix+"_"), "_", "-"))
		if env == "" || settings.Lookup(name) != nil {
			return // not a setting, or a second flag for the same variable
		}
		settings.Var(settingValue{Value: f.Value, flag: f.Name, env: env}, name, f.Usage)
	})
	if err := ff.Parse(settings, nil, ff.WithEnvVarPrefix(envPrefix)); err != nil {
		var se *settingError
		if errors.As(err, &se) {
			return usageError{"bad setting: " + se.Error()}
		}
		return usageError{fmt.Sprintf("bad setting: %v", err)}
	}
	return nil
}

// settingValue is a setting's flag.Value as applyEnv gives it to ff.
type settingValue struct {
	flag.Value
	flag, env string
}

func (v settingValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return &settingError{Env: v.env, Flag: v.flag, Err: err}
	}
	return nil
}

// settingError is a value in the environment that a setting refuses.
type settingError struct {
	Env, Flag string
	Err       error
}

func (e *settingError) Error() string { return fmt.Sprintf("%s (--%s): %v", e.Env, e.Flag, e.Err) }

func (e *settingError) Unwrap() error { return e.Err }

// envString, envInt, envDuration and envBool read a variable for a flag's
// default, the way flags were registered before parse read settings
// itself. They are kept so such code still builds; its values are read
// again, strictly, by parse, so a bad one still stops the command. New
// flags take a plain default.
func envString(env *cliEnv, key, def string) string {
	if v := env.getenv(key); v != "" {
		return v
	}
	return def
}

func envInt(env *cliEnv, key string, def int64) int64 {
	if n, err := strconv.ParseInt(env.getenv(key), 10, 64); err == nil {
		return n
	}
	return def
}

func envDuration(env *cliEnv, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env.getenv(key)); err == nil {
		return d
	}
	return def
}

func envBool(env *cliEnv, key string) bool {
	b, _ := strconv.ParseBool(env.getenv(key))
	return b
}

// intValue is a whole-number setting of at least min.
type intValue struct {
	p   *int64
	min int64
}

func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatInt(*v.p, 10)
}

func (v intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	if n < v.min {
		return fmt.Errorf("%d is less than %d", n, v.min)
	}
	*v.p = n
	return nil
}

// intFlag adds a whole-number setting of at least min.
func intFlag(fs *flag.FlagSet, p *int64, name string, def, min int64, usage string) {
	*p = def
	fs.Var(intValue{p, min}, name, usage)
}

// durationValue is a positive duration setting such as 90m or 48h.
type durationValue struct{ p *time.Duration }

func (v durationValue) String() string {
	if v.p == nil {
		return "0s"
	}
	return v.p.String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write it like 90s, 45m or 48h", s)
	}
	if d <= 0 {
		return fmt.Errorf("%s is not positive", d)
	}
	*v.p = d
	return nil
}

// durationFlag adds a positive duration setting.
func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationValue{p}, name, usage)
}

// fractionValue is a number in (0, 1].
type fractionValue struct{ p *float64 }

func (v fractionValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*v.p, 'g', -1, 64)
}

func (v fractionValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(f > 0 && f <= 1) {
		return fmt.Errorf("%q is not a fraction: write a number above 0 and at most 1, such as 0.2", s)
	}
	*v.p = f
	return nil
}

// cronValue is a cron spec (Asia/Ho_Chi_Minh), checked with the worker's
// parser; empty means the job's default (or off, where its help says so).
type cronValue struct{ p *string }

func (v cronValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v cronValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		if _, err := localtime.ParseSpec(s); err != nil {
			return err
		}
	}
	*v.p = s
	return nil
}

// cronFlag adds a cron spec setting.
func cronFlag(fs *flag.FlagSet, p *string, name, def, usage string) {
	*p = def
	fs.Var(cronValue{p}, name, usage)
}

// addrValue is a host:port; empty is allowed when the setting is
// optional. With loopback set, the host must be a loopback IP address.
type addrValue struct {
	p        *string
	loopback bool
}

func (v addrValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v addrValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		_, port, err := net.SplitHostPort(s)
		if err != nil {
			return fmt.Errorf("%q is not host:port (such as 127.0.0.1:8080): %v", s, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("%q: the port %q is not a number from 0 to 65535", s, port)
		}
		host, _, _ := net.SplitHostPort(s)
		if ip := net.ParseIP(host); v.loopback && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q is not a loopback address: give one such as 127.0.0.1:6060", s)
		}
	}
	*v.p = s
	return nil
}

// addrFlag adds a host:port setting.
func addrFlag(fs *flag.FlagSet, p *string, name, def, usage string) {
	*p = def
	fs.Var(addrValue{p: p}, name, usage)
}

// proxiesValue is a list of trusted proxies (throttle.ParseProxies);
// empty trusts none.
type proxiesValue struct{ p *throttle.Proxies }

func (v proxiesValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v proxiesValue) Set(s string) error {
	p, err := throttle.ParseProxies(s)
	if err != nil {
		return err
	}
	*v.p = p
	return nil
}

// urlValue is an absolute http or https URL; empty is allowed.
type urlValue struct{ p *string }

func (v urlValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v urlValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http:// or https:// URL", s)
		}
	}
	*v.p = s
	return nil
}

// urlFlag adds a URL setting.
func urlFlag(fs *flag.FlagSet, p *string, name, def, usage string) {
	*p = def
	fs.Var(urlValue{p}, name, usage)
}

// levelValue is a log level: debug, info, warn or error.
type levelValue struct{ p *string }

func (v levelValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v levelValue) Set(s string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return fmt.Errorf("%q is not a log level: write debug, info, warn or error", s)
	}
	*v.p = strings.ToLower(strings.TrimSpace(s))
	return nil
}

// dbValue is LOA_DB: a SQLite file path, sqlite:PATH, or a postgres://
// URL (checked by sqlstore.ParseLocation); empty means DATA/loa.db.
type dbValue struct{ p *string }

func (v dbValue) String() string {
	if v.p == nil || *v.p == "" {
		return ""
	}
	if loc, err := sqlstore.ParseLocation(*v.p); err == nil {
		return loc.String() // never shows a password
	}
	return ""
}

func (v dbValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if s != "" {
		if _, err := sqlstore.ParseLocation(s); err != nil {
			return err
		}
	}
	*v.p = s
	return nil
}
