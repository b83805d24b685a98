package api_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// downCatalog is the real catalog whose segment reads fail the way they do
// while PostgreSQL restarts: with the error pgx really returns for a server
// that refuses connections. (make test-scale stops the real server.)
type downCatalog struct {
	*sqlstore.DB
	err error
}

func (c downCatalog) Segment(ctx context.Context, id string) (pipeline.Segment, error) {
	return pipeline.Segment{}, fmt.Errorf("segment %s: %w", id, c.err)
}

func (c downCatalog) UserByToken(ctx context.Context, token string) (pipeline.User, error) {
	if token == "down" {
		return pipeline.User{}, fmt.Errorf("token: %w", c.err)
	}
	return c.DB.UserByToken(ctx, token)
}

// TestUnreachableDatabaseIs503: a request that fails because the database
// cannot be reached is answered 503 with Retry-After and a message to try
// again, not 500; without the classifier it stays 500, and a refusal
// (an unknown segment) keeps its own status.
func TestUnreachableDatabaseIs503(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := sqlstore.Open(context.Background(), "postgres://loa@"+addr+"/loa?sslmode=disable&connect_timeout=5")
	if refused == nil {
		t.Fatal("a database on a closed port opened")
	}
	store := objectstest.NewMemory(t)
	b := setupOn(t, store, nil)
	b.api.Catalog = downCatalog{DB: b.db, err: refused}

	tests := []struct {
		name        string
		unreachable func(error) bool
		token, path string
		want        int
	}{
		{"a handler's read", sqlstore.Unreachable, b.tokens[pipeline.RoleAdmin], "/api/segments/any", http.StatusServiceUnavailable},
		{"the token's check", sqlstore.Unreachable, "down", "/api/communes", http.StatusServiceUnavailable},
		{"no classifier", nil, b.tokens[pipeline.RoleAdmin], "/api/segments/any", http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.api.Unreachable = tt.unreachable
			resp, body := b.do(t, "GET", tt.path, tt.token, nil, "")
			if resp.StatusCode != tt.want {
				t.Fatalf("%s: %d %s, want %d", tt.path, resp.StatusCode, body, tt.want)
			}
			if tt.want == http.StatusServiceUnavailable {
				if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "Try again") || !strings.Contains(string(body), `"unavailable"`) {
					t.Errorf("503 without Retry-After or a message to try again: %q %s", resp.Header.Get("Retry-After"), body)
				}
			}
		})
	}
	// A refusal stays what it is.
	b.api.Catalog, b.api.Unreachable = b.db, sqlstore.Unreachable
	if resp, body := b.do(t, "GET", "/api/segments/no-such", b.tokens[pipeline.RoleAdmin], nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown segment: %d %s", resp.StatusCode, body)
	}
}

// TestOversizedJSONIs413: a JSON body past its 1 MiB cap is refused 413
// naming the cap, not 422 "not the expected JSON".
func TestOversizedJSONIs413(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t), nil)
	body := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	resp, data := b.do(t, "POST", "/api/users", b.tokens[pipeline.RoleAdmin], strings.NewReader(body), "application/json")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), "1024 KiB") {
		t.Fatalf("a 2 MiB JSON body: %d %s, want 413 naming the cap", resp.StatusCode, data)
	}
}
