package api_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// benchListener answers the operator's playlist of the set-up's day
// through the playlist listener's handler (route match, gate, scope,
// cache) on a prepared fasthttp.RequestCtx, without a network: once as
// a conditional poll of an unchanged playlist (304), once as a full GET.
// Its sub-benchmark "peer" answers the same request with a handler that
// only writes the cached answer (status, headers, the same body bytes)
// with none of Loa's checks: the floor fasthttp allows, in the same run.
// The "-conn" sub-benchmarks serve the request from its bytes on a
// kept-alive connection through the listener's fasthttp server (its
// options: reading and parsing the request, writing the answer), one
// request per read as a polling device sends them.
func benchListener(b *testing.B, conditional bool) {
	sb := setupSchedulesB(b, broadcasttest.Monday)
	pl, err := sb.api.PlaylistListener()
	if err != nil {
		b.Fatal(err)
	}
	h := pl.Handler()
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI("/api/communes/muong-lan/clusters/trung-tam/playlists/" + sb.today + ".m3u8")
	req.Header.Set("Host", "loa")
	req.Header.Set("Authorization", "Bearer "+sb.tokens[pipeline.RoleOperator])
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	h(&ctx)
	if ctx.Response.StatusCode() != http.StatusOK {
		b.Fatalf("first GET: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	tag := string(ctx.Response.Header.Peek("ETag"))
	ctype := string(ctx.Response.Header.ContentType())
	cc := string(ctx.Response.Header.Peek("Cache-Control"))
	vary := string(ctx.Response.Header.Peek("Vary"))
	body := append([]byte(nil), ctx.Response.Body()...)
	want := http.StatusOK
	if conditional {
		ctx.Request.Header.Set("If-None-Match", tag) // Init copied req
		want = http.StatusNotModified
	}
	peer := func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("ETag", tag)
		ctx.Response.Header.Set("Cache-Control", cc)
		ctx.Response.Header.Set("Vary", vary)
		if conditional {
			ctx.SetStatusCode(http.StatusNotModified)
			return
		}
		ctx.Response.Header.Set("Content-Type", ctype)
		ctx.SetStatusCode(http.StatusOK)
		ctx.Response.SetBodyRaw(body)
	}
	for _, c := range []struct {
		name string
		h    fasthttp.RequestHandler
	}{{"loa", h}, {"peer", peer}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx.Response.Reset()
				c.h(&ctx)
				if ctx.Response.StatusCode() != want {
					b.Fatalf("got %d, want %d", ctx.Response.StatusCode(), want)
				}
			}
		})
	}
	var raw bytes.Buffer
	if _, err := ctx.Request.WriteTo(&raw); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    fasthttp.RequestHandler
	}{{"loa-conn", nil}, {"peer-conn", peer}} {
		// One request first: its answer, whose length every answer has
		// (the Date header's value changes, not its length).
		one := &replayConn{req: raw.Bytes(), left: 1}
		if err := pl.ServeConnWith(c.h, one); err != nil {
			b.Fatal(err)
		}
		var resp fasthttp.Response
		if err := resp.Read(bufio.NewReader(bytes.NewReader(one.out))); err != nil || resp.StatusCode() != want {
			b.Fatalf("%s: got %d (%v), want %d\n%s", c.name, resp.StatusCode(), err, want, one.out)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			conn := &replayConn{req: raw.Bytes(), left: b.N, discard: true}
			b.ResetTimer()
			if err := pl.ServeConnWith(c.h, conn); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if conn.written != b.N*len(one.out) {
				b.Fatalf("%d requests: %d bytes answered, want %d answers of %d", b.N, conn.written, b.N, len(one.out))
			}
		})
	}
}

// replayConn is a kept-alive connection that sends the same request left
// times, one per read, then ends. It keeps what is written to it unless
// discard, and counts its bytes.
type replayConn struct {
	req     []byte
	left    int
	discard bool
	out     []byte
	written int
}

func (c *replayConn) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	c.left--
	return copy(p, c.req), nil
}

func (c *replayConn) Write(p []byte) (int, error) {
	if !c.discard {
		c.out = append(c.out, p...)
	}
	c.written += len(p)
	return len(p), nil
}

func (c *replayConn) Close() error { return nil }
func (c *replayConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8081}
}
func (c *replayConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkListener304 is a device's conditional poll of an unchanged
// playlist on the playlist listener, against the peer's bare answer.
func BenchmarkListener304(b *testing.B) { benchListener(b, true) }

// BenchmarkListenerFull is a full GET of a cached playlist on the
// playlist listener, against the peer's bare answer.
func BenchmarkListenerFull(b *testing.B) { benchListener(b, false) }
