package api

import (
	"net"

	"github.com/valyala/fasthttp"
)

// ServeConnWith serves one connection as the playlist listener's server
// does, answering with h (nil: the listener's own handler), for the
// benchmarks that measure a request from its bytes to the answer's.
func (p *PlaylistListener) ServeConnWith(h fasthttp.RequestHandler, c net.Conn) error {
	if h == nil {
		h = p.handle
	}
	return p.server(h).ServeConn(&crlfConn{Conn: c})
}
