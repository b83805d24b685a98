package api

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// chunkConn is a connection whose reads return its data in chunks of the
// given sizes (cycled), to split requests anywhere.
type chunkConn struct {
	net.Conn
	data  []byte
	sizes []int
	n     int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := len(c.data)
	if len(c.sizes) > 0 {
		k = min(k, max(1, c.sizes[c.n%len(c.sizes)]))
		c.n++
	}
	k = copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// readCRLF is what a crlfConn over in gives, read in chunks of sizes
// into buffers of bufSize.
func readCRLF(t testing.TB, in []byte, sizes []int, bufSize int) []byte {
	t.Helper()
	c := &crlfConn{Conn: &chunkConn{data: in, sizes: sizes}}
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("a read of nothing without an error")
		}
	}
}

// TestCRLFConn: a request's line and headers reach fasthttp with CRLF
// line ends however its client ended them and however the reads split
// them; a body, and everything after a head that announces one, is left
// as it came.
func TestCRLFConn(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"CRLF as it is", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"mixed", "GET / HTTP/1.1\r\nHost: a\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"two requests", "GET /1 HTTP/1.1\nHost: a\n\nGET /2 HTTP/1.1\nHost: a\n\n", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"a bare CR stays", "GET / HTTP/1.1\nX: a\rb\n\n", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"},
		{"body after Content-Length untouched", "GET / HTTP/1.1\nContent-Length: 4\n\na\nb\nGET / HTTP/1.1\n\n", "GET / HTTP/1.1\r\nContent-Length: 4\r\n\r\na\nb\nGET / HTTP/1.1\n\n"},
		{"chunked body untouched", "GET / HTTP/1.1\ntransfer-ENCODING: chunked\n\n1\nx\n0\n\n", "GET / HTTP/1.1\r\ntransfer-ENCODING: chunked\r\n\r\n1\nx\n0\n\n"},
		{"Content-Length 0 counts as framing", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\n\n", "GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\nGET / HTTP/1.1\n\n"},
		{"a folded line is no header name", "GET / HTTP/1.1\nX: a\n Content-Length: 4\n\nGET / HTTP/1.1\n\n", "GET / HTTP/1.1\r\nX: a\r\n Content-Length: 4\r\n\r\nGET / HTTP/1.1\r\n\r\n"},
		{"blank lines before the request", "\n\r\nGET / HTTP/1.1\n\n", "\r\n\r\nGET / HTTP/1.1\r\n\r\n"},
	} {
		for _, split := range [][]int{nil, {1}, {2, 3}, {7}} {
			for _, bufSize := range []int{1, 3, 4096} {
				if got := readCRLF(t, []byte(tc.in), split, bufSize); string(got) != tc.want {
					t.Errorf("%s, reads of %v into %d bytes: %q, want %q", tc.name, split, bufSize, got, tc.want)
				}
			}
		}
	}
}

// FuzzCRLFConn: whatever a client sends and however it is split, the
// connection only adds CRs, each before an LF that had none; the result
// does not depend on the split or the reader's buffer; and nothing is
// added once a head has announced a body.
func FuzzCRLFConn(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\nHost: a\n\n"), []byte{1, 5}, uint16(3))
	f.Add([]byte("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\na\nbGET / HTTP/1.1\n\n"), []byte{2}, uint16(4096))
	f.Add([]byte("\r\n\nX\r\r\n\n\r"), []byte{}, uint16(1))
	f.Fuzz(func(t *testing.T, in, sizes []byte, bufSize uint16) {
		var split []int
		for _, s := range sizes {
			split = append(split, int(s))
		}
		whole := readCRLF(t, in, nil, 1<<16)
		if got := readCRLF(t, in, split, max(1, int(bufSize)%8192)); !bytes.Equal(got, whole) {
			t.Fatalf("split %v, buffer %d: %q; in one read: %q", split, bufSize, got, whole)
		}
		// Taking out each CR added before an LF gives the input back.
		var back []byte
		i, j := 0, 0
		for i < len(whole) {
			if whole[i] == '\r' && i+1 < len(whole) && whole[i+1] == '\n' && (j >= len(in) || in[j] != '\r') {
				i++ // an added CR
				continue
			}
			if j >= len(in) || whole[i] != in[j] {
				t.Fatalf("byte %d of the output %q is not the input's %q", i, whole, in)
			}
			back = append(back, whole[i])
			i, j = i+1, j+1
		}
		if !bytes.Equal(back, in) {
			t.Fatalf("the output %q without its added CRs is %q, not the input %q", whole, back, in)
		}
		// Up to the end of a head with a framing header every LF has its
		// CR; after it the bytes are the input's.
		var h headScan
		for k := range in {
			h.scan(in[k:k+1], nil)
			if h.bodies {
				tail := in[k+1:]
				if !bytes.HasSuffix(whole, tail) {
					t.Fatalf("the bytes after a head announcing a body changed: %q, input %q", whole, in)
				}
				return
			}
		}
		for k := range whole {
			if whole[k] == '\n' && (k == 0 || whole[k-1] != '\r') {
				t.Fatalf("a bare LF at %d in %q", k, whole)
			}
		}
	})
}

// BenchmarkCRLFScan is what the playlist listener's connections add to
// a CRLF poll (a request line, Host, a bearer token, If-None-Match): one
// scan of its bytes, nothing copied.
func BenchmarkCRLFScan(b *testing.B) {
	poll := []byte("GET /api/communes/muong-lan/clusters/trung-tam/playlists/2025-03-03.m3u8 HTTP/1.1\r\nHost: loa.example.vn\r\n" +
		"Authorization: Bearer loa_0123456789abcdef0123456789abcdef0123456789ab\r\nIf-None-Match: W/\"2c0ff6d04f211dbe38ed9eeb11b7dbb0\"\r\n\r\n")
	var h headScan
	var bare []int
	b.SetBytes(int64(len(poll)))
	for b.Loop() {
		if bare = h.scan(poll, bare[:0]); len(bare) != 0 {
			b.Fatal("a CRLF poll rewritten")
		}
	}
}
