package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// defaultGrace is how long a cancelled tool gets between SIGTERM and SIGKILL.
const defaultGrace = 5 * time.Second

// ToolError is returned when ffmpeg or ffprobe did not finish cleanly. It
// carries the last few KiB of the tool's stderr, which is where ffmpeg says
// what went wrong.
type ToolError struct {
	Tool     string // "ffmpeg" or "ffprobe"
	ExitCode int    // -1 when the process was killed by a signal or never ran
	Stderr   string // tail of stderr (at most 4 KiB)
	Err      error  // the underlying error (*exec.ExitError, context.Canceled, ...)
}

// Error implements error.
func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Tool, e.Err)
	if s := lastLines(e.Stderr, 3); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the underlying error, so errors.Is(err, context.Canceled)
// works on a cancelled run.
func (e *ToolError) Unwrap() error { return e.Err }

// lastLines returns the last n non-empty lines of s joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	var kept []string
	for i := len(lines) - 1; i >= 0 && len(kept) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			kept = append(kept, l)
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	return strings.Join(kept, " | ")
}

// toolCmd is one tool invocation that this package owns end to end.
type toolCmd struct {
	path   string    // executable
	args   []string  // arguments, without argv[0]
	stdout io.Writer // nil discards
	stderr io.Writer // extra stderr sink (besides the kept tail), may be nil
	grace  time.Duration
	redact []string // strings replaced by "<input>" in the kept stderr
	dir    string   // working directory; "" is the caller's
	env    []string // KEY=value added to the inherited environment
	nice   int      // niceness the process runs at (0 leaves it as it is)
}

// run starts the tool under ctx and waits for it. Cancelling ctx sends
// SIGTERM (ffmpeg and ffprobe stop cleanly on it); after the grace period
// the process is killed and its pipes closed.
func (t toolCmd) run(ctx context.Context) error {
	tail := newTailBuffer(stderrTailSize)
	cmd := exec.CommandContext(ctx, t.path, t.args...)
	cmd.Stdin = nil // /dev/null
	cmd.Dir = t.dir
	if len(t.env) > 0 {
		cmd.Env = append(os.Environ(), t.env...)
	}
	cmd.Stdout = t.stdout
	if t.stderr != nil {
		cmd.Stderr = io.MultiWriter(tail, t.stderr)
	} else {
		cmd.Stderr = tail
	}
	cmd.SysProcAttr = childAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = t.grace
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = defaultGrace
	}
	name := t.path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	var err error
	if t.nice != 0 {
		err = runNiced(cmd, t.nice)
	} else {
		err = cmd.Run()
	}
	if err == nil {
		return nil
	}
	stderr := tail.String()
	for _, r := range t.redact {
		stderr = strings.ReplaceAll(stderr, r, "<input>")
	}
	te := &ToolError{Tool: name, ExitCode: -1, Stderr: stderr, Err: err}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		te.ExitCode = ee.ExitCode()
	}
	if ctxErr := context.Cause(ctx); ctxErr != nil {
		te.Err = ctxErr
	}
	return te
}

// notStarted reports whether err means the tool could not be started at all
// (missing binary, bad permissions), as opposed to the tool failing.
func notStarted(err error) bool {
	var te *ToolError
	if !errors.As(err, &te) {
		return false
	}
	var ee *exec.ExitError
	return !errors.As(te.Err, &ee) && !errors.Is(te.Err, context.Canceled) && !errors.Is(te.Err, context.DeadlineExceeded)
}
