package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// Default body deadline and stream caps (see Server).
const (
	DefaultBodyTimeout        = 30 * time.Second
	DefaultBodyMinRate        = 2 << 10
	DefaultMaxStreamsPerToken = 4
	DefaultMaxStreamsPerUser  = 16
)

// SlowBody is a request body read under a deadline that grows with what
// has arrived: start + timeout + read/minRate. Past it the connection's
// read fails, so the handler's read returns and its goroutine ends.
type SlowBody struct {
	rc       *http.ResponseController
	body     io.ReadCloser
	deadline time.Time
	perByte  time.Duration
	eof      bool
	mu       sync.Mutex
	timedOut bool
	read     int64
}

// LimitBody puts r's body under the deadline; a request without a body
// is left alone and gets nil, whose methods do nothing (TimedOut is
// false), so a GET costs no allocation here. The returned SlowBody says
// whether the deadline cut it.
func LimitBody(w http.ResponseWriter, r *http.Request, timeout time.Duration, minRate int64) *SlowBody {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	b := &SlowBody{}
	b.rc = http.NewResponseController(w)
	b.body = r.Body
	b.deadline = time.Now().Add(timeout)
	b.perByte = time.Second / time.Duration(max(minRate, 1))
	r.Body = b
	return b
}

// Read reads from the body under the deadline.
func (b *SlowBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(b.deadline)
	n, err := b.body.Read(p)
	b.deadline = b.deadline.Add(time.Duration(n) * b.perByte)
	b.eof = b.eof || err == io.EOF
	b.mu.Lock()
	b.read += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.timedOut = true
	}
	b.mu.Unlock()
	return n, err
}

// Done is called when the handler is through. A body read to its end has
// its deadline lifted, so the next request on the connection is not cut
// by it; a body left unread keeps it, so the server's drain of the rest
// (before it answers) is cut too instead of waiting on a slow sender.
func (b *SlowBody) Done() {
	if b == nil || b.rc == nil || b.TimedOut() {
		return
	}
	if b.eof {
		_ = b.rc.SetReadDeadline(time.Time{})
	} else {
		_ = b.rc.SetReadDeadline(b.deadline)
	}
}

// Close closes the body.
func (b *SlowBody) Close() error { return b.body.Close() }

// TimedOut reports whether the deadline cut the body.
func (b *SlowBody) TimedOut() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.timedOut
}

// Cut ends a request whose body the deadline cut: it closes the
// connection after the answer, logs the route (method and pattern, or
// path), the client's address (the connection's; forwarded headers are
// not trusted), the user ("" before sign-in), the bytes that arrived and
// of how many announced (-1: unknown), and returns the refusal (408).
func (b *SlowBody) Cut(w http.ResponseWriter, r *http.Request, log *slog.Logger, route, user string) error {
	w.Header().Set("Connection", "close")
	b.mu.Lock()
	read := b.read
	b.mu.Unlock()
	log.Warn("request body too slow: cut off with 408", "route", route, "remote", r.RemoteAddr, "user", user,
		"bytes_read", read, "content_length", r.ContentLength)
	return b.Err()
}

// Err is the refusal for a body the deadline cut.
func (b *SlowBody) Err() error {
	return pipeline.Errorf(pipeline.CodeTimeout, "The request body came too slowly and was cut off: send it again (on a slow link, a smaller file or a better connection).")
}

func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) *SlowBody {
	timeout, rate := s.BodyTimeout, s.BodyMinRate
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	if rate <= 0 {
		rate = DefaultBodyMinRate
	}
	return LimitBody(w, r, timeout, rate)
}

// streamCounter counts open event streams by key (a token's or session's
// hash, a user) in this process, for a Server without Streams.
type streamCounter struct {
	mu   sync.Mutex
	open map[string]int
}

// acquire opens a stream for every key if each is under its cap (caps[i]
// for keys[i]), else opens none and names the key at its cap.
func (c *streamCounter) acquire(keys []string, caps []int) (release func(), full int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open == nil {
		c.open = map[string]int{}
	}
	for i, k := range keys {
		if c.open[k] >= caps[i] {
			return nil, i
		}
	}
	for _, k := range keys {
		c.open[k]++
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, k := range keys {
			if c.open[k]--; c.open[k] <= 0 {
				delete(c.open, k)
			}
		}
	}, -1
}

// openStream counts an event stream against its token's (or session's)
// cap and its user's; past either it is CodeRateLimited.
func (s *Server) openStream(r *http.Request, u pipeline.User) (func(), error) {
	perToken, perUser := s.MaxStreamsPerToken, s.MaxStreamsPerUser
	if perToken <= 0 {
		perToken = DefaultMaxStreamsPerToken
	}
	if perUser <= 0 {
		perUser = DefaultMaxStreamsPerUser
	}
	// The credential, not the header: "bearer X" and "Bearer X" are one
	// token and share its cap.
	cred, ok := bearer(r)
	if !ok {
		if ck, err := r.Cookie("loa_session"); err == nil {
			cred = ck.Value
		}
	}
	keys, caps := []string{"cred:" + pipeline.HashToken(cred), fmt.Sprintf("user:%d", u.ID)}, []int{perToken, perUser}
	var release func()
	full := -1
	if s.Streams != nil {
		rel, f, err := s.Streams.AcquireStream(r.Context(), keys, caps)
		if err != nil {
			return nil, err
		}
		full = f
		release = func() {
			if err := rel(); err != nil {
				s.Log.Warn("event stream not released: it stops counting when its lease lapses", "err", err)
			}
		}
	} else {
		release, full = s.streams.acquire(keys, caps)
	}
	switch full {
	case 0:
		return nil, &pipeline.Error{Code: pipeline.CodeRateLimited, RetryAfter: 30 * time.Second,
			Message: fmt.Sprintf("This token already has %d event streams open: a device needs one; close another (or stop the stray player) and try again.", perToken)}
	case 1:
		return nil, &pipeline.Error{Code: pipeline.CodeRateLimited, RetryAfter: 30 * time.Second,
			Message: fmt.Sprintf("User %s already has %d event streams open: close some and try again.", u.Name, perUser)}
	}
	return release, nil
}

// StreamCounter counts open event streams in the whole deployment
// (sqlstore.ProcessStreams): AcquireStream records a stream against each
// key unless one already has caps[i] open, then full is its index (else
// -1); release forgets the stream.
type StreamCounter interface {
	AcquireStream(ctx context.Context, keys []string, caps []int) (release func() error, full int, err error)
}
