package throttle

import (
	"fmt"
	"testing"
	"time"
)

// TestBudgets spends failures on a clock the test moves: one name from
// one address over its burst is refused with the wait until one attempt
// is back; the same name from another address, and other names from the
// same address, are not until the address's looser sign-in cap is spent;
// token checks have their own per-address budget; budgets refill.
func TestBudgets(t *testing.T) {
	now := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	g := New(Budget{Every: 30 * time.Second, Burst: 3}, Budget{Every: 10 * time.Second, Burst: 2}, Budget{Every: 5 * time.Second, Burst: 5})
	g.Now = func() time.Time { return now }
	type step struct {
		name          string
		fail          bool   // spend a failure before checking
		account, addr string // of the attempt ("" account: a token check)
		advance       time.Duration
		ok            bool
		wait          time.Duration // when refused
	}
	steps := []step{
		{name: "fresh", account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 1 failure", fail: true, account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 2", fail: true, account: "a", addr: "1.1.1.1", ok: true},
		{name: "after 3: the name's burst from this address is spent", fail: true, account: "a", addr: "1.1.1.1", ok: false, wait: 30 * time.Second},
		{name: "same name, other address", account: "a", addr: "2.2.2.2", ok: true},
		{name: "other name, same address", account: "b", addr: "1.1.1.1", ok: true},
		{name: "a made-up name spends the address's 4th", fail: true, account: "x1", addr: "1.1.1.1", ok: true},
		{name: "another spends its 5th: the address's sign-in cap is spent", fail: true, account: "x2", addr: "1.1.1.1", ok: false, wait: 5 * time.Second},
		{name: "so a right password for b waits too, but only 5 s", account: "b", addr: "1.1.1.1", ok: false, wait: 5 * time.Second},
		{name: "token checks from that address are not affected", account: "", addr: "1.1.1.1", ok: true},
		{name: "5 s later b may try", advance: 5 * time.Second, account: "b", addr: "1.1.1.1", ok: true},
		{name: "a still waits from that address", account: "a", addr: "1.1.1.1", ok: false, wait: 25 * time.Second},
		{name: "30 s after its last failure a has one back", advance: 25 * time.Second, account: "a", addr: "1.1.1.1", ok: true},
		{name: "a token guess", fail: true, account: "", addr: "4.4.4.4", ok: true},
		{name: "a second spends the token budget", fail: true, account: "", addr: "4.4.4.4", ok: false, wait: 10 * time.Second},
		{name: "sign-ins from that address are not affected", account: "a", addr: "4.4.4.4", ok: true},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.fail {
			g.Failed(s.account, s.addr)
		}
		kind := SignIn
		if s.account == "" {
			kind = Token
		}
		wait, ok := g.Check(kind, s.account, s.addr)
		if ok != s.ok || (!ok && (wait <= s.wait-time.Second || wait > s.wait)) {
			t.Fatalf("%s: ok=%v wait=%v, want ok=%v wait≈%v", s.name, ok, wait, s.ok, s.wait)
		}
	}
	if n := g.Throttled(SignIn); n != 4 {
		t.Errorf("%d sign-ins counted as throttled, want 4", n)
	}
	if n := g.Throttled(Token); n != 1 {
		t.Errorf("%d token checks counted as throttled, want 1", n)
	}
}

// TestPasswordGuesserSlowed: with the default budgets, one address
// guessing one account's password gets DefaultAccount.Burst tries, then
// one per DefaultAccount.Every; guessing by spraying names gets
// DefaultSignInAddress.Burst, then one per DefaultSignInAddress.Every.
// Made-up names (fewer than the address cap) do not stop the right
// password.
func TestPasswordGuesserSlowed(t *testing.T) {
	now := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	g := New(Budget{}, Budget{})
	g.Now = func() time.Time { return now }
	const addr = "198.51.100.7"
	// The tester's case: 20 failures with made-up names, then the right
	// password of a real account.
	for i := range 20 {
		if _, ok := g.Check(SignIn, fmt.Sprintf("made-up-%d", i), addr); !ok {
			t.Fatalf("made-up name %d refused", i)
		}
		g.Failed(fmt.Sprintf("made-up-%d", i), addr)
	}
	if wait, ok := g.Check(SignIn, "dai-ptth", addr); !ok {
		t.Fatalf("right password after 20 made-up names: refused for %v", wait)
	}
	// One guesser over 10 minutes at full speed: how many tries pass.
	tries := 0
	for range 10 * 60 * 10 { // every 100 ms
		if _, ok := g.Check(SignIn, "dai-ptth", addr); ok {
			tries++
			g.Failed("dai-ptth", addr)
		}
		now = now.Add(100 * time.Millisecond)
	}
	want := DefaultAccount.Burst + int(10*time.Minute/DefaultAccount.Every)
	if tries > want+1 || tries < want-1 {
		t.Fatalf("a guesser of one password got %d tries in 10 min, want about %d", tries, want)
	}
	// Spraying names: the address's cap holds.
	tries = 0
	for i := range 10 * 60 * 10 {
		name := fmt.Sprintf("spray-%d", i)
		if _, ok := g.Check(SignIn, name, "203.0.113.5"); ok {
			tries++
			g.Failed(name, "203.0.113.5")
		}
		now = now.Add(100 * time.Millisecond)
	}
	want = DefaultSignInAddress.Burst + int(10*time.Minute/DefaultSignInAddress.Every)
	if tries > want+1 || tries < want-1 {
		t.Fatalf("a name sprayer got %d tries in 10 min, want about %d", tries, want)
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
