package api_test

import (
	"net"
	"net/http"
	"testing"

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
}

// BenchmarkListener304 is a device's conditional poll of an unchanged
// playlist on the playlist listener, against the peer's bare answer.
func BenchmarkListener304(b *testing.B) { benchListener(b, true) }

// BenchmarkListenerFull is a full GET of a cached playlist on the
// playlist listener, against the peer's bare answer.
func BenchmarkListenerFull(b *testing.B) { benchListener(b, false) }
