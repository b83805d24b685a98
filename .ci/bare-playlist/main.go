// Command bare-playlist is the bare net/http peer of .ci/bench-playlists:
// one ServeMux route of the playlist's pattern that answers a file's bytes
// with the headers Loa's playlist answer carries (ETag, Cache-Control,
// Vary, Content-Type, Content-Length) and Loa's If-None-Match rule (weak
// comparison, a list, "*"), under the server timeouts `loa serve` sets;
// and nothing else: no sign-in, scope, database, metrics or logging. The
// script runs wrk against it, nginx and Loa in one run, so the figures say
// how much of nginx net/http itself reaches on this machine and how much
// of that Loa keeps.
//
// It lives beside the script that builds it (go build
// .ci/bare-playlist/main.go): it is no command of Loa's, and the go tool
// leaves folders starting with a dot out of ./..., so neither `make build`
// nor `make test` builds it.
//
// Usage: bare-playlist -addr 127.0.0.1:PORT -file playlist.m3u8 -etag 'W/"…"'
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "address to listen on")
	file := flag.String("file", "", "the playlist to serve (read once)")
	etag := flag.String("etag", "", "the ETag to answer with, as Loa sent it")
	flag.Parse()
	body, err := os.ReadFile(*file)
	if err != nil || *etag == "" {
		log.Fatalf("bare-playlist: give -file (readable) and -etag: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/communes/{code}/clusters/{cluster}/playlists/{file}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", *etag)
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Vary", "Authorization")
		if ifNoneMatch(r, *etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "audio/x-mpegurl; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Fatal(srv.ListenAndServe())
}

// ifNoneMatch is Loa's rule: the request's If-None-Match names tag (weak
// comparison) or is "*".
func ifNoneMatch(r *http.Request, tag string) bool {
	h := r.Header.Get("If-None-Match")
	want := strings.TrimPrefix(tag, "W/")
	for h != "" {
		var t string
		t, h, _ = strings.Cut(h, ",")
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}
