package notify

import (
	"context"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// SMTP sends messages as plain-text email to the recipient's address.
type SMTP struct {
	// Addr is host:port of the mail server.
	Addr string
	From string
	// Username and Password, when set, sign in with PLAIN auth (which
	// net/smtp only allows over TLS or to localhost).
	Username, Password string
}

// Name returns "smtp".
func (s *SMTP) Name() string { return "smtp" }

// Send mails m to m.To.Email. A recipient without an address gives
// ErrNoAddress.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to := strings.TrimSpace(m.To.Email)
	if to == "" {
		return ErrNoAddress
	}
	if strings.ContainsAny(to, "\r\n<>,") || !strings.Contains(to, "@") {
		return fmt.Errorf("smtp: address %q of %s: %w", to, m.To.Name, ErrNoAddress)
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %w", s.Addr, err)
	}
	var auth smtp.Auth
	if s.Username != "" {
		auth = smtp.PlainAuth("", s.Username, s.Password, host)
	}
	msg := s.compose(to, m)
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.Addr, auth, s.From, []string{to}, msg) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("smtp: send to %s: %w", to, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("smtp: send to %s: %w", to, ctx.Err())
	}
}

func (s *SMTP) compose(to string, m Message) []byte {
	clean := func(v string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(v) }
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", clean(s.From))
	fmt.Fprintf(&b, "To: %s\r\n", clean(to))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", clean(m.Subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	// net/smtp's DATA writer does the dot-stuffing.
	for _, l := range strings.Split(m.Body, "\n") {
		b.WriteString(strings.TrimRight(l, "\r") + "\r\n")
	}
	return []byte(b.String())
}
