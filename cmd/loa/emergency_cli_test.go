package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

// TestEmergencyCLIMessages: 'loa segments emergency' without --yes raises
// nothing and exits 3 (refused input) saying to add --yes; a producer's
// province-wide emergency is pending, and 'loa segments show' says so
// (until when, the reason, how an admin confirms it); a too-long --until
// is refused with the cap written as "24h", not "24h0m0s".
func TestEmergencyCLIMessages(t *testing.T) {
	f := producerCLI(t, "Cháy rừng")
	db, store, clock, producer, seg, loa := f.db, f.store, f.clock, f.producer, f.seg, f.loa
	ctx := context.Background()

	code, _, errs := loa("segments", "emergency", seg, "--communes", "muong-lan", "--reason", "Cháy rừng")
	if code != 3 || !strings.Contains(errs, "Nothing was raised") || !strings.Contains(errs, "--yes") {
		t.Fatalf("without --yes: exit %d %s, want 3 saying nothing was raised and to add --yes", code, errs)
	}
	until := clock().Add(72 * time.Hour).Format(time.RFC3339)
	code, _, errs = loa("segments", "emergency", seg, "--communes", "muong-lan", "--reason", "Cháy rừng", "--yes", "--until", until)
	if code != 3 || !strings.Contains(errs, "at most 24h from now") || strings.Contains(errs, "0m0s") {
		t.Fatalf("a far --until: exit %d %s, want 3 naming the cap as 24h", code, errs)
	}
	if code, out, errs := loa("segments", "emergency", seg, "--province", "--reason", "Cháy rừng toàn tỉnh", "--yes"); code != 0 {
		t.Fatalf("province-wide request: exit %d %s %s", code, out, errs)
	}
	code, out, errs := loa("segments", "show", seg)
	if code != 0 || !strings.Contains(out, "PENDING") || !strings.Contains(out, "the whole province") || !strings.Contains(out, "Cháy rừng toàn tỉnh") || strings.Contains(out, "--confirm-request") || !strings.Contains(out, "--cancel-request --yes") {
		t.Fatalf("segments show: exit %d, want the pending emergency shown with the producer's way to withdraw it and no confirm command (an administrator's)\n%s%s", code, out, errs)
	}

	// An administrator confirms it: the answer names the communes it
	// reached, as the database records them.
	admin, err := db.CreateUser(ctx, pipeline.NewUser{Name: "quan-tri", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	adminTok, err := db.CreateToken(ctx, admin.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	asAdmin := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		code := run(ctx, env, append(args, "--server", f.url, "--token", adminTok))
		return code, stdout.String(), stderr.String()
	}
	confirm := func(seg string) string {
		t.Helper()
		code, out, errs := asAdmin("segments", "emergency", seg, "--confirm-request", "--yes")
		if code != 0 {
			t.Fatalf("--confirm-request --yes: exit %d %s", code, errs)
		}
		return out
	}
	// Without --yes, as every other emergency path: nothing is raised.
	code, out, errs = asAdmin("segments", "emergency", seg, "--confirm-request")
	if code != 3 || !strings.Contains(errs, "Nothing was raised") || !strings.Contains(errs, "--yes") || out != "" {
		t.Fatalf("--confirm-request without --yes: exit %d %q %q, want 3 saying nothing was raised and to add --yes", code, out, errs)
	}
	if code, out, errs := loa("segments", "show", seg); code != 0 || !strings.Contains(out, "PENDING") {
		t.Fatalf("after --confirm-request without --yes: exit %d, want the emergency still pending\n%s%s", code, out, errs)
	}
	if out := confirm(seg); !strings.Contains(out, "for the whole province") {
		t.Errorf("--confirm-request of a province-wide request says %q", out)
	}
	// A producer's request for more than half of the communes waits too;
	// confirmed, it names those communes, not the province.
	wide := broadcasttest.AddReady(t, db, store, producer, broadcasttest.Segment{Title: "Lũ quét", Languages: []string{"vi"}, AirFrom: clock().Add(-48 * time.Hour)})
	four := "muong-lan,to-hieu,phieng-khoai,suoi-to"
	if code, out, errs := loa("segments", "emergency", wide, "--communes", four, "--reason", "Lũ quét", "--yes"); code != 0 {
		t.Fatalf("a wide request: exit %d %s %s", code, out, errs)
	}
	// The list marks the request waiting, in text and JSON, and filters
	// on it.
	if code, out, errs := loa("segments", "list"); code != 0 || !regexp.MustCompile(`(?m)^`+wide+`\s.*emergency PENDING`).MatchString(out) ||
		strings.Count(out, "emergency PENDING") != 1 || !strings.Contains(out, "1 emergency request waiting") {
		t.Errorf("segments list: exit %d, want %s marked emergency PENDING (and only it)\n%s%s", code, wide, out, errs)
	}
	if code, out, errs := loa("segments", "list", "--pending-emergency", "--json"); code != 0 {
		t.Errorf("segments list --pending-emergency: exit %d %s%s", code, out, errs)
	} else {
		var segs []pipeline.Segment
		if err := json.Unmarshal([]byte(out), &segs); err != nil || len(segs) != 1 || segs[0].ID != wide || !segs[0].EmergencyRequested || !strings.Contains(out, `"emergency_requested": true`) {
			t.Errorf("segments list --pending-emergency --json: %v, want only %s with emergency_requested\n%s", err, wide, out)
		}
	}
	if out := confirm(wide); !strings.Contains(out, "for 4 communes (") || strings.Contains(out, "province") {
		t.Errorf("--confirm-request of a 4-commune request says %q, want the 4 communes", out)
	}
}

// cliFixture is an API server on SQLite and an in-memory store with the
// demo registry, a producer and one ready segment (seg); loa runs the CLI
// as that producer against it and returns its exit code, stdout and
// stderr.
type cliFixture struct {
	db       *sqlstore.DB
	store    *objectstest.Memory
	clock    func() time.Time
	producer pipeline.User
	seg      string
	url      string // the API server's
	tok      string // the producer's API token
	loa      func(args ...string) (int, string, string)
}

// producerCLI makes a cliFixture whose segment is titled title.
func producerCLI(t *testing.T, title string) *cliFixture {
	t.Helper()
	f := &cliFixture{db: sqlstoretest.New(t), store: objectstest.NewMemory(t), clock: broadcasttest.Clock(broadcasttest.Monday)}
	db, store, clock := f.db, f.store, f.clock
	db.Now = clock
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	svc := &broadcast.Service{Store: db, Objects: store, Key: key, Log: slog.New(slog.DiscardHandler), Now: clock}
	s := &api.Server{Catalog: db, Objects: store, Broadcast: svc, Log: slog.New(slog.DiscardHandler), Now: clock}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f.url = srv.URL
	ctx := context.Background()
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	var err error
	if f.producer, err = db.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"}); err != nil {
		t.Fatal(err)
	}
	tok, err := db.CreateToken(ctx, f.producer.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.tok = tok
	f.seg = broadcasttest.AddReady(t, db, store, f.producer, broadcasttest.Segment{Title: title, Languages: []string{"vi"}, AirFrom: clock().Add(-48 * time.Hour)})
	f.loa = func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		code := run(ctx, env, append(args, "--server", srv.URL, "--token", tok))
		return code, stdout.String(), stderr.String()
	}
	return f
}

// adminToken adds the administrator quan-tri and returns an API token of
// theirs.
func (f *cliFixture) adminToken(t *testing.T) string {
	t.Helper()
	admin, err := f.db.CreateUser(context.Background(), pipeline.NewUser{Name: "quan-tri", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.db.CreateToken(context.Background(), admin.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestEmergencyEndCLI: 'loa segments priority ID normal' is refused while
// an emergency is in force, saying to end it first, and 'segments show'
// keeps saying emergency; 'segments emergency ID --end' without --yes ends
// nothing (exit 3); with --reason and --yes it ends it and names the
// commune rebuilt; then the priority can be lowered.
func TestEmergencyEndCLI(t *testing.T) {
	f := producerCLI(t, "Cháy rừng")
	seg, loa := f.seg, f.loa
	if code, out, errs := loa("segments", "emergency", seg, "--communes", "muong-lan", "--reason", "Cháy rừng", "--yes"); code != 0 {
		t.Fatalf("raise: exit %d %s %s", code, out, errs)
	}
	code, _, errs := loa("segments", "priority", seg, "normal")
	if code == 0 || !strings.Contains(errs, "end the emergency first") || !strings.Contains(errs, "--end") {
		t.Fatalf("lowering with the emergency in force: exit %d %s, want a refusal saying to end it first", code, errs)
	}
	showsEmergency := func() bool {
		t.Helper()
		code, out, errs := loa("segments", "show", seg)
		if code != 0 {
			t.Fatalf("segments show: exit %d %s", code, errs)
		}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "priority" {
				return f[1] == "emergency"
			}
		}
		t.Fatalf("segments show has no priority line:\n%s", out)
		return false
	}
	if !showsEmergency() {
		t.Fatal("segments show no longer says emergency after the refused lowering")
	}
	code, out, errs := loa("segments", "emergency", seg, "--end", "--reason", "báo động nhầm")
	if code != 3 || !strings.Contains(errs, "Nothing was ended") || !strings.Contains(errs, "--yes") || out != "" {
		t.Fatalf("--end without --yes: exit %d %q %q, want 3 saying nothing was ended", code, out, errs)
	}
	if !showsEmergency() {
		t.Fatal("--end without --yes ended the emergency")
	}
	if code, _, errs := loa("segments", "emergency", seg, "--end", "--yes"); code != 3 || !strings.Contains(errs, "reason") {
		t.Fatalf("--end without --reason: exit %d %s, want 3 asking for the reason", code, errs)
	}
	code, out, errs = loa("segments", "emergency", seg, "--end", "--reason", "báo động nhầm", "--yes")
	if code != 0 || !strings.Contains(out, "ended for commune muong-lan") || !strings.Contains(out, "muong-lan") {
		t.Fatalf("--end --yes: exit %d %q %s", code, out, errs)
	}
	if code, out, errs := loa("segments", "priority", seg, "normal"); code != 0 {
		t.Fatalf("lowering after the end: exit %d %s %s", code, out, errs)
	}
}

// TestEmergencyReraiseCLI: an administrator's emergency on three
// communes; the producer's dry run of one more commune names the three in
// force, the one added and that none loses the alert; raising it adds
// (the answer says what was kept); the producer's --replace is refused
// (exit 4) naming who may; 'segments show' (text and --json) shows the
// emergency in force: communes, end, reason, who raised it.
func TestEmergencyReraiseCLI(t *testing.T) {
	f := producerCLI(t, "Lũ quét")
	ctx := context.Background()
	adminTok := f.adminToken(t)
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
	if code := run(ctx, env, []string{"segments", "emergency", f.seg, "--communes", "muong-lan,suoi-to,ta-xua", "--reason", "lũ: Sở chỉ đạo", "--yes", "--server", f.url, "--token", adminTok}); code != 0 {
		t.Fatalf("admin raises: exit %d %s", code, stderr.String())
	}
	code, out, errs := f.loa("segments", "emergency", f.seg, "--communes", "phieng-khoai", "--reason", "đổi")
	if code != 3 || !strings.Contains(errs, "Nothing was raised") || !strings.Contains(errs, "in force now: muong-lan, suoi-to, ta-xua") ||
		!strings.Contains(errs, "added: phieng-khoai") || !strings.Contains(errs, "losing the alert: none") || !strings.Contains(errs, "--yes") {
		t.Fatalf("producer's dry run: exit %d %q %q", code, out, errs)
	}
	code, _, errs = f.loa("segments", "emergency", f.seg, "--communes", "phieng-khoai", "--reason", "đổi", "--replace")
	if code != 4 || !strings.Contains(errs, "administrator") || !strings.Contains(errs, "muong-lan, suoi-to, ta-xua") {
		t.Fatalf("producer's --replace dry run: exit %d %q, want 4 naming who may and what would drop", code, errs)
	}
	code, out, errs = f.loa("segments", "emergency", f.seg, "--communes", "phieng-khoai", "--reason", "đổi", "--yes")
	if code != 0 || !strings.Contains(out, "kept: muong-lan, suoi-to, ta-xua; added: phieng-khoai; lost the alert: none") {
		t.Fatalf("producer adds: exit %d %q %q", code, out, errs)
	}
	code, out, errs = f.loa("segments", "show", f.seg)
	if code != 0 || !strings.Contains(out, "IN FORCE for communes muong-lan, phieng-khoai, suoi-to, ta-xua") || !strings.Contains(out, "đổi") ||
		!strings.Contains(out, "quan-tri (last changed by bien-tap)") {
		t.Fatalf("segments show: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = f.loa("segments", "show", f.seg, "--json")
	if code != 0 || !strings.Contains(out, `"emergency": {`) || !strings.Contains(out, `"raised_by": "quan-tri"`) || !strings.Contains(out, `"phieng-khoai"`) {
		t.Fatalf("segments show --json: exit %d\n%s%s", code, out, errs)
	}
}
