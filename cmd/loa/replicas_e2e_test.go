package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
	"github.com/sonla-cchc/loa/schedules"
)

// agreeBar is what the replicas promise: a change made through one is
// honoured by every other within a second. The test requires that the
// change arrives and prints how long it took against this bar; the bar
// itself is checked where the machine is the deployment's
// (`make test-scale`), not on a loaded test machine.
const agreeBar = time.Second

// barMark says how a figure compares with its bar, for the test's log.
func barMark(d, bar time.Duration) string {
	if d <= bar {
		return "within the bar of " + bar.String()
	}
	return "ABOVE the bar of " + bar.String()
}

// TestReplicasAgree starts three `loa serve` processes (A, B, C) on one
// database (PostgreSQL when LOA_TEST_POSTGRES_URL is set, else one SQLite
// file) and one bucket, and checks that they behave as one system: a
// token revoked by another process is refused by B and C within a
// second; an emergency raised through A reaches a device's event stream
// on C within a second, and C's playlist carries the new ETag at once;
// SIGTERM of C ends that stream at once with a retry hint. It logs each
// figure.
func TestReplicasAgree(t *testing.T) {
	_, s3 := objectstest.New(t)
	ctx := context.Background()
	loc := pgtest.Location(t, "loa.db")
	key := filepath.Join(t.TempDir(), "signing-key.pem")
	if _, err := broadcast.LoadOrCreateKey(key, true); err != nil {
		t.Fatal(err)
	}
	reps := make([]*instance, 3)
	for i := range reps {
		reps[i] = newInstance(t, s3)
		// Every replica shares the database and the signing key.
		reps[i].extra = []string{"LOA_DB=" + loc, "LOA_SIGNING_KEY=" + key}
	}
	a, b, c := reps[0], reps[1], reps[2]
	a.bootstrap() // the producer dai-ptth; migrates the database
	if _, err := a.loa("", "migrate"); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	broadcasttest.LoadRegistry(t, db, "../../schedules/testdata/sonla-demo.yaml")
	producer, err := db.UserByName(ctx, "dai-ptth")
	if err != nil {
		t.Fatal(err)
	}
	prodToken := strings.TrimSpace(mustOut(t)(a.loa("", "token", "create", "--user", "dai-ptth")))
	lost := a.userToken("xa-muong-lan", "operator", "muong-lan")                                    // a device that will be lost
	device := strings.TrimSpace(mustOut(t)(a.loa("", "token", "create", "--user", "xa-muong-lan"))) // the device listening
	broadcasttest.AddReady(t, db, nil, producer, broadcasttest.Segment{Title: "Bản tin thường", Languages: []string{"vi", "blt", "hnj"},
		DurationMS: 100_000, AirFrom: time.Now().Add(-48 * time.Hour)})
	fire := broadcasttest.AddReady(t, db, nil, producer, broadcasttest.Segment{Title: "Cháy rừng", Languages: []string{"vi", "blt", "hnj"},
		DurationMS: 30_000, AirFrom: time.Now().Add(-48 * time.Hour)})
	for _, r := range reps {
		r.start()
	}
	// The start-up nightly build runs once in the deployment.
	today := schedules.DateOf(time.Now().In(broadcast.Location())).String()
	eventually(t, "the start-up nightly build", func() (bool, string) {
		h, err := db.CommuneHead(ctx, "muong-lan")
		return err == nil && h.ETag != "", fmt.Sprintf("%+v %v", h, err)
	})

	// Each wait below is for something that must happen; it is bounded by
	// the test's own budget, and its figure is printed against agreeBar.
	wait := budget(t, 0.1)

	// A token revoked by another process is refused by B and C.
	get := func(in *instance, token, path string, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", in.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, body
	}
	for _, r := range []*instance{b, c} {
		for range 2 { // the second answer comes from the replica's token cache
			if resp, body := get(r, lost, "/api/communes/muong-lan"); resp.StatusCode != 200 {
				t.Fatalf("before revocation: %d %s", resp.StatusCode, body)
			}
		}
	}
	if _, err := a.loa(lost+"\n", "token", "revoke"); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for _, r := range []*instance{b, c} {
		for {
			resp, body := get(r, lost, "/api/communes/muong-lan")
			if resp.StatusCode == http.StatusUnauthorized {
				break
			}
			if time.Since(revoked) > wait {
				t.Fatalf("a revoked token still answered by another replica %s later: %d %s", wait, resp.StatusCode, body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	took := time.Since(revoked)
	t.Logf("figure: a token revoked by one process was refused by both other replicas %s later (%s)", took.Round(time.Millisecond), barMark(took, agreeBar))

	// A device listens on C; the emergency is raised through A.
	playlist := "/api/communes/muong-lan/clusters/trung-tam/playlists/" + today + ".json"
	before, _ := get(c, device, playlist)
	oldTag := before.Header.Get("ETag")
	sctx, cancel := context.WithTimeout(ctx, budget(t, 0.5))
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", c.url+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+device)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	lines := bufio.NewScanner(stream.Body)
	type event struct {
		name string
		data broadcast.Event
	}
	var seen []string // every line, for the messages
	next := func() event {
		t.Helper()
		var e event
		for lines.Scan() {
			l := lines.Text()
			seen = append(seen, l)
			switch {
			case strings.HasPrefix(l, "event: "):
				e.name = strings.TrimPrefix(l, "event: ")
			case strings.HasPrefix(l, "data: "):
				json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &e.data)
			case l == "" && e.name != "":
				return e
			}
		}
		return event{name: "end"}
	}
	if e := next(); e.name != "version" || e.data.Reason != "current" {
		t.Fatalf("first event %+v", e)
	}
	body := `{"communes":["muong-lan"],"confirm":true,"reason":"cháy rừng ở bản Nà Sài"}`
	req, _ = http.NewRequest("POST", a.url+"/api/segments/"+fire+"/emergency", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+prodToken)
	req.Header.Set("Content-Type", "application/json")
	raisedAt := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("emergency through A: %d %s", resp.StatusCode, answer)
	}
	stored := time.Now()
	got := make(chan event, 1)
	go func() { got <- next() }()
	var e event
	select {
	case e = <-got:
	case <-time.After(wait):
		t.Fatalf("no event on C within %s of the emergency being stored through A", wait)
	}
	heard := time.Now()
	if e.name != "version" || e.data.Reason != "emergency" || e.data.ETag == oldTag {
		t.Fatalf("event on C: %+v (playlist ETag before %s)", e, oldTag)
	}
	t.Logf("figure: an emergency raised through A reached a device on C %s after A stored it (%s after the request began, the build included; %s)",
		heard.Sub(stored).Round(time.Millisecond), heard.Sub(raisedAt).Round(time.Millisecond), barMark(heard.Sub(stored), agreeBar))
	after, _ := get(c, device, playlist, "If-None-Match", oldTag)
	if after.StatusCode != 200 || after.Header.Get("ETag") == oldTag {
		t.Fatalf("C's playlist after the emergency: %d, ETag %q (before %q)", after.StatusCode, after.Header.Get("ETag"), oldTag)
	}

	// SIGTERM of C ends the device's stream at once, with a retry hint.
	stopped := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ended := make(chan event, 1)
	go func() {
		for {
			if e := next(); e.name == "closing" || e.name == "end" {
				ended <- e
				return
			}
		}
	}()
	select {
	case e := <-ended:
		if e.name != "closing" {
			t.Fatalf("stream ended without a closing event: %q", seen)
		}
	case <-time.After(wait):
		t.Fatalf("the stream was still open %s after SIGTERM: %q", wait, seen)
	}
	t.Logf("figure: SIGTERM of a replica ended its open event stream %s later", time.Since(stopped).Round(time.Millisecond))
	retry := false
	for _, l := range seen[max(len(seen)-4, 0):] {
		retry = retry || strings.HasPrefix(l, "retry: ")
	}
	if !retry {
		t.Fatalf("closing event without a retry hint: %q", seen)
	}
	select {
	case err := <-c.exited:
		c.cmd = nil
		t.Logf("figure: the replica exited %s after SIGTERM (%v)", time.Since(stopped).Round(time.Millisecond), err)
	case <-time.After(wait):
		t.Fatalf("the replica had not exited %s after SIGTERM\n%s", wait, c.logs)
	}
	// The device reconnects to another replica and is told the latest.
	req, _ = http.NewRequestWithContext(sctx, "GET", b.url+"/api/communes/muong-lan/events", nil)
	req.Header.Set("Authorization", "Bearer "+device)
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Body.Close()
	lines = bufio.NewScanner(again.Body)
	// It is told the emergency's version or a later one (a rebuild may
	// have followed) by the time B has followed the feed: within a second
	// of the emergency being stored.
	ve, err := db.Version(ctx, e.data.Version)
	if err != nil {
		t.Fatal(err)
	}
	for {
		got := make(chan event, 1)
		go func() { got <- next() }()
		var e2 event
		select {
		case e2 = <-got:
		case <-time.After(wait):
			t.Fatalf("a device reconnected to B was not told the emergency's version within %s: %q", wait, seen)
		}
		if e2.name != "version" {
			t.Fatalf("on reconnecting to B: %+v", e2)
		}
		v2, err := db.Version(ctx, e2.data.Version)
		if err != nil {
			t.Fatal(err)
		}
		if v2.Seq >= ve.Seq {
			t.Logf("figure: the device reconnected to B was told the emergency's version (or a later one) %s after A stored it", time.Since(stored).Round(time.Millisecond))
			return
		}
	}
}

// mustOut fails the test when a command failed, else returns its output.
func mustOut(t *testing.T) func(string, error) string {
	return func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
}
