package api

import (
	"bytes"
	"net"
	"strings"
)

// fasthttp reads a request's line and headers only once they end with
// CRLF CRLF: a request whose lines end with a bare LF waits for bytes
// that never come, until the read timeout answers 408. net/http (the main
// address) takes a bare LF as a line end, as RFC 9112 section 2.2 lets a
// recipient do, and hand-written controller clients send one. So the
// playlist listener's connections put a CR before each bare LF of a
// request's line and headers before fasthttp reads them; it then reads
// the request as the main address does.
//
// Only heads are rewritten, never a body: a head with a body-framing
// header (Content-Length or Transfer-Encoding, whatever its value) turns
// the rewriting off for the rest of the connection, so its body — which
// the listener refuses, closing the connection — and anything after it
// pass as they came. A head without one has no body (RFC 9112 section
// 6.3), so the next byte starts the next request, as both servers read it.

// crlfListener is a listener whose connections are crlfConns.
type crlfListener struct{ net.Listener }

func (l crlfListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &crlfConn{Conn: c}, nil
}

// crlfConn is a connection whose requests' heads are read with CRLF line
// ends. Read by one goroutine at a time, as fasthttp does.
type crlfConn struct {
	net.Conn
	head    headScan
	pending []byte // rewritten bytes not yet read
	err     error  // the read error to give once pending is read
	buf     []byte // what pending points into
	bare    []int  // positions of the bare LFs in the last read
}

func (c *crlfConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.Conn.Read(p)
	if n == 0 || c.head.bodies {
		return n, err
	}
	c.bare = c.head.scan(p[:n], c.bare[:0])
	if len(c.bare) == 0 {
		return n, err // a CRLF request: as it came, no copy
	}
	out, prev := c.buf[:0], 0
	for _, at := range c.bare {
		out = append(out, p[prev:at]...)
		out = append(out, '\r')
		prev = at
	}
	out = append(out, p[prev:n]...)
	c.buf = out
	m := copy(p, out)
	c.pending, c.err = out[m:], err
	return m, nil
}

// framingNames are the header names that announce a body (the longest
// last).
var framingNames = [...]string{"content-length", "transfer-encoding"}

// nameBytes is how much of a line's start is kept to find a framing
// header's name in it.
const nameBytes = len("transfer-encoding")

// headScan follows a connection's bytes through its requests' heads.
type headScan struct {
	// bodies is set once a head announced a body: nothing more is
	// rewritten on the connection.
	bodies bool
	// framing is set when the head being read has a framing header.
	framing bool
	// line is how many bytes the current line has so far; lastCR
	// whether the last of them is a CR.
	line   int
	lastCR bool
	// name is the current line's first bytes.
	name  [nameBytes]byte
	named int
}

// scan follows b, the connection's next bytes, and appends to bare the
// position in b of each LF that ends a head's line without a CR before
// it. After a head with a framing header it stops (bodies is set).
func (h *headScan) scan(b []byte, bare []int) []int {
	i := 0
	for i < len(b) && !h.bodies {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			h.feed(b[i:])
			break
		}
		h.feed(b[i : i+j])
		if !h.lastCR {
			bare = append(bare, i+j)
		}
		h.endLine()
		i += j + 1
	}
	return bare
}

// feed adds b, part of the current line (no LF), to it.
func (h *headScan) feed(b []byte) {
	if len(b) == 0 {
		return
	}
	if h.named < nameBytes {
		h.named += copy(h.name[h.named:], b)
	}
	h.line += len(b)
	h.lastCR = b[len(b)-1] == '\r'
}

// endLine ends the current line at its LF. An empty line ends the head
// (or, before a request line, is one fasthttp skips).
func (h *headScan) endLine() {
	empty := h.line == 0 || h.line == 1 && h.lastCR
	if empty {
		h.bodies = h.framing
		h.framing = false
	} else if c := h.name[0] | 0x20; h.named >= len(framingNames[0]) && (c == 'c' || c == 't') {
		for _, n := range framingNames {
			if h.named >= len(n) && strings.EqualFold(string(h.name[:len(n)]), n) {
				h.framing = true
			}
		}
	}
	h.line, h.lastCR, h.named = 0, false, 0
}
