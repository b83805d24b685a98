package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTP sends messages as plain-text email to the recipient's address,
// with github.com/wneessen/go-mail: STARTTLS when the server offers it,
// and a context that ends the conversation: when ctx is cancelled the
// connection is closed, Send returns, and nothing is left running.
type SMTP struct {
	// Addr is host:port of the mail server.
	Addr string
	From string
	// Username and Password, when set, sign in with PLAIN auth (which
	// go-mail, like net/smtp, allows only over TLS or to localhost).
	Username, Password string
	// Timeout bounds each step of the conversation; 0 means 30 s.
	Timeout time.Duration
}

// Name returns "smtp".
func (s *SMTP) Name() string { return "smtp" }

// Send mails m to m.To.Email. A recipient without an address gives
// ErrNoAddress. An error wrapping ErrMaybeSent means the whole message
// went to the server but its answer was lost: it may have been taken, and
// sending again may deliver it twice. Any other error means the server
// did not take it: try again later. A message the server took is sent,
// whatever happens on the connection after (RSET, QUIT).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to := strings.TrimSpace(m.To.Email)
	if to == "" {
		return ErrNoAddress
	}
	if strings.ContainsAny(to, "\r\n<>,") || !strings.Contains(to, "@") {
		return fmt.Errorf("smtp: address %q of %s: %w", to, m.To.Name, ErrNoAddress)
	}
	msg := mail.NewMsg(mail.WithEncoding(mail.EncodingQP), mail.WithCharset(mail.CharsetUTF8))
	if err := msg.From(s.From); err != nil {
		return fmt.Errorf("smtp: sender %q: %w", s.From, err)
	}
	if err := msg.To(to); err != nil {
		return fmt.Errorf("smtp: address %q of %s: %w", to, m.To.Name, ErrNoAddress)
	}
	msg.Subject(strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject))
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, m.Body)

	c, err := s.client(ctx)
	if err != nil {
		return err
	}
	defer c.stop()
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("smtp: connect for %s: %w", to, ctx.Err())
		}
		return fmt.Errorf("smtp: connect for %s: %w", to, err)
	}
	err = c.SendWithSMTPClient(conn, msg)
	// QUIT; once the server has taken the message, nothing it says after
	// (to RSET or QUIT) undoes that.
	_ = c.CloseWithSMTPClient(conn)
	if msg.IsDelivered() {
		return nil
	}
	if err == nil {
		return fmt.Errorf("smtp: send to %s: the server did not take the message", to)
	}
	if se := (*mail.SendError)(nil); errors.As(err, &se) && se.Reason == mail.ErrSMTPDataClose {
		// The message's end was sent and the server's answer never came
		// (or was not 250): it may have queued the message.
		return fmt.Errorf("smtp: send to %s: %w: %v", to, ErrMaybeSent, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("smtp: send to %s: %w", to, ctx.Err())
	}
	return fmt.Errorf("smtp: send to %s: %w", to, err)
}

// ctxClient is a go-mail client whose connections close when ctx ends.
type ctxClient struct {
	*mail.Client
	mu    sync.Mutex
	stops []func() bool
}

// stop releases the context watches once the send is over.
func (c *ctxClient) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, stop := range c.stops {
		stop()
	}
}

// client makes a go-mail client for one send. go-mail takes the context
// for dialling only; the dialler below also closes the connection when
// ctx ends, so a server that stops answering mid-conversation cannot hold
// Send (or a goroutine) past the caller's cancel.
func (s *SMTP) client(ctx context.Context) (*ctxClient, error) {
	host, portText, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtp: address %q: %w", s.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, fmt.Errorf("smtp: address %q: the port is not a number", s.Addr)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	cc := &ctxClient{}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		cc.mu.Lock()
		cc.stops = append(cc.stops, context.AfterFunc(ctx, func() { conn.Close() }))
		cc.mu.Unlock()
		return conn, nil
	}
	opts := []mail.Option{
		mail.WithPort(port), mail.WithTimeout(timeout), mail.WithTLSPolicy(mail.TLSOpportunistic),
		mail.WithDialContextFunc(dial),
	}
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	if cc.Client, err = mail.NewClient(host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return cc, nil
}
