package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// module is Loa's module path; layer rules name packages relative to it.
const module = "github.com/sonla-cchc/loa"

// layerRule forbids packages matched by From (except those matched by
// Except) from depending, directly or through other packages, on any
// package matched by Forbidden. A pattern is a package path relative to
// the module ("pipeline" is the root package only) or a tree ending in
// "/..." ("media/objects/..." is media/objects and its subpackages; "..."
// is every package of the module).
type layerRule struct {
	Name      string
	From      []string
	Except    []string
	Forbidden []string
}

// layerRules are the import rules of README's package table: storage and
// HTTP at the edges, the domain in the middle.
//
// The device side (pipeline/pull and pipeline/player) decodes the API's
// wire types from pipeline/wire, never from the server.
var layerRules = []layerRule{
	{
		Name: "the database is an edge: only the store itself, the worker, cmd (which wires it) and broadcasttest " +
			"(a test fixture on a real store) import pipeline/sqlstore; the HTTP layer and broadcast speak domain types",
		From:      []string{"..."},
		Except:    []string{"cmd/...", "pipeline/sqlstore/...", "pipeline/worker/...", "pipeline/broadcast/broadcasttest"},
		Forbidden: []string{"pipeline/sqlstore/..."},
	},
	{
		Name: "the object store stays at the edges: only the store packages themselves, the worker, the HTTP layer, " +
			"the broadcast service (it presigns links) and cmd reach media/objects",
		From: []string{"..."},
		Except: []string{"cmd/...", "pipeline/sqlstore/...", "media/objects/...", "pipeline/worker/...",
			"pipeline/api/...", "pipeline/web/...", "pipeline/broadcast/..."},
		Forbidden: []string{"media/objects/..."},
	},
	{
		Name:      "the HTTP layer does not build queue jobs: pipeline/api and pipeline/web do not import pipeline/worker",
		From:      []string{"pipeline/api/...", "pipeline/web/..."},
		Forbidden: []string{"pipeline/worker/..."},
	},
	{
		Name:      "the root package stays about the domain: pipeline does not import media (ffmpeg is an edge)",
		From:      []string{"pipeline"},
		Forbidden: []string{"media"},
	},
	{
		Name:      "the HTTP layer is an edge: nothing but cmd and the pages imports pipeline/api or pipeline/web (clients decode pipeline/wire)",
		From:      []string{"..."},
		Except:    []string{"cmd/...", "pipeline/api/...", "pipeline/web/..."},
		Forbidden: []string{"pipeline/api/...", "pipeline/web/..."},
	},
	{
		Name: "the queue is wired in cmd: nothing else imports pipeline/worker; the parts that ask for work " +
			"(ingest, broadcast's rebuilds, translation's renditions) name small interfaces that worker.Queue meets",
		From:      []string{"..."},
		Except:    []string{"cmd/...", "pipeline/worker/..."},
		Forbidden: []string{"pipeline/worker/..."},
	},
	{
		Name: "the domain is pure: reports, bulletins, translation jobs, schedules, subtitle checks and the time zone " +
			"are computed from rows and values they are given, never read from the store, the queue, the object store " +
			"or the HTTP layer (report.Build reads through report.Source; sqlstore only gives rows)",
		From: []string{"pipeline", "pipeline/report/...", "pipeline/bulletin/...", "pipeline/translation/...",
			"pipeline/localtime/...", "schedules/...", "media/subtitle/..."},
		Forbidden: []string{"pipeline/sqlstore/...", "pipeline/worker/...", "media/objects/...", "pipeline/api/...",
			"pipeline/web/...", "pipeline/broadcast/..."},
	},
	{
		Name:      "the API does not import the pages built on it",
		From:      []string{"pipeline/api/..."},
		Forbidden: []string{"pipeline/web/..."},
	},
}

// goPackage is the part of `go list -json` a layer rule reads.
type goPackage struct {
	ImportPath string
	Deps       []string
}

// matches says whether the module package path p (full import path) is
// matched by pattern.
func matches(pattern, p string) bool {
	rel, ok := strings.CutPrefix(p, module)
	if !ok || (rel != "" && rel[0] != '/') {
		return false
	}
	rel = strings.TrimPrefix(rel, "/")
	if pattern == "..." {
		return true
	}
	if tree, ok := strings.CutSuffix(pattern, "/..."); ok {
		return rel == tree || strings.HasPrefix(rel, tree+"/")
	}
	return rel == pattern
}

func matchesAny(patterns []string, p string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return matches(pat, p) })
}

// layerViolations lists every dependency that breaks a rule, as
// "rule: from -> dependency".
func layerViolations(pkgs []goPackage, rules []layerRule) []string {
	var out []string
	for _, r := range rules {
		for _, p := range pkgs {
			if !matchesAny(r.From, p.ImportPath) || matchesAny(r.Except, p.ImportPath) {
				continue
			}
			for _, d := range p.Deps {
				if matchesAny(r.Forbidden, d) {
					out = append(out, fmt.Sprintf("%s: %s -> %s", r.Name, p.ImportPath, d))
				}
			}
		}
	}
	return out
}

// listPackages runs `go list -deps -json` over the module and keeps the
// module's own packages (test files are not part of the graph).
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json", module+"/...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("go list cannot run here: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(stdout)
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("read go list output: %v", err)
		}
		if matches("...", p.ImportPath) {
			pkgs = append(pkgs, p)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list -deps -json %s/...: %v\n%s", module, err, stderr.String())
	}
	return pkgs
}

// TestLayerRules: the module's import graph keeps storage, the queue and
// HTTP at the edges (layerRules). A failure names the rule and the
// offending dependency.
func TestLayerRules(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	if !slices.ContainsFunc(pkgs, func(p goPackage) bool { return p.ImportPath == module+"/pipeline/sqlstore" }) {
		t.Fatalf("go list found %d packages and not pipeline/sqlstore: the rules would check nothing", len(pkgs))
	}
	for _, v := range layerViolations(pkgs, layerRules) {
		t.Error(v)
	}
}

// TestLayerViolations: the checker itself finds a forbidden dependency,
// direct or indirect, honours Except and does not confuse a package with
// one that shares its name's prefix.
func TestLayerViolations(t *testing.T) {
	t.Parallel()
	m := func(rel string) string { return module + "/" + rel }
	tests := []struct {
		name string
		pkgs []goPackage
		want int
	}{
		{"pipeline reaching media/objects through a helper", []goPackage{
			{ImportPath: m("pipeline/translation"), Deps: []string{m("pipeline/helper"), m("media/objects"), "fmt"}},
		}, 2}, // an edge, and the domain's purity
		{"web importing the worker", []goPackage{{ImportPath: m("pipeline/web"), Deps: []string{m("pipeline/worker")}}}, 2},
		{"broadcast importing the worker", []goPackage{{ImportPath: m("pipeline/broadcast"), Deps: []string{m("pipeline/worker")}}}, 1},
		{"cmd wiring the worker", []goPackage{{ImportPath: m("cmd/loa"), Deps: []string{m("pipeline/worker"), m("pipeline/sqlstore")}}}, 0},
		{"reports reading the store", []goPackage{{ImportPath: m("pipeline/report"), Deps: []string{m("pipeline/sqlstore")}}}, 2},
		{"translation queueing its own renditions", []goPackage{{ImportPath: m("pipeline/translation"), Deps: []string{m("pipeline/worker")}}}, 2},
		{"the domain reaching broadcast", []goPackage{{ImportPath: m("schedules"), Deps: []string{m("pipeline/broadcast")}}}, 1},
		{"root pipeline importing media", []goPackage{{ImportPath: m("pipeline"), Deps: []string{m("media"), m("media/subtitle")}}}, 1},
		{"pipeline importing media/subtitle only", []goPackage{{ImportPath: m("pipeline"), Deps: []string{m("media/subtitle")}}}, 0},
		{"the worker may use storage", []goPackage{{ImportPath: m("pipeline/worker"), Deps: []string{m("pipeline/sqlstore")}}}, 0},
		{"a name sharing a prefix is another package", []goPackage{{ImportPath: m("schedules"), Deps: []string{m("media/objectsx")}}}, 0},
		{"a domain package importing the HTTP API", []goPackage{{ImportPath: m("pipeline/report"), Deps: []string{m("pipeline/api")}}}, 2},
		{"the HTTP layer importing the database", []goPackage{{ImportPath: m("pipeline/api"), Deps: []string{m("pipeline/sqlstore")}}}, 1},
		{"broadcast importing the database", []goPackage{{ImportPath: m("pipeline/broadcast"), Deps: []string{m("pipeline/sqlstore"), m("media/objects")}}}, 1},
		{"the broadcast test fixture on a real store", []goPackage{{ImportPath: m("pipeline/broadcast/broadcasttest"), Deps: []string{m("pipeline/sqlstore")}}}, 0},
		{"the device side importing the server", []goPackage{{ImportPath: m("pipeline/pull"), Deps: []string{m("pipeline/api"), m("pipeline/sqlstore")}}}, 2},
		{"the device side decoding wire types", []goPackage{{ImportPath: m("pipeline/player"), Deps: []string{m("pipeline/wire"), m("pipeline/pull")}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layerViolations(tt.pkgs, layerRules); len(got) != tt.want {
				t.Errorf("violations = %q, want %d", got, tt.want)
			}
		})
	}
}
