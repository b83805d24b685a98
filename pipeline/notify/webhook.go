package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// Webhook posts each message as JSON to one URL, for a bridge to a chat
// group or an SMS gateway that knows how to reach people.
type Webhook struct {
	URL string
	// Secret, when set, is sent as a bearer token.
	Secret string
	Client *http.Client
}

// Name returns "webhook".
func (w *Webhook) Name() string { return "webhook" }

// Send posts m; any answer but 2xx is an error, so the queue retries. A
// request sent whole that got no answer (the connection lost, the
// client's timeout) wraps ErrMaybeSent: the receiver may have taken it.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("webhook: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "loa-notify")
	if w.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+w.Secret)
	}
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	// A request written whole whose answer never came may have been
	// taken: that is ErrMaybeSent, not an error to retry.
	var wrote atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	}))
	resp, err := c.Do(req)
	if err != nil {
		if wrote.Load() {
			return fmt.Errorf("webhook: %w: %v", ErrMaybeSent, err)
		}
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: %s answered %s", w.URL, resp.Status)
	}
	return nil
}
