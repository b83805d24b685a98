package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// TestCommunesImportRemovals: 'loa communes import' of a registry that
// leaves out a cluster of a commune it lists exits 3 (refused input)
// naming the cluster and --allow-removals, and changes nothing; with
// --allow-removals it imports and lists the removed cluster.
func TestCommunesImportRemovals(t *testing.T) {
	f := producerCLI(t, "Bản tin")
	ctx := context.Background()
	tok := f.adminToken(t)
	demo, err := os.ReadFile("../../schedules/testdata/sonla-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const mong = "      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj, vi]}\n"
	i := bytes.Index(demo, []byte(mong))
	if i < 0 {
		t.Fatal("the demo registry changed: no Mông cluster line in Mường Lạn")
	}
	file := filepath.Join(t.TempDir(), "communes.yaml")
	if err := os.WriteFile(file, append(append([]byte{}, demo[:i]...), demo[i+len(mong):]...), 0o644); err != nil {
		t.Fatal(err)
	}
	clusters := func() int {
		t.Helper()
		reg, err := f.db.Registry(ctx, "muong-lan")
		if err != nil || len(reg.Communes) != 1 {
			t.Fatalf("registry: %v", err)
		}
		return len(reg.Communes[0].Clusters)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err []string
		clusters int
	}{
		{"refused", nil, 3, nil, []string{"muong-lan/ban-mong", "Nothing was imported", "--allow-removals"}, 2},
		{"allowed", []string{"--allow-removals"}, 0, []string{"imported 7 communes (0 new)", "removed 1 cluster the file no longer lists", "  muong-lan/ban-mong\n"}, nil, 1},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		args := append(append([]string{"communes", "import", file}, tc.args...), "--server", f.url, "--token", tok)
		code := run(ctx, env, args)
		if code != tc.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, stdout.String(), stderr.String())
		}
		for _, w := range tc.out {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%s: stdout %q lacks %q", tc.name, stdout.String(), w)
			}
		}
		for _, w := range tc.err {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%s: stderr %q lacks %q", tc.name, stderr.String(), w)
			}
		}
		if n := clusters(); n != tc.clusters {
			t.Errorf("%s: Mường Lạn has %d clusters, want %d", tc.name, n, tc.clusters)
		}
	}
}

// TestDemoKeepsImportedClusters: 'loa demo' on a database whose demo
// communes have a cluster the demo registry lacks (imported since)
// removes nothing and says so (exit 3), naming the cluster.
func TestDemoKeepsImportedClusters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "loa.db")
	db, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	reg, err := schedules.DemoRegistry()
	if err != nil {
		t.Fatal(err)
	}
	c := reg.Commune("muong-lan")
	c.Clusters = append(c.Clusters, schedules.Cluster{ID: "ban-moi", Languages: []schedules.Language{schedules.Vietnamese}})
	if _, err := db.ImportRegistry(ctx, reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(ctx, env, []string{"demo", "--db", path, "--server", "http://127.0.0.1:1"})
	if code != 3 || !strings.Contains(stderr.String(), "does not list clusters this database has now (muong-lan/ban-moi)") {
		t.Fatalf("exit %d, want 3 naming muong-lan/ban-moi\n%s%s", code, stdout.String(), stderr.String())
	}
	after, err := db.Registry(ctx, "muong-lan")
	if err != nil || len(after.Communes) != 1 || len(after.Communes[0].Clusters) != len(c.Clusters) {
		t.Fatalf("muong-lan after loa demo: %+v %v", after, err)
	}
}

// TestCommunesImportDryRun: 'loa communes import --dry-run FILE' checks
// the file with the server and says what importing it would change —
// communes new, clusters added, changed (languages, or the commune's
// slots they play in) and removed, and that removals need
// --allow-removals — and writes nothing (exit 0).
func TestCommunesImportDryRun(t *testing.T) {
	f := producerCLI(t, "Bản tin")
	ctx := context.Background()
	tok := f.adminToken(t)
	demo, err := os.ReadFile("../../schedules/testdata/sonla-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(t *testing.T, old, new string) []byte {
		t.Helper()
		if !bytes.Contains(demo, []byte(old)) {
			t.Fatalf("the demo registry changed: no %q", old)
		}
		return bytes.Replace(demo, []byte(old), []byte(new), 1)
	}
	const mong = "      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj, vi]}\n"
	const leo = "      - {id: trung-tam, name: Loa trung tâm xã, languages: [blt, vi]}\n"
	tests := []struct {
		name string
		file func(t *testing.T) []byte
		args []string
		says []string
		not  []string
	}{
		{"the same file", func(*testing.T) []byte { return demo }, nil,
			[]string{"dry run, nothing was imported: the file has 7 communes (0 new)", "clusters added (0): none", "clusters changed (name, languages or slots) (0): none", "clusters removed (0): none"},
			[]string{"would be refused"}},
		{"a cluster left out", func(t *testing.T) []byte { return edit(t, mong, "") }, nil,
			[]string{"clusters removed (1): muong-lan/ban-mong", "would be refused as it is", "--allow-removals"}, nil},
		{"a cluster left out, removals allowed", func(t *testing.T) []byte { return edit(t, mong, "") }, []string{"--allow-removals"},
			[]string{"clusters removed (1): muong-lan/ban-mong"}, []string{"would be refused"}},
		{"languages changed, a cluster and a commune added", func(t *testing.T) []byte {
			b := edit(t, mong, "      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj]}\n      - {id: ban-moi, name: Bản mới, languages: [vi]}\n")
			return append(b, []byte("\n  - code: tan-yen\n    name: Tân Yên\n    kind: xa\n    slots:\n      - {days: Mon-Sat, start: \"05:30\", length: 30m}\n    clusters:\n"+leo)...)
		}, nil, []string{"8 communes (1 new)", "new communes (1): tan-yen", "clusters added (2): muong-lan/ban-moi, tan-yen/trung-tam",
			"clusters changed (name, languages or slots) (1): muong-lan/ban-mong", "clusters removed (0): none"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "communes.yaml")
			if err := os.WriteFile(file, tc.file(t), 0o644); err != nil {
				t.Fatal(err)
			}
			before, err := f.db.Registry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
			args := append(append([]string{"communes", "import", "--dry-run", file}, tc.args...), "--server", f.url, "--token", tok)
			if code := run(ctx, env, args); code != 0 {
				t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
			}
			for _, w := range tc.says {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tc.not {
				if strings.Contains(stdout.String(), w) {
					t.Errorf("stdout says %q:\n%s", w, stdout.String())
				}
			}
			after, err := f.db.Registry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("the dry run changed the registry:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}
