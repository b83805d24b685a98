package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/web"
)

// TestSiteSplitsAPIAndPages: Site sends /api/ and what is under it,
// /healthz, /readyz and /metrics to the API and every other path to the
// pages, whose mux redirects an unclean path to its clean form (so a
// path that only looks like the API's, or climbs out of it, is not the
// API's to answer).
func TestSiteSplitsAPIAndPages(t *testing.T) {
	db := sqlstoretest.New(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Handler", "api")
		io.WriteString(w, r.URL.Path)
	})
	pages, err := web.New(web.Config{Store: db, API: api, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	site := pages.Site()
	for _, tc := range []struct {
		path     string
		api      bool
		location string // a redirect's target, when one is wanted
	}{
		{path: "/api/communes/muong-lan/clusters/trung-tam/playlists/2026-11-30.m3u8", api: true},
		{path: "/api/me", api: true},
		{path: "/api/", api: true},
		{path: "/healthz", api: true},
		{path: "/readyz", api: true},
		{path: "/metrics", api: true},
		{path: "/"},
		{path: "/sign-in"},
		{path: "/admin/users", location: "/sign-in?next=%2Fadmin%2Fusers"},
		{path: "/apiary"},
		{path: "/metrics/x"},
		{path: "/healthzz"},
		{path: "//api/me", location: "/api/me"},
		{path: "/x/../api/me", location: "/api/me"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://loa.test"+tc.path, nil)
			w := httptest.NewRecorder()
			site.ServeHTTP(w, r)
			if got := w.Header().Get("X-Handler") == "api"; got != tc.api {
				t.Errorf("GET %s went to the API: %v, want %v (status %d)", tc.path, got, tc.api, w.Code)
			}
			if tc.location != "" {
				if loc := w.Header().Get("Location"); w.Code/100 != 3 || loc != tc.location {
					t.Errorf("GET %s = %d to %q, want a redirect to %q", tc.path, w.Code, loc, tc.location)
				}
			}
		})
	}
}
