package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// scaleTranslators is how many translators race for the open jobs.
const scaleTranslators = 50

// TestScaleDeployment checks a running deployment of several `loa serve`
// replicas, the one `make test-scale` (.ci/test-scale) starts: their
// URLs in LOA_SCALE_REPLICAS (space-separated), their database in
// LOA_DB. Skipped without LOA_SCALE_REPLICAS. It expects the open Thái
// (blt) voice-over jobs of the script's uploads and checks, logging each
// figure:
//   - 50 translators claiming those jobs at once, each through its own
//     replica (all first racing for the same job): every job is claimed
//     exactly once, by one translator, and every translator who won holds
//     one job;
//   - a token revoked through one replica is refused by every other
//     within a second (several rounds, each through another replica);
//   - an emergency raised through one replica reaches devices listening
//     on the other replicas' event streams within a second.
func TestScaleDeployment(t *testing.T) {
	urls := strings.Fields(os.Getenv("LOA_SCALE_REPLICAS"))
	if len(urls) == 0 {
		t.Skip("LOA_SCALE_REPLICAS is not set: make test-scale runs this against its replicas")
	}
	if len(urls) < 2 {
		t.Fatalf("LOA_SCALE_REPLICAS names %d replica; at least 2 are needed", len(urls))
	}
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, os.Getenv("LOA_DB"))
	if err != nil {
		t.Fatalf("open the deployment's database (LOA_DB): %v", err)
	}
	defer db.Close()
	d := &deployment{t: t, db: db, urls: urls}
	d.admin = d.user(pipeline.NewUser{Name: "scale-admin", Role: pipeline.RoleAdmin})

	t.Run("translators", d.translatorsClaim)
	t.Run("revocation", d.revocationSpreads)
	t.Run("emergency", d.emergencyReachesOtherReplicas)
}

// deployment is the running replicas and their database.
type deployment struct {
	t     *testing.T
	db    *sqlstore.DB
	urls  []string
	admin string
}

// user makes a user (the password is fixed) and returns a new token of it.
func (d *deployment) user(n pipeline.NewUser) string {
	d.t.Helper()
	ctx := context.Background()
	n.Password = "mat-khau-dai-du-scale"
	u, err := d.db.CreateUser(ctx, n)
	if err != nil {
		d.t.Fatal(err)
	}
	tok, err := d.db.CreateToken(ctx, u.ID, "scale")
	if err != nil {
		d.t.Fatal(err)
	}
	return tok
}

// do sends one request to a replica and returns the answer's status and
// body.
func (d *deployment) do(ctx context.Context, replica int, method, path, token, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.urls[replica]+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// translatorsClaim races scaleTranslators translators for the open blt
// jobs, translator i through replica i mod n.
func (d *deployment) translatorsClaim(t *testing.T) {
	ctx := context.Background()
	open, err := d.db.Jobs(ctx, translation.Filter{State: translation.StateOpen, Languages: []string{"blt"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) < 10 {
		t.Fatalf("%d open blt jobs; the script's uploads (--languages vi,blt) should have opened one each", len(open))
	}
	tokens := make([]string, scaleTranslators)
	for i := range tokens {
		tokens[i] = d.user(pipeline.NewUser{Name: fmt.Sprintf("scale-dich-%02d", i), Role: pipeline.RoleTranslator, Languages: []string{"blt"}})
	}
	type result struct {
		won       string // the job won, or ""
		conflicts int
		took      []time.Duration // each claim request
		err       error
	}
	results := make([]result, len(tokens))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			res := &results[i]
			replica := i % len(d.urls)
			<-start
			for round := 0; ; round++ {
				code, body, err := d.do(ctx, replica, "GET", "/api/jobs?state=open&lang=blt", tok, "")
				if err != nil || code != 200 {
					res.err = fmt.Errorf("list open jobs through replica %d: %d %s %v", replica+1, code, body, err)
					return
				}
				var list []translation.Job
				if err := json.Unmarshal(body, &list); err != nil {
					res.err = err
					return
				}
				if len(list) == 0 {
					return // every job is taken
				}
				// All race for the first job first, then spread out.
				pick := list[0]
				if round > 0 {
					pick = list[rand.IntN(len(list))]
				}
				began := time.Now()
				code, body, err = d.do(ctx, replica, "POST", "/api/jobs/"+pick.ID+"/claim", tok, "")
				res.took = append(res.took, time.Since(began))
				switch {
				case err != nil:
					res.err = err
					return
				case code == 200:
					res.won = pick.ID
					return
				case code == http.StatusConflict:
					res.conflicts++
				default:
					res.err = fmt.Errorf("claim %s through replica %d: %d %s", pick.ID, replica+1, code, body)
					return
				}
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	winners := map[string]int{} // job → translators told they won it
	var took []time.Duration
	conflicts := 0
	for i, r := range results {
		if r.err != nil {
			t.Errorf("translator %d: %v", i, r.err)
		}
		if r.won != "" {
			winners[r.won]++
		}
		conflicts += r.conflicts
		took = append(took, r.took...)
	}
	for job, n := range winners {
		if n != 1 {
			t.Errorf("job %s: %d translators were told they claimed it", job, n)
		}
	}
	// The database agrees: one claim event per job, held by the winner.
	var twice int
	if err := d.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT job_id FROM job_events WHERE action = 'claim'
		GROUP BY job_id HAVING COUNT(*) > 1) AS x`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d jobs have more than one claim event", twice)
	}
	claimed, err := d.db.Jobs(ctx, translation.Filter{State: translation.StateClaimed, Languages: []string{"blt"}})
	if err != nil {
		t.Fatal(err)
	}
	held := map[int64]int{}
	for _, j := range claimed {
		held[j.TranslatorID]++
		if winners[j.ID] != 1 {
			t.Errorf("job %s is claimed by %s in the database, but %d translators were told so", j.ID, j.Translator, winners[j.ID])
		}
	}
	for id, n := range held {
		if n != 1 {
			t.Errorf("translator %d holds %d jobs, claimed one", id, n)
		}
	}
	want := min(len(open), len(tokens))
	if len(winners) != want || len(claimed) != want {
		t.Errorf("%d jobs won and %d claimed in the database; want %d (%d open jobs, %d translators)", len(winners), len(claimed), want, len(open), len(tokens))
	}
	slices.Sort(took)
	t.Logf("figure: %d translators through %d replicas claimed %d open jobs in %s: %d claims won, %d refused as already taken, none twice; "+
		"%.0f claim requests/s; claim request p50 %s, p99 %s, max %s",
		len(tokens), len(d.urls), len(open), elapsed.Round(time.Millisecond), len(winners), conflicts,
		float64(len(took))/elapsed.Seconds(), pct(took, 50), pct(took, 99), took[len(took)-1].Round(time.Millisecond))
}

// pct returns the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)].Round(time.Millisecond)
}

// revocationSpreads revokes a token through each replica in turn and
// times until every other replica refuses it; each replica has just
// answered the token, so it is in their caches.
func (d *deployment) revocationSpreads(t *testing.T) {
	ctx := context.Background()
	var figures []string
	var slowest time.Duration
	wait := budget(t, 0.1) // it must be refused; how fast is the figure against agreeBar
	for round := range 2 * len(d.urls) {
		via := round % len(d.urls)
		name := fmt.Sprintf("scale-thu-hoi-%d", round)
		tok := d.user(pipeline.NewUser{Name: name, Role: pipeline.RoleTranslator, Languages: []string{"blt"}})
		infos, err := d.db.Tokens(ctx, name, false)
		if err != nil || len(infos) != 1 {
			t.Fatalf("tokens of %s: %v %v", name, infos, err)
		}
		for r := range d.urls {
			for range 2 { // the second answer comes from the replica's cache
				if code, body, err := d.do(ctx, r, "GET", "/api/jobs?limit=1", tok, ""); err != nil || code != 200 {
					t.Fatalf("replica %d before the revocation: %d %s %v", r+1, code, body, err)
				}
			}
		}
		code, body, err := d.do(ctx, via, "DELETE", fmt.Sprintf("/api/tokens/%d", infos[0].ID), d.admin, "")
		if err != nil || code != http.StatusNoContent {
			t.Fatalf("revoke through replica %d: %d %s %v", via+1, code, body, err)
		}
		revoked := time.Now()
		var worst time.Duration
		for r := range d.urls {
			if r == via {
				continue
			}
			for {
				code, body, err := d.do(ctx, r, "GET", "/api/jobs?limit=1", tok, "")
				if err != nil {
					t.Fatal(err)
				}
				if code == http.StatusUnauthorized {
					break
				}
				if time.Since(revoked) > wait {
					t.Fatalf("round %d: a token revoked through replica %d still answered by replica %d %s later: %d %s", round, via+1, r+1, wait, code, body)
				}
				time.Sleep(5 * time.Millisecond)
			}
			worst = max(worst, time.Since(revoked))
		}
		slowest = max(slowest, worst)
		figures = append(figures, fmt.Sprintf("via %d: %s", via+1, worst.Round(time.Millisecond)))
	}
	t.Logf("figure: a token revoked through one replica was refused by every other within: %s (%s)", strings.Join(figures, ", "), barMark(slowest, agreeBar))
}

// emergencyReachesOtherReplicas imports the demo registry, builds
// muong-lan's schedules, connects a device's event stream to every
// replica but the first, raises an emergency through the first, and
// times its arrival on each stream.
func (d *deployment) emergencyReachesOtherReplicas(t *testing.T) {
	ctx := context.Background()
	broadcasttest.LoadRegistry(t, d.db, "../../schedules/testdata/sonla-demo.yaml")
	prodToken := d.user(pipeline.NewUser{Name: "scale-dai", Role: pipeline.RoleProducer})
	producer, err := d.db.UserByName(ctx, "scale-dai")
	if err != nil {
		t.Fatal(err)
	}
	device := d.user(pipeline.NewUser{Name: "scale-xa-muong-lan", Role: pipeline.RoleOperator, Commune: "muong-lan"})
	langs := []string{"vi", "blt", "hnj"}
	airFrom := time.Now().Add(-48 * time.Hour)
	broadcasttest.AddReady(t, d.db, nil, producer, broadcasttest.Segment{Title: "Bản tin thường", Languages: langs, DurationMS: 100_000, AirFrom: airFrom})
	fire := broadcasttest.AddReady(t, d.db, nil, producer, broadcasttest.Segment{Title: "Cháy rừng", Languages: langs, DurationMS: 30_000, AirFrom: airFrom})
	if code, body, err := d.do(ctx, 0, "POST", "/api/schedules/build?commune=muong-lan", d.admin, ""); err != nil || code != 200 {
		t.Fatalf("build muong-lan's schedules: %d %s %v", code, body, err)
	}

	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	type heard struct {
		replica int
		at      time.Time
		ev      broadcast.Event
		err     error
	}
	// Every version event after a stream's opening goes to got: the
	// stream sends the commune's head when it hears of a change, and a
	// change heard late (another build's, just before) can already carry
	// the emergency's ETag under its own reason, after which the
	// emergency's own event is the same ETag and not sent again. A device
	// acts on the ETag (broadcast.Event), so the test waits for the
	// emergency's version (or a later one), whatever the reason.
	got := make(chan heard, 64)
	listening := sync.WaitGroup{}
	for r := 1; r < len(d.urls); r++ {
		req, _ := http.NewRequestWithContext(sctx, "GET", d.urls[r]+"/api/communes/muong-lan/events", nil)
		req.Header.Set("Authorization", "Bearer "+device)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("event stream on replica %d: %d %s", r+1, resp.StatusCode, b)
		}
		listening.Add(1)
		go func() {
			lines := bufio.NewScanner(resp.Body)
			var name string
			var ev broadcast.Event
			first := true
			for lines.Scan() {
				l := lines.Text()
				switch {
				case strings.HasPrefix(l, "event: "):
					name = strings.TrimPrefix(l, "event: ")
				case strings.HasPrefix(l, "data: "):
					ev = broadcast.Event{}
					_ = json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev)
				case l == "" && name != "":
					if first { // the stream's opening: the current version
						first = false
						listening.Done()
					} else if name == "version" {
						select {
						case got <- heard{replica: r, at: time.Now(), ev: ev}:
						case <-sctx.Done():
							return
						}
					}
					name = ""
				}
			}
			select {
			case got <- heard{replica: r, err: fmt.Errorf("stream on replica %d ended: %v", r+1, lines.Err())}:
			case <-sctx.Done():
			}
		}()
	}
	listening.Wait()
	body := `{"communes":["muong-lan"],"confirm":true,"reason":"cháy rừng ở bản Nà Sài (make test-scale)"}`
	began := time.Now()
	code, answer, err := d.do(ctx, 0, "POST", "/api/segments/"+fire+"/emergency", prodToken, body)
	if err != nil || code != 200 {
		t.Fatalf("emergency through replica 1: %d %s %v", code, answer, err)
	}
	stored := time.Now()
	// The version the emergency's build stored. A later build (a
	// rebuild the uploads queued, due at the next 30 s boundary) can move
	// the head past it before a replica hears of the emergency: that
	// replica then sends the later version only, which carries the
	// emergency too. So a stream has it when it sends this version or a
	// later one (a higher seq: a commune's versions are numbered as they
	// are stored).
	var emergency struct {
		id, etag string
		seq      int64
	}
	if err := d.db.SQL().QueryRowContext(ctx, `SELECT id, etag, seq FROM schedule_versions
		WHERE commune_code = 'muong-lan' AND reason = 'emergency' ORDER BY seq DESC LIMIT 1`).Scan(&emergency.id, &emergency.etag, &emergency.seq); err != nil {
		t.Fatalf("the version muong-lan's emergency stored: %v", err)
	}
	seqOf := func(version string) int64 {
		var seq int64
		if err := d.db.SQL().QueryRowContext(ctx, "SELECT seq FROM schedule_versions WHERE id = $1", version).Scan(&seq); err != nil {
			t.Fatalf("version %s of an event: %v", version, err)
		}
		return seq
	}
	var figures []string
	var slowest time.Duration
	wait := budget(t, 0.1) // it must arrive; how fast is the figure against agreeBar
	timeout := time.After(wait)
	for arrived := map[int]bool{}; len(arrived) < len(d.urls)-1; {
		select {
		case h := <-got:
			if h.err != nil {
				t.Fatal(h.err)
			}
			if arrived[h.replica] || seqOf(h.ev.Version) < emergency.seq {
				continue // an earlier build's version
			}
			arrived[h.replica] = true
			which := "the emergency's version"
			if h.ev.Version != emergency.id {
				which = "a later version"
			}
			figures = append(figures, fmt.Sprintf("replica %d %s after the answer (%s after the request began; %s, heard as %q)",
				h.replica+1, h.at.Sub(stored).Round(time.Millisecond), h.at.Sub(began).Round(time.Millisecond), which, h.ev.Reason))
			slowest = max(slowest, h.at.Sub(stored))
		case <-timeout:
			t.Fatalf("an emergency raised through replica 1 did not reach every other replica's stream within %s (its version %s, ETag %s, seq %d; heard: %v; the replicas' logs show what each heard and sent)",
				wait, emergency.id, emergency.etag, emergency.seq, figures)
		}
	}
	t.Logf("figure: an emergency raised through replica 1 (request %s, the build included) reached devices' streams on the others: %s (%s from the answer; negative: heard before the answer arrived)",
		stored.Sub(began).Round(time.Millisecond), strings.Join(figures, ", "), barMark(slowest, agreeBar))
}
