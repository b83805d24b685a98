package api_test

import (
	"context"
	"fmt"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/schedules"
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

// TestOversizedBodiesAre413: every body with a cap of its own (play
// reports, heartbeats, the registry, a glossary) is refused past it with
// 413 naming the cap, as JSON bodies are, not 422; to a caller that may
// send it (a heartbeat's is a device's: anyone else is refused before
// the body is read, TestHeartbeatRefusesBeforeReading).
func TestOversizedBodiesAre413(t *testing.T) {
	sb := setupSchedules(t)
	jb, _, _ := jobsSetup(t) // the glossary is the translators' desk's
	_, device, err := sb.db.CreateDevice(context.Background(), "muong-lan", "loa-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		b            *bundle
		method, path string
		role         pipeline.Role
		token        string // instead of the role's
		limit        int
		contentType  string
	}{
		{sb.bundle, "POST", "/api/communes/muong-lan/plays", pipeline.RoleOperator, "", schedules.MaxPlayReportBytes, "application/json"},
		{sb.bundle, "POST", "/api/communes/muong-lan/heartbeat", pipeline.RoleOperator, device, schedules.MaxHeartbeatBytes, "application/json"},
		{sb.bundle, "POST", "/api/communes/import?name=communes.yaml", pipeline.RoleAdmin, "", 8 << 20, "application/yaml"},
		{jb, "PUT", "/api/glossary/blt", pipeline.RoleAdmin, "", translation.MaxGlossaryBytes, "text/csv"},
	} {
		body := strings.Repeat(" ", tc.limit+1)
		token := tc.b.tokens[tc.role]
		if tc.token != "" {
			token = tc.token
		}
		resp, data := tc.b.do(t, tc.method, tc.path, token, strings.NewReader(body), tc.contentType)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(data), fmt.Sprintf("%d KiB", tc.limit>>10)) {
			t.Errorf("%s %s, %d bytes: %d %.200s, want 413 naming the cap", tc.method, tc.path, tc.limit+1, resp.StatusCode, strings.Join(strings.Fields(string(data)), " "))
		}
	}
}
