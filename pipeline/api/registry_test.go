package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestImportCommunesRemovals: POST /api/communes/import of a registry
// that leaves out clusters of a commune it lists is refused (422, field
// allow_removals, the clusters named, how to allow it) and changes
// nothing; with allow_removals=1 it removes them and lists them in its
// answer; a bad allow_removals value is refused.
func TestImportCommunesRemovals(t *testing.T) {
	t.Parallel()
	demo, err := os.ReadFile(broadcasttest.DemoRegistry)
	if err != nil {
		t.Fatal(err)
	}
	// The demo registry without Mường Lạn's Mông cluster.
	const mong = "      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj, vi]}\n"
	i := strings.Index(string(demo), mong)
	if i < 0 {
		t.Fatal("the demo registry changed: no Mông cluster line in Mường Lạn")
	}
	cut := string(demo[:i]) + string(demo[i+len(mong):])
	tests := []struct {
		name, query string
		status      int
		// want are strings of the error message (refused) or the removed
		// clusters (accepted).
		want    []string
		removed bool
	}{
		{"refused", "", http.StatusUnprocessableEntity,
			[]string{"remove 1 cluster that its communes have now: muong-lan/ban-mong.", "Nothing was imported", "allow_removals=1", "--allow-removals"}, false},
		{"allow_removals=0", "&allow_removals=0", http.StatusUnprocessableEntity, []string{"muong-lan/ban-mong"}, false},
		{"bad value", "&allow_removals=yes", http.StatusUnprocessableEntity, []string{`allow_removals is 1`, `not "yes"`}, false},
		{"allowed", "&allow_removals=1", http.StatusOK, []string{"muong-lan/ban-mong"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := sqlstoretest.New(t)
			store := objectstest.NewMemory(t)
			svc := &broadcast.Service{Store: db, Objects: store, Log: slog.New(slog.DiscardHandler)}
			b := serve(t, db, store, &api.Server{Catalog: db, Objects: store, Broadcast: svc, Log: slog.New(slog.DiscardHandler)})
			admin := b.tokens[pipeline.RoleAdmin]
			_, before := b.do(t, "GET", "/api/communes/muong-lan", admin, nil, "")
			resp, data := b.do(t, "POST", "/api/communes/import?name=communes.yaml"+tc.query, admin, strings.NewReader(cut), "")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, data, tc.status)
			}
			_, after := b.do(t, "GET", "/api/communes/muong-lan", admin, nil, "")
			if !tc.removed {
				var e struct {
					Error struct{ Code, Message, Field, Key string }
				}
				if err := json.Unmarshal(data, &e); err != nil || e.Error.Code != string(pipeline.CodeInvalid) || e.Error.Field != "allow_removals" {
					t.Fatalf("%s: want an invalid allow_removals error", data)
				}
				for _, w := range tc.want {
					if !strings.Contains(e.Error.Message, w) {
						t.Errorf("message %q lacks %q", e.Error.Message, w)
					}
				}
				if string(after) != string(before) {
					t.Errorf("a refused import changed the commune:\nbefore %s\nafter  %s", before, after)
				}
				return
			}
			var res schedules.ImportResult
			if err := json.Unmarshal(data, &res); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Removed {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("removed %v, want %v", got, tc.want)
			}
			if strings.Contains(string(after), "ban-mong") {
				t.Errorf("the commune still has its Mông cluster: %s", after)
			}
		})
	}
}
