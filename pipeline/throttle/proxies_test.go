package throttle

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// TestClientAddr: the peer is the client unless it is a trusted proxy;
// then the right-most forwarded entry that is not a trusted proxy is,
// and a malformed header gives the peer.
func TestClientAddr(t *testing.T) {
	trusted, err := ParseProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8:1::/48, ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		proxies Proxies
		remote  string
		xff     []string // X-Forwarded-For headers, in order
		want    string
	}{
		{"no proxies: the peer", Proxies{}, "203.0.113.9:4242", nil, "203.0.113.9"},
		{"no proxies: a forwarded header is ignored", Proxies{}, "203.0.113.9:4242", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer spoofing: ignored", trusted, "203.0.113.9:4242", []string{"10.1.2.3, 198.51.100.1"}, "203.0.113.9"},
		{"trusted peer: the forwarded client", trusted, "10.0.0.5:4242", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted peer, single trusted address", trusted, "192.0.2.7:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"the client's own claim on the left is not used", trusted, "10.0.0.5:4242", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies: right-most untrusted", trusted, "10.0.0.5:4242", []string{"1.2.3.4, 198.51.100.1, 10.9.9.9, 192.0.2.7"}, "198.51.100.1"},
		{"chain over several headers", trusted, "10.0.0.5:4242", []string{"1.2.3.4, 198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"all trusted: the left-most", trusted, "10.0.0.5:4242", []string{"10.2.2.2, 10.3.3.3"}, "10.2.2.2"},
		{"trusted peer without the header: the peer", trusted, "10.0.0.5:4242", nil, "10.0.0.5"},
		{"empty header: the peer", trusted, "10.0.0.5:4242", []string{""}, "10.0.0.5"},
		{"garbage: the peer", trusted, "10.0.0.5:4242", []string{"not-an-ip"}, "10.0.0.5"},
		{"garbage right of the client: the peer", trusted, "10.0.0.5:4242", []string{"198.51.100.1, <script>"}, "10.0.0.5"},
		{"empty entry: the peer", trusted, "10.0.0.5:4242", []string{"198.51.100.1,,"}, "10.0.0.5"},
		{"garbage left of the client (its own claim): the client", trusted, "10.0.0.5:4242", []string{"garbage, 198.51.100.1"}, "198.51.100.1"},
		{"entry with a port", trusted, "10.0.0.5:4242", []string{"198.51.100.1:5000"}, "198.51.100.1"},
		{"IPv6 peer untrusted", trusted, "[2001:db8:2::1]:4242", []string{"198.51.100.1"}, "2001:db8:2::1"},
		{"IPv6 peer trusted, IPv6 client", trusted, "[2001:db8:1::9]:4242", []string{"2001:db8:3::77"}, "2001:db8:3::77"},
		{"IPv6 client with a port", trusted, "[::1]:4242", []string{"[2001:db8:3::77]:5000"}, "2001:db8:3::77"},
		{"IPv4-mapped peer is the IPv4 proxy", trusted, "[::ffff:10.0.0.5]:4242", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped client is written as IPv4", trusted, "10.0.0.5:4242", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"zone dropped", trusted, "10.0.0.5:4242", []string{"fe80::1%eth0"}, "fe80::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tt.proxies.ClientAddr(r); got != tt.want {
				t.Fatalf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestParseProxies reads addresses and prefixes and refuses others by
// name.
func TestParseProxies(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"", "", ""},
		{" , ", "", ""},
		{"10.0.0.0/8", "10.0.0.0/8", ""},
		{"10.1.2.3/8, 192.0.2.7", "10.0.0.0/8,192.0.2.7", ""},
		{"2001:db8::/32,::1", "2001:db8::/32,::1", ""},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", ""},
		{"::ffff:0.0.0.0/90", "", "at least /96"},
		{"lb.example.vn", "", `"lb.example.vn" is not an address`},
		{"10.0.0.0/33", "", `"10.0.0.0/33"`},
		{"10.0.0.1:80", "", `"10.0.0.1:80"`},
	}
	for _, tt := range tests {
		p, err := ParseProxies(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseProxies(%q): err %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || p.String() != tt.want {
			t.Errorf("ParseProxies(%q) = %q, %v; want %q", tt.in, p.String(), err, tt.want)
		}
	}
}

// FuzzClientAddr: whatever a trusted proxy forwards, the client address
// is an IP address, the peer's or one written in the header, and never
// a trusted proxy's unless every entry read was one.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.2.3.4, 198.51.100.1, 10.9.9.9", "", ",,", "garbage", "[2001:db8::1]:80", "::ffff:1.2.3.4", "fe80::1%eth0", "10.0.0.1, 10.0.0.2"} {
		f.Add(s)
	}
	trusted, err := ParseProxies("10.0.0.0/8, 2001:db8:1::/48")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.5:4242"
		r.Header["X-Forwarded-For"] = []string{xff}
		got := trusted.ClientAddr(r)
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("ClientAddr = %q: not an address", got)
		}
		if got != "10.0.0.5" {
			found := false
			for f := range strings.SplitSeq(xff, ",") {
				if e, ok := forwardedEntry(strings.TrimSpace(f)); ok && e == a {
					found = true
				}
			}
			if !found {
				t.Fatalf("ClientAddr = %q, from neither the peer nor the header %q", got, xff)
			}
		}
		if a.Is4In6() || a.Zone() != "" {
			t.Fatalf("ClientAddr = %q: not in canonical form", got)
		}
		if trusted.Trusts(a) && got != "10.0.0.5" {
			// Only when every entry is a trusted proxy.
			for f := range strings.SplitSeq(xff, ",") {
				if e, ok := forwardedEntry(strings.TrimSpace(f)); ok && !trusted.Trusts(e) {
					t.Fatalf("ClientAddr = %q, a trusted proxy, though the header %q holds %v", got, xff, e)
				}
			}
		}
	})
}
