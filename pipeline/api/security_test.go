package api_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/throttle"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// TestDuplicateScope: an upload of bytes already stored is answered with
// the earlier segment only when the uploader may see it (their own, or
// any for an admin) and it is not withdrawn; another producer gets a
// segment of their own, and nothing of the first producer's leaks.
func TestDuplicateScope(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	ctx := t.Context()
	other, err := b.db.CreateUser(ctx, pipeline.NewUser{Name: "bao-son-la", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := b.db.CreateToken(ctx, other.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	srt := []byte("1\n00:00:00,000 --> 00:00:02,000\nBí mật của đài\n")
	status, first, _ := b.upload(t, pipeline.RoleProducer, radioFields("Bản của đài tỉnh"), srt, "a.mp3", speech)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d", status)
	}
	upload := func(token, title string) (int, []byte) {
		body, ct := multipartBody(t, radioFields(title), nil, "b.mp3", speech)
		resp, raw := b.do(t, "POST", "/api/segments", token, body, ct)
		return resp.StatusCode, raw
	}

	// Another producer: a new segment of their own, nothing of the first.
	code, raw := upload(otherTok, "Bản của báo")
	if code != http.StatusCreated || strings.Contains(string(raw), first.ID) || strings.Contains(string(raw), "Bản của đài tỉnh") ||
		strings.Contains(string(raw), "subtitles") {
		t.Fatalf("another producer's upload of the same bytes: %d %s", code, raw)
	}
	// The same producer again, and an admin: the first segment.
	for _, who := range []pipeline.Role{pipeline.RoleProducer, pipeline.RoleAdmin} {
		if code, raw := upload(b.tokens[who], "Lần hai"); code != http.StatusOK || !strings.Contains(string(raw), first.ID) {
			t.Fatalf("%s uploading the same bytes: %d %s, want the first segment", who, code, raw)
		}
	}
	// Withdrawn content is never handed back: the upload is a new segment.
	if r, body := b.do(t, "DELETE", "/api/segments/"+first.ID+"?confirm="+first.ID+"&reason=sai", b.tokens[pipeline.RoleProducer], nil, ""); r.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", r.StatusCode, body)
	}
	code, raw = upload(b.tokens[pipeline.RoleProducer], "Bản sửa")
	if code != http.StatusCreated || strings.Contains(string(raw), first.ID) {
		t.Fatalf("upload after withdrawal: %d %s, want a new segment", code, raw)
	}
}

// TestUploadCannotBeEmergency: priority=emergency at upload (which used
// to put a segment on every loudspeaker for as long as air_until said) is
// refused with a 422 that points to the emergency action, leaving nothing.
func TestUploadCannotBeEmergency(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	fields := [][2]string{{"title", "Khẩn"}, {"kind", "radio"}, {"topic", "procedures"}, {"priority", "emergency"}, {"air_until", "2035-01-01T00:00:00Z"}}
	status, _, bad := b.upload(t, pipeline.RoleProducer, fields, nil, "k.mp3", speech)
	if status != http.StatusUnprocessableEntity || bad.Error.Field != "priority" || !strings.Contains(bad.Error.Message, "emergency action") {
		t.Fatalf("upload with priority=emergency: %d %+v, want 422 pointing to the emergency action", status, bad.Error)
	}
	if objs, segs, ups := b.leftovers(t); objs+segs+ups != 0 {
		t.Fatalf("the refused upload left %d objects, %d segments, %d upload rows", objs, segs, ups)
	}
}

// TestEmergencyOnlyOnPurpose: an emergency is raised only through the
// emergency action, with a reason, an end within the cap, and, when a
// producer asks for the whole province, an administrator's confirmation;
// the audit log names who asked, who confirmed and why.
func TestEmergencyOnlyOnPurpose(t *testing.T) {
	sb := setupSchedules(t)
	ctx := t.Context()
	producer, admin := sb.tokens[pipeline.RoleProducer], sb.tokens[pipeline.RoleAdmin]

	// A segment stored as emergency by an upload before that was refused
	// airs as a priority segment, not as an emergency.
	if _, err := sb.db.SQL().ExecContext(ctx, "UPDATE segments SET priority = 'emergency' WHERE id = ?", sb.segs[0]); err != nil {
		t.Fatal(err)
	}
	cat, _, err := sb.db.ReadyCatalog(ctx, sb.svc.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range cat {
		if v.SegmentID == sb.segs[0] && v.Priority == schedules.Emergency {
			t.Fatalf("a segment marked emergency at upload airs as an emergency: %+v", v)
		}
	}

	url := "/api/segments/" + sb.segs[2] + "/emergency"
	post := func(token, body string) (int, string) {
		resp, raw := sb.do(t, "POST", url, token, strings.NewReader(body), "application/json")
		return resp.StatusCode, string(raw)
	}
	refusals := []struct{ name, body, field string }{
		{"until years away", `{"communes":["muong-lan"],"until":"2035-01-01T00:00:00Z","reason":"lũ","confirm":true}`, `"field": "until"`},
		{"until just over the cap", `{"communes":["muong-lan"],"until":"` + sb.svc.Now().Add(24*time.Hour+time.Minute).Format(time.RFC3339) + `","reason":"lũ","confirm":true}`, `"field": "until"`},
		{"no reason", `{"communes":["muong-lan"],"confirm":true}`, `"field": "reason"`},
	}
	for _, tc := range refusals {
		if code, body := post(producer, tc.body); code != http.StatusUnprocessableEntity || !strings.Contains(body, tc.field) {
			t.Errorf("%s: %d %s, want 422 on %s", tc.name, code, body, tc.field)
		}
	}

	// A producer's province-wide emergency waits for an admin.
	head := func() string {
		h, err := sb.db.CommuneHead(ctx, "to-hieu")
		if err != nil {
			t.Fatal(err)
		}
		return h.ETag
	}
	before := head()
	if code, body := post(producer, `{"province":true,"reason":"Lũ quét toàn tỉnh","confirm":true}`); code != http.StatusAccepted || !strings.Contains(body, `"pending": true`) {
		t.Fatalf("producer's province-wide emergency: %d %s, want 202 pending", code, body)
	}
	if head() != before {
		t.Fatal("a pending province-wide emergency changed a commune's schedule")
	}
	confirm := "/api/segments/" + sb.segs[2] + "/emergency/confirm"
	if resp, body := sb.do(t, "POST", confirm, producer, strings.NewReader(`{"confirm":true}`), "application/json"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("producer confirms: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := sb.do(t, "POST", confirm, admin, strings.NewReader(`{"confirm":true}`), "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin confirms: %d %s", resp.StatusCode, body)
	}
	if head() == before {
		t.Fatal("the confirmed province-wide emergency did not change the schedule")
	}
	var by int64
	var detail string
	if err := sb.db.SQL().QueryRowContext(ctx, "SELECT user_id, detail FROM segment_events WHERE segment_id = ? AND action = 'emergency' ORDER BY id DESC LIMIT 1",
		sb.segs[2]).Scan(&by, &detail); err != nil {
		t.Fatal(err)
	}
	if by != sb.users[pipeline.RoleAdmin].ID || !strings.Contains(detail, "requested by u-producer") || !strings.Contains(detail, "Lũ quét toàn tỉnh") {
		t.Fatalf("audit of the emergency: by %d, %q; want the admin, the requester and the reason", by, detail)
	}
	// Confirmed once: there is nothing left to confirm.
	if resp, _ := sb.do(t, "POST", confirm, admin, strings.NewReader(`{"confirm":true}`), "application/json"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second confirmation: %d, want 404", resp.StatusCode)
	}
}

// TestBundleSequenceGrows: the signed manifest names the commune and a
// schedule sequence that grows with each new version (here the one an
// emergency makes), so a device can refuse a replayed older bundle.
func TestBundleSequenceGrows(t *testing.T) {
	sb := setupSchedules(t)
	manifest := func() schedules.Manifest {
		t.Helper()
		resp, data := sb.get(t, "/api/communes/muong-lan/bundle?days=1", sb.tokens[pipeline.RoleOperator])
		var idx wire.BundleIndex
		if err := json.Unmarshal(data, &idx); err != nil || resp.StatusCode != 200 {
			t.Fatalf("bundle: %d %v %s", resp.StatusCode, err, data)
		}
		m, err := schedules.VerifyManifest(sb.svc.PublicKey(), []byte(idx.Manifest), []byte(idx.Signature))
		if err != nil {
			t.Fatal(err)
		}
		return *m
	}
	before := manifest()
	if before.Commune != "muong-lan" || before.Sequence < 1 {
		t.Fatalf("manifest names commune %q, sequence %d", before.Commune, before.Sequence)
	}
	body := `{"communes":["muong-lan"],"reason":"cháy rừng","confirm":true}`
	if resp, raw := sb.do(t, "POST", "/api/segments/"+sb.segs[2]+"/emergency", sb.tokens[pipeline.RoleProducer], strings.NewReader(body), "application/json"); resp.StatusCode != 200 {
		t.Fatalf("emergency: %d %s", resp.StatusCode, raw)
	}
	if after := manifest(); after.Sequence <= before.Sequence {
		t.Fatalf("sequence after the emergency %d, before %d: want it to grow", after.Sequence, before.Sequence)
	}
}

// TestConcurrentSubmissions sends several submissions of one job at once,
// each holding its body back until all have read the job: exactly one is
// stored, the others answer 409 (never 500), and the file the stored
// submission refers to is still in the bucket with no leftovers.
func TestConcurrentSubmissions(t *testing.T) {
	b, _, seg := jobsSetup(t)
	ctx := t.Context()
	tr := pipeline.RoleTranslator
	dir := t.TempDir()
	bodies := map[translation.Kind][]byte{
		translation.KindSubtitle:  []byte("1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ\n\n2\n00:00:03,700 --> 00:00:07,000\nꪶꪎꪙ ꪹꪕꪉ\n"),
		translation.KindVoiceover: readFile(t, mediatest.SpeechMP3(t, dir)),
	}
	var list []translation.Job
	b.call(t, tr, "GET", "/api/jobs", "", "", 200, &list)
	for _, kind := range []translation.Kind{translation.KindSubtitle, translation.KindVoiceover} {
		t.Run(string(kind), func(t *testing.T) {
			job := jobOf(t, list, seg.ID, kind)
			path := "/api/jobs/" + job.ID
			b.call(t, tr, "POST", path+"/claim", "", "", 200, nil)
			const n = 4
			writers := make([]*io.PipeWriter, n)
			codes := make(chan int, n)
			var wg sync.WaitGroup
			for i := range n {
				pr, pw := io.Pipe()
				writers[i] = pw
				req, err := http.NewRequestWithContext(ctx, "POST", b.srv.URL+path+"/submit?name=f", pr)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+b.tokens[tr])
				req.Header.Set("Content-Type", "audio/mpeg")
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						codes <- 0
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					codes <- resp.StatusCode
				}()
			}
			time.Sleep(300 * time.Millisecond) // let every request read the job before any body arrives
			for _, pw := range writers {
				go func() { pw.Write(bodies[kind]); pw.Close() }()
			}
			wg.Wait()
			close(codes)
			count := map[int]int{}
			for c := range codes {
				count[c]++
			}
			if count[200] != 1 || count[409] != n-1 {
				t.Fatalf("answers %v, want one 200 and %d 409", count, n-1)
			}
			var det api.JobDetailView
			b.call(t, tr, "GET", path, "", "", 200, &det)
			if det.Job.State != translation.StateSubmitted || len(det.Submissions) != 1 {
				t.Fatalf("job after the race: %s with %d submissions", det.Job.State, len(det.Submissions))
			}
			key := det.Submissions[0].Key
			if _, err := b.store.Stat(ctx, key); err != nil {
				t.Fatalf("the stored submission's file %s is gone: %v", key, err)
			}
			if objs, _ := b.store.List(ctx, "segments/"+seg.ID+"/jobs/"+job.ID+"/"); len(objs) != 1 {
				t.Fatalf("objects of the job: %+v, want the one submission", objs)
			}
			if left, _ := b.db.StaleUploads(ctx, time.Now().Add(time.Hour)); len(left) != 0 {
				t.Fatalf("upload rows left: %v", left)
			}
		})
	}
}

// TestTokenChecksThrottled: after the address's burst of unknown tokens,
// the next answer is 429 with Retry-After (no lookup), and /metrics
// counts it. A revoked token (a lost device still polling) is refused
// without using the address's budget.
func TestTokenChecksThrottled(t *testing.T) {
	b := setup(t, nil)
	// The throttle's clock stands still, so no budget refills while a
	// loaded machine runs the test.
	frozen := time.Date(2025, 3, 3, 5, 0, 0, 0, time.UTC)
	b.api.Auth.Now = func() time.Time { return frozen }
	ctx := t.Context()
	revoked, err := b.db.CreateToken(ctx, b.users[pipeline.RoleOperator].ID, "lost device")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.db.RevokeToken(ctx, revoked, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * throttle.DefaultAddress.Burst {
		if resp, _ := b.do(t, "GET", "/api/me", revoked, nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("revoked token, poll %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for i := range throttle.DefaultAddress.Burst {
		if resp, _ := b.do(t, "GET", "/api/me", "loa_guess"+strconv.Itoa(i), nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := b.do(t, "GET", "/api/me", "loa_one-more-guess", nil, "")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "Too many unknown tokens") {
		t.Fatalf("guess after the burst: %d %s, want 429", resp.StatusCode, body)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	// Valid tokens from the same address still work: the guesses do not
	// lock out the devices behind it.
	if resp, body := b.do(t, "GET", "/api/me", b.tokens[pipeline.RoleOperator], nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid token after the guesses: %d %s, want 200", resp.StatusCode, body)
	}
	_, metrics := b.do(t, "GET", "/metrics", b.tokens[pipeline.RoleAdmin], nil, "")
	if !strings.Contains(string(metrics), `loa_auth_throttled_total{kind="token"} 1`) {
		t.Fatalf("metrics lack the throttled token check:\n%s", metrics)
	}
}

// TestUploadPartsCapped: empty parts cost the server memory, so an upload
// with too many parts, or with part headers over the form limit, is
// refused before the file is read.
func TestUploadPartsCapped(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	upload := func(extra func(mw *multipart.Writer)) (int, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for _, kv := range radioFields("Nhiều phần") {
			mw.WriteField(kv[0], kv[1])
		}
		extra(mw)
		w, _ := mw.CreateFormFile("file", "a.mp3")
		w.Write(speech)
		mw.Close()
		resp, raw := b.do(t, "POST", "/api/segments", b.tokens[pipeline.RoleProducer], &buf, mw.FormDataContentType())
		return resp.StatusCode, string(raw)
	}
	tests := []struct {
		name  string
		extra func(mw *multipart.Writer)
		want  string
	}{
		{"100 empty parts", func(mw *multipart.Writer) {
			for range 100 {
				mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="languages"`}})
			}
		}, "more than 64 parts"},
		{"part headers over the form limit", func(mw *multipart.Writer) {
			for range 5 {
				mw.CreatePart(textproto.MIMEHeader{"Content-Disposition": {`form-data; name="languages"`}, "X-Pad": {strings.Repeat("a", 300<<10)}})
			}
		}, "part headers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := upload(tc.extra); code != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want 422 saying %q", code, body, tc.want)
			}
			if objs, segs, ups := b.leftovers(t); objs+segs+ups != 0 {
				t.Fatalf("left %d objects, %d segments, %d upload rows", objs, segs, ups)
			}
		})
	}
}

// TestAuditCSVFormulaSafe: the audit log's actor and subject columns are
// names people chose; none of its cells may run as a formula.
func TestAuditCSVFormulaSafe(t *testing.T) {
	b := setup(t, nil)
	ctx := t.Context()
	boss, err := b.db.CreateUser(ctx, pipeline.NewUser{Name: "@SUM(1)", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := b.db.SQL().ExecContext(ctx, `INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
		original_key, original_name, content_type, size_bytes, probe, created_at, updated_at) VALUES ('=1+1', 'abc', 't', 'radio', 'procedures', 'normal', ?, ?, 'vi', 'processed', ?, 'o', 'a.mp3', 'audio/mpeg', 1, '{}', ?, ?)`,
		now, now.Add(time.Hour), boss.ID, now, now); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SQL().ExecContext(ctx, `INSERT INTO segment_events (segment_id, at, user_id, action, detail) VALUES ('=1+1', ?, ?, 'upload', 'a.mp3')`, now, boss.ID); err != nil {
		t.Fatal(err)
	}
	resp, body := b.do(t, "GET", "/api/audit?format=csv&period="+report.PeriodOf(report.Month, now).Name, b.tokens[pipeline.RoleAdmin], nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("audit: %d %s", resp.StatusCode, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var actor, subject bool
	for _, r := range recs {
		for _, f := range r {
			if f != "" && strings.ContainsRune("=+-@", rune(f[0])) {
				t.Errorf("audit cell %q would run as a formula", f)
			}
		}
		actor = actor || r[1] == "'@SUM(1)"
		subject = subject || r[3] == "'=1+1" || r[3] == "'@SUM(1)"
	}
	if !actor || !subject {
		t.Fatalf("the audit lacks the escaped actor or subject:\n%s", body)
	}
}

// TestBundleTarWholeOrRefused: bundle.tar carries its exact length (so a
// client notices an archive cut short mid-stream) and holds every file
// the signed manifest lists; when a media object cannot be read, the
// answer is 503 before any byte of archive, never a 200 cut short.
func TestBundleTarWholeOrRefused(t *testing.T) {
	sb := setupSchedules(t)
	ctx := t.Context()
	op := sb.tokens[pipeline.RoleOperator]
	path := "/api/communes/muong-lan/bundle.tar?days=2"
	resp, data := sb.get(t, path, op)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
		t.Fatalf("bundle.tar: %d, Content-Length %q for %d bytes", resp.StatusCode, resp.Header.Get("Content-Length"), len(data))
	}
	tr := tar.NewReader(bytes.NewReader(data))
	got := map[string]int64{}
	var manifest []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = int64(len(body))
		if h.Name == schedules.ManifestName {
			manifest = body
		}
	}
	var m schedules.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		t.Fatal(err)
	}
	var media string
	for _, f := range m.Files {
		if got[f.Path] != f.Size {
			t.Errorf("%s: %d bytes in the archive, manifest says %d", f.Path, got[f.Path], f.Size)
		}
		if strings.HasPrefix(f.Path, "media/") {
			media = f.SHA256
		}
	}
	if media == "" {
		t.Fatal("the bundle has no media to take away")
	}
	// The store loses one media object (the audio key is the segment's
	// variant; find it by checksum).
	objs, err := sb.store.List(ctx, "segments/")
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	for _, o := range objs {
		rc, err := sb.store.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, rc)
		rc.Close()
		if hex.EncodeToString(h.Sum(nil)) == media {
			if err := sb.store.Remove(ctx, o.Key); err != nil {
				t.Fatal(err)
			}
			removed = true
		}
	}
	if !removed {
		t.Fatal("no object holds the bundle's media")
	}
	resp, data = sb.get(t, path, op)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(data), "cannot serve media/") {
		t.Fatalf("bundle.tar without its media: %d %q, want 503 before any archive byte", resp.StatusCode, data)
	}
}

// TestWideEmergencyNeedsAdmin: naming communes one by one is no way
// around the second person. A producer's emergency on more than half of
// the registry's communes waits for an administrator like a
// province-wide one, and the administrator's confirmation raises it on
// exactly the communes asked for; a few communes go out at once.
func TestWideEmergencyNeedsAdmin(t *testing.T) {
	sb := setupSchedules(t)
	ctx := t.Context()
	communes, err := sb.db.Communes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, c := range communes {
		all = append(all, c.Code)
	}
	most := all[:len(all)/2+1]
	asked, _ := json.Marshal(map[string]any{"communes": most, "reason": "Lũ quét", "confirm": true})
	url := "/api/segments/" + sb.segs[2] + "/emergency"
	resp, body := sb.do(t, "POST", url, sb.tokens[pipeline.RoleProducer], bytes.NewReader(asked), "application/json")
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"pending": true`) || !strings.Contains(string(body), "more than half") {
		t.Fatalf("a producer's emergency on %d of %d communes: %d %s, want 202 pending", len(most), len(all), resp.StatusCode, body)
	}
	if ems, _ := sb.db.ActiveEmergencies(ctx, time.Time{}); len(ems) != 0 {
		t.Fatalf("a pending emergency is active: %+v", ems)
	}
	confirm := "/api/segments/" + sb.segs[2] + "/emergency/confirm"
	if resp, body := sb.do(t, "POST", confirm, sb.tokens[pipeline.RoleAdmin], strings.NewReader(`{"confirm":true}`), "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("admin confirms: %d %s", resp.StatusCode, body)
	}
	ems, err := sb.db.ActiveEmergencies(ctx, time.Time{})
	if err != nil || len(ems) != 1 || !slices.Equal(slices.Sorted(slices.Values(ems[0].Targets)), slices.Sorted(slices.Values(most))) {
		t.Fatalf("confirmed emergency %+v %v, want exactly %v", ems, err, most)
	}
	// A few communes need no second person.
	few, _ := json.Marshal(map[string]any{"communes": all[:1], "reason": "Cháy rừng", "confirm": true})
	if resp, body := sb.do(t, "POST", "/api/segments/"+sb.segs[1]+"/emergency", sb.tokens[pipeline.RoleProducer], bytes.NewReader(few), "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a producer's emergency on one commune: %d %s, want 200", resp.StatusCode, body)
	}
}

// linkLifetime is how long a presigned S3 link was signed for.
func linkLifetime(t *testing.T, link string) time.Duration {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	s, err := strconv.Atoi(u.Query().Get("X-Amz-Expires"))
	if err != nil {
		t.Fatalf("link %s has no X-Amz-Expires", link)
	}
	return time.Duration(s) * time.Second
}

// TestLinkLifetimes: a segment's download links last an hour and a
// bundle's media links three (not 24 h and up to 7 days); a withdrawn
// segment gets no links and its bulletin audio URL answers 404.
func TestLinkLifetimes(t *testing.T) {
	sb := setupSchedules(t)
	seg := sb.segs[0]
	var v api.SegmentView
	sb.call(t, pipeline.RoleProducer, "GET", "/api/segments/"+seg, "", "", 200, &v)
	if len(v.Links) == 0 {
		t.Fatal("a ready segment has no links")
	}
	for name, l := range v.Links {
		if d := linkLifetime(t, l); d > time.Hour {
			t.Errorf("segment link %s lasts %s, want at most 1h", name, d)
		}
	}
	var idx wire.BundleIndex
	sb.call(t, pipeline.RoleOperator, "GET", "/api/communes/muong-lan/bundle?days=7", "", "", 200, &idx)
	if len(idx.Links) == 0 {
		t.Fatal("the bundle has no media links")
	}
	for p, l := range idx.Links {
		if d := linkLifetime(t, l); d > api.BundleLinkTTL {
			t.Errorf("bundle link %s lasts %s, want at most %s", p, d, api.BundleLinkTTL)
		}
	}
	sb.call(t, pipeline.RoleProducer, "DELETE", "/api/segments/"+seg+"?confirm="+seg+"&reason=sai", "", "", 200, nil)
	v = api.SegmentView{}
	sb.call(t, pipeline.RoleProducer, "GET", "/api/segments/"+seg, "", "", 200, &v)
	if len(v.Links) != 0 {
		t.Errorf("a withdrawn segment still gets links: %v", v.Links)
	}
	if resp, _ := sb.do(t, "GET", "/api/bulletin/vi/audio/"+seg+".mp3", "", nil, ""); resp.StatusCode != 404 {
		t.Errorf("a withdrawn segment's bulletin audio: %d, want 404", resp.StatusCode)
	}
}

// TestBundleFromBounded: the server signs bundles only from yesterday to
// the last day built; any other from (a far future that would make a
// signed empty bundle, a year JSON cannot hold) is a 422 that names the
// allowed range, on the index and on the archive alike. Yesterday, inside
// that window but before the build's first day, is a 404 naming the days
// built: a bundle never claims a day with no schedule.
func TestBundleFromBounded(t *testing.T) {
	sb := setupSchedules(t)
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	last := today.AddDays(6) // the service builds 7 days by default
	for _, tc := range []struct {
		from string
		want int
	}{
		{today.AddDays(-1).String(), 404},
		{today.String(), 200},
		{last.String(), 200},
		{today.AddDays(-2).String(), 422},
		{last.AddDays(1).String(), 422},
		{"2100-01-01", 422},
		{"9999-12-25", 422},
	} {
		for _, route := range []string{"bundle", "bundle.tar"} {
			t.Run(route+" from "+tc.from, func(t *testing.T) {
				resp, body := sb.do(t, "GET", "/api/communes/muong-lan/"+route+"?days=14&from="+tc.from, sb.tokens[pipeline.RoleOperator], nil, "")
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
				}
				if tc.want == 404 {
					for _, s := range []string{today.String(), last.String(), "built"} {
						if !strings.Contains(string(body), s) {
							t.Errorf("the refusal does not name the days built (%s): %s", s, body)
						}
					}
				}
				if tc.want == 422 {
					for _, s := range []string{today.AddDays(-1).String(), last.String()} {
						if !strings.Contains(string(body), s) {
							t.Errorf("the refusal does not name the allowed range (%s): %s", s, body)
						}
					}
				}
			})
		}
	}
}

// TestBundleCoversBuiltDaysOnly: a bundle asked for days past the last day
// the schedules were built for runs only to that day: its signed
// manifest's until and valid_until name the last built day, the index
// says how many days it covers of how many asked, no playlist of an
// unbuilt day is in it, and the archive says the same (the tester's
// from=last built day, days=3). A range inside the built days is served
// whole. The server's clock is the injected one.
func TestBundleCoversBuiltDaysOnly(t *testing.T) {
	sb := setupSchedules(t)
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	last := today.AddDays(6) // the service builds 7 days by default
	for _, tc := range []struct {
		from      schedules.Date
		days      int
		wantUntil schedules.Date
	}{
		{last, 3, last},
		{last, 1, last},
		{today, 14, last},
		{today, 2, today.AddDays(1)},
		{last.AddDays(-1), 3, last},
	} {
		t.Run(fmt.Sprintf("%s+%d", tc.from, tc.days), func(t *testing.T) {
			var idx wire.BundleIndex
			sb.call(t, pipeline.RoleOperator, "GET", fmt.Sprintf("/api/communes/muong-lan/bundle?from=%s&days=%d", tc.from, tc.days), "", "", 200, &idx)
			var m schedules.Manifest
			if err := json.Unmarshal([]byte(idx.Manifest), &m); err != nil {
				t.Fatal(err)
			}
			wantValid := tc.wantUntil.AddDays(1).In(broadcast.Location())
			if m.From != tc.from.String() || m.Until != tc.wantUntil.String() || !m.ValidUntil.Equal(wantValid) {
				t.Fatalf("manifest from %s until %s valid_until %s, want %s until %s valid_until %s",
					m.From, m.Until, m.ValidUntil, tc.from, tc.wantUntil, wantValid.UTC())
			}
			wantDays := tc.wantUntil.DaysSince(tc.from) + 1
			if idx.From != m.From || idx.Until != m.Until || idx.Days != wantDays || idx.DaysAsked != tc.days {
				t.Fatalf("index says %s to %s, %d of %d days; want %s to %s, %d of %d", idx.From, idx.Until, idx.Days, idx.DaysAsked, m.From, m.Until, wantDays, tc.days)
			}
			dates := map[string]bool{} // the days with playlists (none on Sundays)
			for _, f := range m.Files {
				if d, _, ok := strings.Cut(f.Path, "_"); ok && !strings.HasPrefix(f.Path, "media/") {
					dates[d] = true
					if pd, err := schedules.ParseDate(d); err != nil || pd.Before(tc.from) || tc.wantUntil.Before(pd) {
						t.Errorf("the bundle lists %s, outside %s to %s", f.Path, tc.from, tc.wantUntil)
					}
				}
			}
			if len(dates) == 0 && tc.from.Weekday() != time.Sunday {
				t.Errorf("no playlist in the bundle of %s (the registry's slots are Monday to Saturday)", tc.from)
			}
			resp, body := sb.do(t, "GET", fmt.Sprintf("/api/communes/muong-lan/bundle.tar?from=%s&days=%d", tc.from, tc.days), sb.tokens[pipeline.RoleOperator], nil, "")
			if resp.StatusCode != 200 || resp.Header.Get("X-Loa-Bundle-Days") != fmt.Sprintf("%d of %d", wantDays, tc.days) {
				t.Fatalf("archive: %d, X-Loa-Bundle-Days %q: %.200s", resp.StatusCode, resp.Header.Get("X-Loa-Bundle-Days"), body)
			}
		})
	}
}
