// Package throttle limits failed sign-ins and token checks per account and
// per client address (token buckets from golang.org/x/time/rate), so
// guessing passwords is slow and cannot load the server with bcrypt work.
package throttle

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Budget is a token bucket: Burst failures at once, refilled at one per
// Every.
type Budget struct {
	Every time.Duration
	Burst int
}

// Defaults: an account may fail 10 sign-ins at once, then one per 30 s; an
// address 20 sign-ins or token checks at once, then one per 10 s.
var (
	DefaultAccount = Budget{Every: 30 * time.Second, Burst: 10}
	DefaultAddress = Budget{Every: 10 * time.Second, Burst: 20}
)

// Guard keeps the failure budgets. The zero value is not usable; make one
// with [New]. It is safe for concurrent use.
type Guard struct {
	account, address *buckets
	// Now is the clock; tests replace it.
	Now func() time.Time

	signIns, tokens atomic.Int64
}

// New makes a Guard with the given budgets (zero fields take the
// defaults).
func New(account, address Budget) *Guard {
	if account.Every <= 0 || account.Burst <= 0 {
		account = DefaultAccount
	}
	if address.Every <= 0 || address.Burst <= 0 {
		address = DefaultAddress
	}
	return &Guard{account: newBuckets(account), address: newBuckets(address)}
}

func (g *Guard) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Kind says what was throttled, for logs and metrics.
type Kind string

// The kinds of attempt throttled.
const (
	SignIn Kind = "sign_in"
	Token  Kind = "token"
)

// Check reports whether an attempt of this kind by account (may be empty)
// from addr may go ahead; when not, it returns how long to wait and
// counts the refusal. It uses no budget: only [Guard.Failed] does.
func (g *Guard) Check(kind Kind, account, addr string) (wait time.Duration, ok bool) {
	now := g.now()
	wait = g.address.wait("addr:"+addr, now)
	if account != "" {
		wait = max(wait, g.account.wait("acct:"+account, now))
	}
	if wait <= 0 {
		return 0, true
	}
	switch kind {
	case SignIn:
		g.signIns.Add(1)
	case Token:
		g.tokens.Add(1)
	}
	return wait, false
}

// Failed spends one failure from the account's (when not empty) and the
// address's budgets.
func (g *Guard) Failed(account, addr string) {
	now := g.now()
	g.address.spend("addr:"+addr, now)
	if account != "" {
		g.account.spend("acct:"+account, now)
	}
}

// Throttled returns how many attempts of kind were refused so far.
func (g *Guard) Throttled(kind Kind) int64 {
	if kind == SignIn {
		return g.signIns.Load()
	}
	return g.tokens.Load()
}

// ClientAddr is the address a request comes from: the host of
// RemoteAddr. Forwarded headers are not trusted (they are the client's
// to write).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// buckets holds one limiter per key, forgetting full ones.
type buckets struct {
	b  Budget
	mu sync.Mutex
	m  map[string]*rate.Limiter
	// swept is when idle limiters were last dropped.
	swept time.Time
}

func newBuckets(b Budget) *buckets {
	return &buckets{b: b, m: map[string]*rate.Limiter{}}
}

func (b *buckets) wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.m[key]
	if !ok || l.TokensAt(now) >= 1 {
		return 0
	}
	// Time until one whole token is back.
	missing := 1 - l.TokensAt(now)
	return time.Duration(missing * float64(b.b.Every))
}

func (b *buckets) spend(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(now)
	l, ok := b.m[key]
	if !ok {
		l = rate.NewLimiter(rate.Every(b.b.Every), b.b.Burst)
		b.m[key] = l
	}
	l.AllowN(now, 1)
}

// sweep drops limiters that have refilled completely, at most once per
// refill period, so memory stays bounded by the keys seen recently.
func (b *buckets) sweep(now time.Time) {
	if now.Sub(b.swept) < b.b.Every {
		return
	}
	b.swept = now
	for k, l := range b.m {
		if l.TokensAt(now) >= float64(b.b.Burst) {
			delete(b.m, k)
		}
	}
}
