package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestSlowBodyCut: a client that sends a JSON body a byte every 300 ms
// (slow loris) on any route with a body is answered 408 once the body's
// deadline passes, and the connection is closed (the handler is gone)
// and the cut is logged with its route, the client's address, the user
// and the bytes that arrived; a body that arrives in time is served on
// the same kind of connection.
func TestSlowBodyCut(t *testing.T) {
	db := sqlstoretest.New(t)
	admin, err := db.CreateUser(t.Context(), pipeline.NewUser{Name: "u-admin", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateToken(t.Context(), admin.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s := &api.Server{Catalog: db, BodyTimeout: 500 * time.Millisecond, BodyMinRate: 1 << 20, Log: slog.New(slog.NewTextHandler(logs, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	body := `{"name":"nguoi-moi","role":"producer","password":"mat-khau-dai-du"}`
	for _, tc := range []struct {
		route string
		want  int
	}{
		{"POST /api/users", http.StatusRequestTimeout},
		// Refused before the body is read: answered at once, and the rest
		// of the slow body is not waited for either.
		{"PUT /api/segments/x/priority", http.StatusNotFound},
	} {
		t.Run(tc.route, func(t *testing.T) {
			method, path, _ := strings.Cut(tc.route, " ")
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", method, path, tok, len(body))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { // one byte every 300 ms until the test ends
				for i := 0; i < len(body); i++ {
					select {
					case <-ctx.Done():
						return
					case <-time.After(300 * time.Millisecond):
					}
					if _, err := conn.Write([]byte{body[i]}); err != nil {
						return
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to the slow body: %v", err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || (tc.want == http.StatusRequestTimeout && !strings.Contains(string(msg), "too slowly")) {
				t.Fatalf("slow body: %d %s, want %d (408 saying it came too slowly)", resp.StatusCode, msg, tc.want)
			}
			// Closed: EOF, or a reset when a byte of the slow body reached
			// the server after its last read (it closes with data unread).
			if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("the connection stayed open after the 408: %v", err)
			}
			if tc.want != http.StatusRequestTimeout {
				return
			}
			line := ""
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, "too slow") {
					line = l
				}
			}
			for _, want := range []string{`route="POST /api/users"`, "remote=127.0.0.1:", "user=u-admin", "bytes_read=", fmt.Sprintf("content_length=%d", len(body))} {
				if !strings.Contains(line, want) {
					t.Errorf("the 408 is not logged with %s: %q", want, line)
				}
			}
			if strings.Contains(line, "bytes_read=0 ") {
				t.Errorf("the log says no byte arrived, but some did: %q", line)
			}
		})
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a body in time: %d, want 201", resp.StatusCode)
	}
}

// TestEventStreamsCapped: one token opens at most its cap of event
// streams and one user at most theirs; past either the answer is 429
// with Retry-After and a message saying why; closing a stream frees its
// place. With the caps counted in the database, they hold across two
// replicas: the streams are opened through each in turn.
func TestEventStreamsCapped(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) { testEventStreamsCapped(t, replicas) })
	}
}

func testEventStreamsCapped(t *testing.T, replicas int) {
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(s *api.Server, _ *broadcast.Service, db *sqlstore.DB) {
		if replicas > 1 {
			s.Streams = sqlstore.ProcessStreams{DB: db, Process: "replica-1"}
		}
	})
	urls := []string{sb.srv.URL}
	for i := 2; i <= replicas; i++ {
		other := &api.Server{Catalog: sb.db, Objects: sb.store, Broadcast: sb.svc, EventPoll: 100 * time.Millisecond,
			Log: slog.New(slog.DiscardHandler), Now: sb.db.Now, Streams: sqlstore.ProcessStreams{DB: sb.db, Process: fmt.Sprintf("replica-%d", i)}}
		srv := httptest.NewServer(other.Handler())
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	op := sb.users[pipeline.RoleOperator]
	opened := 0
	open := func(tok string) (func(), int, string) {
		t.Helper()
		url := urls[opened%len(urls)]
		defer func() { opened++ }()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/communes/muong-lan/events", nil)
		// The scheme is case-insensitive: spelling it another way is
		// the same token, under the same cap.
		req.Header.Set("Authorization", []string{"Bearer ", "bearer ", "BEARER "}[opened%3]+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			return func() {}, resp.StatusCode, string(msg)
		}
		// The first event is sent at once: the stream is counted by then.
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		return func() { cancel(); resp.Body.Close() }, resp.StatusCode, ""
	}
	tokens := []string{sb.tokens[pipeline.RoleOperator]}
	for i := 1; i*api.DefaultMaxStreamsPerToken <= api.DefaultMaxStreamsPerUser; i++ {
		tok, err := sb.db.CreateToken(t.Context(), op.ID, fmt.Sprintf("loa %d", i))
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := 0; i < api.DefaultMaxStreamsPerToken; i++ {
		c, code, msg := open(tokens[0])
		closers = append(closers, c)
		if code != 200 {
			t.Fatalf("stream %d: %d %s", i+1, code, msg)
		}
	}
	if _, code, msg := open(tokens[0]); code != http.StatusTooManyRequests || !strings.Contains(msg, "This token already has") {
		t.Fatalf("one stream past the token's cap: %d %s, want 429 naming the token", code, msg)
	}
	n := api.DefaultMaxStreamsPerToken
	for _, tok := range tokens[1:] {
		for j := 0; j < api.DefaultMaxStreamsPerToken && n < api.DefaultMaxStreamsPerUser; j++ {
			c, code, msg := open(tok)
			closers = append(closers, c)
			if code != 200 {
				t.Fatalf("stream %d of the user: %d %s", n+1, code, msg)
			}
			n++
		}
	}
	if _, code, msg := open(tokens[len(tokens)-1]); code != http.StatusTooManyRequests || !strings.Contains(msg, "User "+op.Name) {
		t.Fatalf("one stream past the user's cap: %d %s, want 429 naming the user", code, msg)
	}
	closers[0]()
	deadline := time.Now().Add(time.Minute)
	if d, ok := t.Deadline(); ok {
		deadline = time.Now().Add(time.Until(d) / 4)
	}
	for {
		c, code, _ := open(tokens[0])
		closers = append(closers, c)
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's place was not freed: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuffer is a log destination the server's goroutines and the test
// share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestOversizedBodyRefusedAtOnce: a body whose Content-Length is over its
// route's limit is answered 413 naming the limit before a byte of it is
// sent (the test sends none; the body deadline is long, so waiting for
// the body would not answer in time), and the connection is closed. A
// body within the limit is read as before.
func TestOversizedBodyRefusedAtOnce(t *testing.T) {
	db := sqlstoretest.New(t)
	tokens := map[pipeline.Role]string{}
	for _, role := range []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleTranslator} {
		u, err := db.CreateUser(t.Context(), pipeline.NewUser{Name: "u-" + string(role), Role: role, Password: "mat-khau-dai-du", Languages: []string{"blt"}})
		if err != nil {
			t.Fatal(err)
		}
		if tokens[role], err = db.CreateToken(t.Context(), u.ID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	s := &api.Server{Catalog: db, BodyTimeout: 10 * time.Minute, Log: slog.New(slog.DiscardHandler),
		Ingester: &pipeline.Ingester{MaxBytes: 4096 << 20, MaxSubtitleBytes: 2 << 20},
		Jobs:     &translation.Desk{MaxSubtitleBytes: 2 << 20, MaxVoiceoverBytes: 1 << 30}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	cases := []struct {
		route   string
		role    pipeline.Role
		length  int64
		want    int
		message string // in the 413's error
	}{
		{"POST /api/segments", pipeline.RoleAdmin, 5368709120, http.StatusRequestEntityTooLarge, "over the 4096 MiB limit of an upload"},
		{"POST /api/segments", pipeline.RoleAdmin, 99999999999, http.StatusRequestEntityTooLarge, "LOA_MAX_UPLOAD_MB"},
		{"POST /api/communes/import", pipeline.RoleAdmin, 9 << 20, http.StatusRequestEntityTooLarge, "over the 8192 KiB limit of a commune registry"},
		{"POST /api/jobs/j1/submit", pipeline.RoleTranslator, 2 << 30, http.StatusRequestEntityTooLarge, "over the 1024 MiB limit of a submission"},
		// Within the limit the body is waited for: the test's short
		// read deadline passes with no answer.
		{"POST /api/communes/import", pipeline.RoleAdmin, 1 << 20, 0, ""},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %d", tc.route, tc.length), func(t *testing.T) {
			method, path, _ := strings.Cut(tc.route, " ")
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: loa\r\nAuthorization: Bearer %s\r\nContent-Type: text/csv\r\nContent-Length: %d\r\n\r\n", method, path, tokens[tc.role], tc.length)
			wait := time.Minute // far below the 10-minute body deadline
			if tc.want == 0 {
				wait = 300 * time.Millisecond
			}
			conn.SetReadDeadline(time.Now().Add(wait))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("a body within the limit was answered %d before it was sent", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("no answer to a body announcing %d bytes: %v", tc.length, err)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = json.Unmarshal(data, &e)
			if resp.StatusCode != tc.want || e.Error.Code != "too_large" || !strings.Contains(e.Error.Message, tc.message) {
				t.Fatalf("%d %s, want %d too_large saying %q", resp.StatusCode, data, tc.want, tc.message)
			}
			if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("the connection stayed open after the 413: %v", err)
			}
		})
	}
}

// TestThrottleLogReadable: the warning of a throttled token check gives
// retry_after as a duration a person reads ("9.5s"), not nanoseconds,
// in the JSON log an operator collects.
func TestThrottleLogReadable(t *testing.T) {
	db := sqlstoretest.New(t)
	logs := &lockedBuffer{}
	auth := throttle.New(throttle.Budget{}, throttle.Budget{})
	frozen := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	auth.Now = func() time.Time { return frozen }
	s := &api.Server{Catalog: db, Auth: auth, Log: slog.New(slog.NewJSONHandler(logs, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	for i := range throttle.DefaultAddress.Burst + 1 {
		req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
		req.Header.Set("Authorization", fmt.Sprintf("Bearer loa_guess%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := http.StatusUnauthorized; i == throttle.DefaultAddress.Burst {
			if resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("guess %d: %d, want 429", i+1, resp.StatusCode)
			}
		} else if resp.StatusCode != want {
			t.Fatalf("guess %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	for l := range strings.Lines(logs.String()) {
		if !strings.Contains(l, "token check throttled") {
			continue
		}
		var entry struct {
			RetryAfter any `json:"retry_after"`
		}
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Fatal(err)
		}
		if s, ok := entry.RetryAfter.(string); !ok || s != (10*time.Second).String() {
			t.Fatalf("retry_after is %#v, want %q (frozen clock: one token back in 10 s)", entry.RetryAfter, (10 * time.Second).String())
		}
		return
	}
	t.Fatalf("no throttled warning logged:\n%s", logs.String())
}
