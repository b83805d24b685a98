package media

import (
	"context"
	"io"
	"testing"
)

// TestOutcome: a run's outcome label is ok, cancelled (also when the
// deadline passed inside a tool error) or error.
func TestOutcome(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{{nil, "ok"}, {context.Canceled, "cancelled"}, {&ToolError{Err: context.DeadlineExceeded}, "cancelled"}, {io.EOF, "error"}} {
		if got := Outcome(c.err); got != c.want {
			t.Errorf("Outcome(%v) = %s, want %s", c.err, got, c.want)
		}
	}
}
