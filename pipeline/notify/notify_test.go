package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/notify/notifytest"
)

var msg = Message{
	To:      Recipient{UserID: 7, Name: "lo-van-a", Role: "translator", Languages: []string{"blt"}, Email: "lo.van.a@sonla.example"},
	Kind:    KindNewJob,
	JobID:   "j1",
	Subject: "Việc mới: Một cửa liên thông",
	Body:    "Một việc dịch mới.\n.dòng bắt đầu bằng dấu chấm\nHết.",
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []Message
	fail := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer s3cret" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad headers", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if fail {
			fail = false
			http.Error(w, "try later", http.StatusBadGateway)
			return
		}
		var m Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		got = append(got, m)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Secret: "s3cret"}
	ctx := context.Background()
	if err := w.Send(ctx, msg); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("first send: %v, want the 502 reported", err)
	}
	if err := w.Send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Subject != msg.Subject || got[0].To.Email != msg.To.Email {
		t.Fatalf("received %+v", got)
	}
	if err := (&Webhook{URL: "http://127.0.0.1:1/none"}).Send(ctx, msg); err == nil || errors.Is(err, ErrMaybeSent) {
		t.Fatalf("unreachable webhook: %v, want an error to retry", err)
	}
	// A receiver that reads the message and hangs up without an answer
	// may have taken it.
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	defer hangUp.Close()
	if err := (&Webhook{URL: hangUp.URL}).Send(ctx, msg); !errors.Is(err, ErrMaybeSent) {
		t.Fatalf("webhook that hung up after the message: %v, want ErrMaybeSent", err)
	}
}

func TestSMTP(t *testing.T) {
	t.Parallel()
	srv := notifytest.Start(t, &notifytest.SMTPServer{})
	s := &SMTP{Addr: srv.Addr(), From: "loa@sonla.example"}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("the server took %d messages, want 1", len(mails))
	}
	m := mails[0]
	if !strings.HasPrefix(m.From, "<loa@sonla.example>") || m.To != "<lo.van.a@sonla.example>" {
		t.Fatalf("envelope %q -> %q", m.From, m.To)
	}
	if !strings.Contains(m.Data, "\r\n..") {
		t.Errorf("the line that starts with a dot is not dot-stuffed:\n%s", m.Data)
	}
	// Undo the dot-stuffing and read the mail as a mail reader would.
	parsed, err := mail.ReadMessage(strings.NewReader(strings.ReplaceAll(m.Data, "\r\n..", "\r\n.")))
	if err != nil {
		t.Fatalf("the mail does not parse: %v\n%s", err, m.Data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("subject %q (%v), want %q", subject, err, msg.Subject)
	}
	if ct := parsed.Header.Get("Content-Type"); !strings.EqualFold(ct, "text/plain; charset=utf-8") {
		t.Errorf("content type %q", ct)
	}
	body := io.Reader(parsed.Body)
	if parsed.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if got := strings.ReplaceAll(string(text), "\r\n", "\n"); err != nil || strings.TrimSpace(got) != msg.Body {
		t.Errorf("body %q (%v), want %q", got, err, msg.Body)
	}
	noMail := msg
	noMail.To.Email = ""
	if err := s.Send(context.Background(), noMail); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("no address: %v", err)
	}
	hostile := msg
	hostile.To.Email = "a@b\r\nRCPT TO:<x@y>"
	if err := s.Send(context.Background(), hostile); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("header injection: %v", err)
	}
}

// TestSMTPCancelLeavesNothing sends to a server that accepts the
// connection and never says a word: cancelling the context returns Send
// at once, closes the connection, and leaves no goroutine behind. Not
// parallel, so the goroutine count is this test's.
func TestSMTPCancelLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	s := &SMTP{Addr: ln.Addr().String(), From: "loa@sonla.example", Timeout: time.Minute}
	sent := make(chan error, 1)
	go func() { sent <- s.Send(ctx, msg) }()
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("Send did not connect")
	}
	defer conn.Close()
	cancel()
	select {
	case err := <-sent:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send did not return after its context was cancelled")
	}
	// The client closed its end: the server reads EOF, not a timeout.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 64)); !errors.Is(err, io.EOF) {
		t.Fatalf("the connection is still open after cancel: %v", err)
	}
	// Nothing of the send is left running (the listener's goroutine has
	// ended too; allow the runtime a moment to retire goroutines).
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before-1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before-1 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left after the send, %d before:\n%s", n, before-1, buf[:runtime.Stack(buf, true)])
	}
}

func TestSMTPFailureIsReported(t *testing.T) {
	t.Parallel()
	srv := notifytest.Start(t, &notifytest.SMTPServer{Refuse: true})
	s := &SMTP{Addr: srv.Addr(), From: "loa@sonla.example"}
	if err := s.Send(context.Background(), msg); err == nil || errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "451") {
		t.Fatalf("refused recipient: %v, want the 451 reported for a retry", err)
	}
}

// TestSMTPTakenOrMaybe: a message the server took is sent, even when the
// connection fails right after (RSET refused), so it is not sent again;
// a message whose end went to the server without an answer may have been
// taken: ErrMaybeSent, not an error to retry.
func TestSMTPTakenOrMaybe(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name              string
		hangUp, rsetFails bool
		want              error
	}{
		{name: "RSET refused after the message was taken", rsetFails: true},
		{name: "no answer to the message's end", hangUp: true, want: ErrMaybeSent},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := notifytest.Start(t, &notifytest.SMTPServer{HangUp: func(string) bool { return c.hangUp }, RSETFails: c.rsetFails})
			s := &SMTP{Addr: srv.Addr(), From: "loa@sonla.example", Timeout: 5 * time.Second}
			err := s.Send(context.Background(), msg)
			if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("Send: %v, want %v", err, c.want)
			}
			if n := len(srv.Mails()); n != 1 {
				t.Fatalf("the server got %d messages, want 1", n)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	if _, ok := Digest(msg.To, nil, time.Now()); ok {
		t.Fatal("digest with nothing to say")
	}
	m, ok := Digest(msg.To, []string{"open blt subtitle: x", "yours: y"}, time.Date(2025, 3, 1, 7, 0, 0, 0, time.UTC))
	if !ok || m.Kind != KindDigest || !strings.Contains(m.Subject, "2 item") || !strings.Contains(m.Body, "2025-03-01") || !strings.Contains(m.Body, "  - yours: y") {
		t.Fatalf("digest %+v", m)
	}
}
