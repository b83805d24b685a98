// Package notifytest has a small SMTP server for tests of mailed notices:
// it takes messages over a real TCP connection, as a mail relay would, and
// can refuse recipients, lose the answer to a message's end or fail RSET.
package notifytest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one message the server took: the envelope as sent (From and
// To with their angle brackets) and the DATA lines, still dot-stuffed.
type Mail struct {
	From, To, Data string
}

// SMTPServer is the test server. Set its options before Start.
type SMTPServer struct {
	// Refuse answers 451 to every RCPT (a relay that says try later).
	Refuse bool
	// RSETFails answers RSET with 421 and closes.
	RSETFails bool
	// HangUp, when it returns true for a recipient (without brackets),
	// takes the whole message, then closes the connection without
	// answering its end: the sender cannot know it was taken.
	HangUp func(rcpt string) bool

	ln    net.Listener
	mu    sync.Mutex
	mails []Mail
}

// Start listens on a free loopback port until the test ends.
func Start(t testing.TB, s *SMTPServer) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

// Addr is the server's host:port.
func (s *SMTPServer) Addr() string { return s.ln.Addr().String() }

// Mails returns the messages taken so far, in order.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Taken is how many messages to rcpt (without brackets) were taken.
func (s *SMTPServer) Taken(rcpt string) int {
	n := 0
	for _, m := range s.Mails() {
		if strings.Trim(m.To, "<>") == rcpt {
			n++
		}
	}
	return n
}

func (s *SMTPServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	var m Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-test")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.From = strings.TrimSpace(line[10:])
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			if s.Refuse {
				say("451 try again later")
				continue
			}
			m.To = strings.TrimSpace(line[8:])
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			m.Data = b.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			if s.HangUp != nil && s.HangUp(strings.Trim(m.To, "<>")) {
				return
			}
			say("250 queued")
		case cmd == "RSET" && s.RSETFails:
			say("421 closing")
			return
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
