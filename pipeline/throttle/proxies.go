package throttle

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is a set of trusted proxies (load balancers, TLS terminators)
// by address or CIDR prefix. The zero value trusts none: every client is
// the connection's peer. Make one with [ParseProxies].
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads a comma-separated list of IP addresses and CIDR
// prefixes ("10.0.0.0/8, 192.0.2.7, fd00::/8"); empty trusts none. An
// entry that is neither is an error naming it.
func ParseProxies(s string) (Proxies, error) {
	var p Proxies
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			pf, err := netip.ParsePrefix(f)
			if err != nil {
				return Proxies{}, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix (such as 10.0.0.0/8): %v", f, err)
			}
			if pf.Addr().Is4In6() {
				if pf.Bits() < 96 {
					return Proxies{}, fmt.Errorf("trusted proxy %q: an IPv4-mapped prefix needs at least /96", f)
				}
				pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
			}
			p.prefixes = append(p.prefixes, pf.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxy %q is not an address or a CIDR prefix (such as 10.0.0.0/8): %v", f, err)
		}
		a = a.Unmap().WithZone("")
		p.prefixes = append(p.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

// String is the list as ParseProxies reads it.
func (p Proxies) String() string {
	s := make([]string, len(p.prefixes))
	for i, pf := range p.prefixes {
		if pf.IsSingleIP() {
			s[i] = pf.Addr().String()
		} else {
			s[i] = pf.String()
		}
	}
	return strings.Join(s, ",")
}

// Trusts reports whether a is one of the trusted proxies.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, pf := range p.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address r comes from. It is the connection's peer
// (the host of RemoteAddr) unless the peer is a trusted proxy: then it is
// the right-most X-Forwarded-For entry (over every such header, in order)
// that is not itself a trusted proxy, or the left-most when all are. The
// entries left of it are the client's own claims and are never used. A
// header from a trusted proxy that is missing, or malformed in the part
// read (an entry that is not an IP address), gives the peer's address.
func (p Proxies) ClientAddr(r *http.Request) string {
	return p.ClientAddrOf(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// ClientAddrOf is ClientAddr of a request that came from remote (the
// connection's peer, "host:port" or a bare address) with the
// X-Forwarded-For header values forwarded (every such header, in order):
// the same rule for a listener that has no *http.Request.
func (p Proxies) ClientAddrOf(remote string, forwarded []string) string {
	peer, ok := peerAddr(remote)
	if !ok {
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			return remote
		}
		return host
	}
	if len(p.prefixes) == 0 || !p.Trusts(peer) {
		return peer.String()
	}
	if a, ok := p.forwarded(forwarded); ok {
		return a.String()
	}
	return peer.String()
}

// forwarded walks the X-Forwarded-For values from the right; ok is false
// when they hold no entry or an entry read is not an address.
func (p Proxies) forwarded(values []string) (netip.Addr, bool) {
	var last netip.Addr
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var f string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				f, v = v[j+1:], v[:j]
			} else {
				f, v = v, ""
			}
			a, ok := forwardedEntry(strings.TrimSpace(f))
			if !ok {
				return netip.Addr{}, false
			}
			if !p.Trusts(a) {
				return a, true
			}
			last = a
		}
	}
	return last, last.IsValid()
}

// forwardedEntry reads one X-Forwarded-For entry: an IP address, or one
// with a port ("192.0.2.1:5000", "[2001:db8::1]:5000"), as some proxies
// write.
func forwardedEntry(f string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(f); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(f); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// peerAddr is the IP address of a RemoteAddr ("host:port").
func peerAddr(remote string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}
