// Package throttle limits failed sign-ins per (client address, account
// name) and per client address, and failed token checks per client
// address (token buckets from golang.org/x/time/rate), so guessing
// passwords is slow and cannot load the server with bcrypt work, while
// failures with made-up names do not lock out a right password for long.
// The client address is the connection's, or behind a trusted proxy the
// one the proxy forwarded ([Proxies]).
package throttle

import (
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

// Defaults: one account name from one address may fail 10 sign-ins at
// once, then one per 30 s; one address may fail 60 sign-ins (whatever the
// names) at once, then one per 5 s, and 20 token checks at once, then one
// per 10 s.
var (
	DefaultAccount       = Budget{Every: 30 * time.Second, Burst: 10}
	DefaultAddress       = Budget{Every: 10 * time.Second, Burst: 20}
	DefaultSignInAddress = Budget{Every: 5 * time.Second, Burst: 60}
)

// Guard keeps the failure budgets. The zero value is not usable; make one
// with [New]. It is safe for concurrent use.
type Guard struct {
	// account is keyed by (address, account name); signInAddr and
	// address by address, for sign-ins and token checks.
	account, signInAddr, address *buckets
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Proxies are the trusted proxies whose X-Forwarded-For names the
	// client ([Guard.ClientAddr]); none by default.
	Proxies Proxies

	signIns, tokens atomic.Int64
}

// New makes a Guard with the given budgets (zero fields take the
// defaults): account for one account name's sign-in failures from one
// address, address for one address's token-check failures. One address's
// sign-in failures, whatever the names, have [DefaultSignInAddress]
// unless signInAddress is given.
func New(account, address Budget, signInAddress ...Budget) *Guard {
	if account.Every <= 0 || account.Burst <= 0 {
		account = DefaultAccount
	}
	if address.Every <= 0 || address.Burst <= 0 {
		address = DefaultAddress
	}
	sa := DefaultSignInAddress
	if len(signInAddress) > 0 && signInAddress[0].Every > 0 && signInAddress[0].Burst > 0 {
		sa = signInAddress[0]
	}
	return &Guard{account: newBuckets(account), signInAddr: newBuckets(sa), address: newBuckets(address)}
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
	if account != "" {
		wait = max(g.signInAddr.wait(addr, now), g.account.wait(pairKey(addr, account), now))
	} else {
		wait = g.address.wait(addr, now)
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

// Failed spends one failure: with an account name (a sign-in), from the
// budgets of that name at addr and of addr's sign-ins; without (a token
// check), from addr's token budget.
func (g *Guard) Failed(account, addr string) {
	now := g.now()
	if account != "" {
		g.signInAddr.spend(addr, now)
		g.account.spend(pairKey(addr, account), now)
		return
	}
	g.address.spend(addr, now)
}

// pairKey is the key of one account name from one address. The address
// holds no NUL, so the pair is unambiguous.
func pairKey(addr, account string) string { return addr + "\x00" + account }

// Throttled returns how many attempts of kind were refused so far.
func (g *Guard) Throttled(kind Kind) int64 {
	if kind == SignIn {
		return g.signIns.Load()
	}
	return g.tokens.Load()
}

// ClientAddr is the address r comes from, by g's trusted proxies (see
// [Proxies.ClientAddr]).
func (g *Guard) ClientAddr(r *http.Request) string { return g.Proxies.ClientAddr(r) }

// ClientAddrOf is ClientAddr of a request from remote with the
// X-Forwarded-For values forwarded (see [Proxies.ClientAddrOf]).
func (g *Guard) ClientAddrOf(remote string, forwarded []string) string {
	return g.Proxies.ClientAddrOf(remote, forwarded)
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
