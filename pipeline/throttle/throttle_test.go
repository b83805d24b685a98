package throttle

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestBudgets spends failures on a clock the test moves: an account or an
// address over its burst is refused with the wait until one attempt is
// back, others are not, and the budget refills with time.
func TestBudgets(t *testing.T) {
	now := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	g := New(Budget{Every: 30 * time.Second, Burst: 3}, Budget{Every: 10 * time.Second, Burst: 5})
	g.Now = func() time.Time { return now }
	type step struct {
		name          string
		fail          bool   // spend a failure before checking
		account, addr string // of the attempt
		advance       time.Duration
		ok            bool
		wait          time.Duration // when refused
	}
	steps := []step{
		{name: "fresh", account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 1 failure", fail: true, account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 2", fail: true, account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 3: the account's burst is spent", fail: true, account: "a", addr: "1.1.1.1", ok: false, wait: 30 * time.Second},
		{name: "same account, other address", account: "a", addr: "2.2.2.2", ok: false, wait: 30 * time.Second},
		{name: "other account, same address", account: "b", addr: "1.1.1.1", ok: true},
		{name: "other account spends the address's last two", fail: true, account: "b", addr: "1.1.1.1", ok: true},
		{name: "the address's burst is spent", fail: true, account: "c", addr: "1.1.1.1", ok: false, wait: 10 * time.Second},
		{name: "10 s later the address has one back", advance: 10 * time.Second, account: "c", addr: "1.1.1.1", ok: true},
		{name: "the account still waits", account: "a", addr: "3.3.3.3", ok: false, wait: 20 * time.Second},
		{name: "30 s after its last failure the account has one back", advance: 20 * time.Second, account: "a", addr: "3.3.3.3", ok: true},
		{name: "a token check has no account", account: "", addr: "4.4.4.4", ok: true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.fail {
			g.Failed(s.account, s.addr)
		}
		wait, ok := g.Check(SignIn, s.account, s.addr)
		if ok != s.ok || (!ok && (wait <= s.wait-time.Second || wait > s.wait)) {
			t.Fatalf("%s: ok=%v wait=%v, want ok=%v wait≈%v", s.name, ok, wait, s.ok, s.wait)
		}
	}
	if n := g.Throttled(SignIn); n != 4 {
		t.Errorf("%d sign-ins counted as throttled, want 4", n)
	}
}

// TestSweepForgetsRefilled keeps memory bounded: keys whose budget has
// refilled are dropped.
func TestSweepForgetsRefilled(t *testing.T) {
	now := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	g := New(Budget{Every: time.Second, Burst: 2}, Budget{Every: time.Second, Burst: 2})
	g.Now = func() time.Time { return now }
	for i := range 1000 {
		g.Failed("", "10.0.0."+string(rune('0'+i%10))+string(rune('a'+i/10%26))+string(rune('A'+i/260)))
	}
	now = now.Add(time.Minute)
	g.Failed("", "192.0.2.1")
	if n := len(g.address.m); n != 1 {
		t.Fatalf("%d address limiters kept after all refilled, want 1", n)
	}
}

func TestClientAddr(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8::1]:4242"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	if got := ClientAddr(r); got != "2001:db8::1" {
		t.Fatalf("ClientAddr = %q, want the connection's host, not a forwarded header", got)
	}
}
