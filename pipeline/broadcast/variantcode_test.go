package broadcast_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestBuildLeavesOutAVariantCode: a registry stored by an older version
// may hold a code that differs from another commune's only by case or
// diacritics ("Muong-Lan", "mường-lan" beside "muong-lan"). Every build
// (nightly, a rebuild of every commune) then builds every other commune
// and reports the variants, each with its problem and what to do, instead
// of failing; an import of the registry file allowing removals takes the
// variants away and the next build leaves nothing out.
func TestBuildLeavesOutAVariantCode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	broadcasttest.AddReady(t, f.db, nil, f.producer, broadcasttest.Segment{Title: "Bản tin", Languages: []string{"vi"}})
	for _, code := range []string{"Muong-Lan", "mường-lan"} {
		for _, q := range []string{
			"INSERT INTO communes (code, name, kind, time_zone, position, updated_at) VALUES (?, 'Mường Lạn', 'xa', 'Asia/Ho_Chi_Minh', 100, ?)",
			"INSERT INTO clusters (commune_code, id, name, languages, position) VALUES (?, 'trung-tam', '', 'vi', 0)",
			"INSERT INTO slots (commune_code, cluster_id, days, start_s, length_s, reserved_s, position) VALUES (?, '', 126, 19800, 1800, 600, 0)",
		} {
			args := []any{code}
			if strings.Contains(q, "updated_at") {
				args = append(args, f.now)
			}
			if _, err := f.db.SQL().ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	builds := []struct {
		name string
		run  func() (broadcast.BuildResult, error)
	}{
		{"nightly", func() (broadcast.BuildResult, error) { return f.svc.Nightly(ctx, f.now) }},
		{"every commune", func() (broadcast.BuildResult, error) { return f.svc.Build(ctx, f.now.Add(time.Hour), nil, "emergency") }},
	}
	for _, b := range builds {
		res, err := b.run()
		if err != nil {
			t.Fatalf("%s build: %v", b.name, err)
		}
		if res.Communes != 7 {
			t.Errorf("%s build: built %d communes, want the demo's 7", b.name, res.Communes)
		}
		var codes []string
		for _, nb := range res.NotBuilt {
			codes = append(codes, nb.Commune)
			if !strings.Contains(nb.Problem, `"muong-lan" share the file name "muong-lan"`) {
				t.Errorf("%s build: %s left out for %q", b.name, nb.Commune, nb.Problem)
			}
		}
		if !slices.Equal(codes, []string{"Muong-Lan", "mường-lan"}) {
			t.Errorf("%s build: not built %q, want the two variants", b.name, codes)
		}
	}
	for code, tag := range f.heads(t) {
		if want := code != "Muong-Lan" && code != "mường-lan"; (tag != "") != want {
			t.Errorf("commune %s has ETag %q", code, tag)
		}
	}
	head, err := f.db.CommuneHead(ctx, "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Explain(ctx, head, nil); err != nil {
		t.Fatalf("explain muong-lan beside its variants: %v", err)
	}

	raw, err := os.ReadFile(broadcasttest.DemoRegistry)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := schedules.ParseRegistry("sonla-demo.yaml", strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Import(ctx, reg, schedules.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "Muong-Lan (muong-lan), mường-lan (muong-lan)") {
		t.Fatalf("import beside the variants: %v", err)
	}
	imp, err := f.svc.Import(ctx, reg, schedules.ImportOptions{AllowRemovals: true})
	if err != nil || len(imp.RemovedCommunes) != 2 {
		t.Fatalf("import allowing removals: %+v %v", imp, err)
	}
	res, err := f.svc.Build(ctx, f.now.Add(2*time.Hour), nil, "rebuild")
	if err != nil || len(res.NotBuilt) != 0 || res.Communes != 7 {
		t.Fatalf("build after the variants were removed: %+v %v", res, err)
	}
}

// TestBuildWithNoCommunes: a fresh server's start-up build, before any
// registry is imported, builds nothing and succeeds (the nightly lease is
// then done), where a registry that holds communes is checked.
func TestBuildWithNoCommunes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	for _, q := range []string{"DELETE FROM slots", "DELETE FROM clusters", "DELETE FROM communes"} {
		if _, err := f.db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.svc.Nightly(ctx, f.now)
	if err != nil || res.Communes != 0 || len(res.NotBuilt) != 0 {
		t.Fatalf("nightly build with no communes: %+v, %v; want nothing built and no error", res, err)
	}
}
