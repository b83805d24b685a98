package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// bundle is one test's server with its real database and bucket.
type bundle struct {
	srv *httptest.Server
	// playlists is the playlist listener's URL (LOA_PLAYLIST_ADDR): the
	// same server's Playlist routes on fasthttp.
	playlists string
	db        *sqlstore.DB
	store     objects.Backend
	api       *api.Server
	tokens    map[pipeline.Role]string
	users     map[pipeline.Role]pipeline.User
}

func setup(t *testing.T, tune func(*pipeline.Ingester)) *bundle {
	t.Helper()
	store, _ := objectstest.New(t)
	return setupOn(t, store, tune)
}

// setupOn is setup on a given object store, such as objectstest.Memory
// for tests that are not about media.
func setupOn(t *testing.T, store objects.Backend, tune func(*pipeline.Ingester)) *bundle {
	t.Helper()
	return setupAt(t, store, tune, nil)
}

// setupAt is setupOn with the store's, the server's and the ingester's
// clocks set to clock (nil: the machine's).
func setupAt(t *testing.T, store objects.Backend, tune func(*pipeline.Ingester), clock func() time.Time) *bundle {
	t.Helper()
	db := sqlstoretest.New(t)
	if clock != nil {
		db.Now = clock
	}
	in := &pipeline.Ingester{
		Store: db, Objects: store, Inspector: media.Inspector{Limits: media.Limits{MaxDuration: 10 * time.Minute}}, Now: clock,
		CheckSubtitle: pipeline.CheckSourceSubtitles, MaxBytes: 64 << 20, MaxSubtitleBytes: 256 << 10,
	}
	if tune != nil {
		tune(in)
	}
	s := &api.Server{Catalog: db, Objects: store, Ingester: in, Now: clock}
	return serve(t, db, store, s)
}

// serve starts s over HTTP, loads the Sơn La demo registry and gives the
// server one user and token per role (the operator answers for Mường Lạn,
// code muong-lan; translators and reviewers for Thái).
func serve(t testing.TB, db *sqlstore.DB, store objects.Backend, s *api.Server) *bundle {
	t.Helper()
	ctx := context.Background()
	b := &bundle{db: db, store: store, api: s, tokens: map[pipeline.Role]string{}, users: map[pipeline.Role]pipeline.User{}}
	b.srv = httptest.NewServer(s.Handler())
	t.Cleanup(b.srv.Close)
	s.PublicURL = b.srv.URL
	b.playlists = servePlaylists(t, s)
	broadcasttest.LoadRegistry(t, db, broadcasttest.DemoRegistry)
	for _, role := range pipeline.Roles {
		n := pipeline.NewUser{Name: "u-" + string(role), Role: role, Password: "mat-khau-dai-du", Languages: []string{"blt"}, Commune: "muong-lan"}
		u, err := db.CreateUser(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := db.CreateToken(ctx, u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		b.tokens[role], b.users[role] = tok, u
	}
	return b
}

// servePlaylists starts s's playlist listener on a loopback port and
// returns its URL; it is shut down when the test ends.
func servePlaylists(t testing.TB, s *api.Server) string {
	t.Helper()
	pl, err := s.PlaylistListener()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- pl.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := pl.Shutdown(ctx); err != nil {
			t.Errorf("playlist listener shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("playlist listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// restoreAccounts undoes what the account-control routes (disable, sign
// out everywhere) did to the test's users: a user is enabled again and a
// role whose token no longer works gets a new one.
func (b *bundle) restoreAccounts(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for role, u := range b.users {
		if _, err := b.db.UserByToken(ctx, b.tokens[role]); err == nil {
			continue
		}
		if _, err := b.db.SetUserDisabled(ctx, u.Name, false, pipeline.Actor{}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.db.UserByToken(ctx, b.tokens[role]); err == nil {
			continue
		}
		tok, err := b.db.CreateToken(ctx, u.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		b.tokens[role] = tok
	}
}

func (b *bundle) do(t *testing.T, method, path, token string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	return b.doAt(t, b.srv.URL, method, path, token, body, contentType)
}

// doAt is do on the listener at base (b.srv.URL or b.playlists).
func (b *bundle) doAt(t *testing.T, base, method, path, token string, body io.Reader, contentType string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// multipartBody builds an upload: fields in order, then subtitles, then
// the media file.
func multipartBody(t *testing.T, fields [][2]string, subtitles []byte, fileName string, media []byte) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range fields {
		mw.WriteField(kv[0], kv[1])
	}
	if subtitles != nil {
		w, _ := mw.CreateFormFile("subtitles", "vi.srt")
		w.Write(subtitles)
	}
	w, _ := mw.CreateFormFile("file", fileName)
	w.Write(media)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func (b *bundle) upload(t *testing.T, role pipeline.Role, fields [][2]string, subtitles []byte, fileName string, data []byte) (int, api.UploadResponse, wire.ErrorBody) {
	t.Helper()
	body, ct := multipartBody(t, fields, subtitles, fileName, data)
	resp, raw := b.do(t, "POST", "/api/segments", b.tokens[role], body, ct)
	var ok api.UploadResponse
	var bad wire.ErrorBody
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, &ok); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
	} else if err := json.Unmarshal(raw, &bad); err != nil {
		t.Fatalf("decode error %s: %v", raw, err)
	}
	return resp.StatusCode, ok, bad
}

// leftovers counts what a refused upload could leave: objects, segment
// noLeftovers fails t when a refusal left objects, segments or upload
// rows behind.
func (b *bundle) noLeftovers(t *testing.T) {
	t.Helper()
	if objs, segs, ups := b.leftovers(t); objs+segs+ups != 0 {
		t.Fatalf("refusal left %d objects, %d segments, %d upload rows", objs, segs, ups)
	}
}

// refusedOn fails t unless raw is a refusal on field and it left nothing
// behind.
func (b *bundle) refusedOn(t *testing.T, raw []byte, field string) {
	t.Helper()
	var bad wire.ErrorBody
	if err := json.Unmarshal(raw, &bad); err != nil || bad.Error.Field != field {
		t.Fatalf("refusal field %q, want %q (%s)", bad.Error.Field, field, raw)
	}
	b.noLeftovers(t)
}

// rows, and upload rows.
func (b *bundle) leftovers(t *testing.T) (objs, segs, ups int) {
	t.Helper()
	ctx := context.Background()
	list, err := b.store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.db.Segments(ctx, pipeline.SegmentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.db.StaleUploads(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return len(list), len(s), len(u)
}

func radioFields(title string) [][2]string {
	return [][2]string{{"title", title}, {"kind", "radio"}, {"topic", "procedures"}, {"priority", "normal"}}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoutePolicy pins who may call what: a route opened by mistake
// fails here.
func TestRoutePolicy(t *testing.T) {
	want := map[string][]pipeline.Role{
		"GET /healthz":                               nil,
		"GET /readyz":                                nil,
		"GET /metrics":                               {pipeline.RoleAdmin}, // and metrics tokens
		"GET /api/me":                                pipeline.Roles,
		"GET /api/topics":                            pipeline.Roles,
		"GET /api/users":                             {pipeline.RoleAdmin},
		"POST /api/users":                            {pipeline.RoleAdmin},
		"POST /api/users/{name}/tokens":              {pipeline.RoleAdmin},
		"POST /api/users/{name}/disable":             {pipeline.RoleAdmin},
		"POST /api/users/{name}/enable":              {pipeline.RoleAdmin},
		"POST /api/users/{name}/sign-out-everywhere": {pipeline.RoleAdmin},
		"POST /api/me/sign-out-everywhere":           pipeline.Roles,
		"POST /api/me/password":                      pipeline.Roles,
		"POST /api/users/{name}/password":            {pipeline.RoleAdmin},
		"GET /api/tokens":                            {pipeline.RoleAdmin},
		"DELETE /api/tokens/{id}":                    {pipeline.RoleAdmin},
		"POST /api/segments":                         {pipeline.RoleAdmin, pipeline.RoleProducer},
		"GET /api/segments":                          {pipeline.RoleAdmin, pipeline.RoleProducer},
		"GET /api/segments/{id}":                     {pipeline.RoleAdmin, pipeline.RoleProducer},
		"DELETE /api/segments/{id}":                  {pipeline.RoleAdmin, pipeline.RoleProducer},
		"PUT /api/segments/{id}/priority":            {pipeline.RoleAdmin, pipeline.RoleProducer},
		// Communes, schedules and distribution (pipeline/api/schedules.go).
		"GET /api/signing-key":                                         nil,
		"GET /api/communes":                                            {pipeline.RoleAdmin, pipeline.RoleProducer, pipeline.RoleOperator},
		"POST /api/communes/import":                                    {pipeline.RoleAdmin},
		"GET /api/communes/{code}":                                     {pipeline.RoleAdmin, pipeline.RoleProducer, pipeline.RoleOperator},
		"POST /api/communes/{code}/devices":                            {pipeline.RoleAdmin},
		"POST /api/schedules/build":                                    {pipeline.RoleAdmin},
		"GET /api/communes/{code}/clusters/{cluster}/playlists/{file}": {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/communes/{code}/bundle":                              {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/communes/{code}/bundle.tar":                          {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/communes/{code}/events":                              {pipeline.RoleAdmin, pipeline.RoleOperator},
		"POST /api/communes/{code}/plays":                              {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/communes/{code}/schedule":                            {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/communes/{code}/explain":                             {pipeline.RoleAdmin, pipeline.RoleProducer, pipeline.RoleOperator},
		"POST /api/segments/{id}/emergency":                            {pipeline.RoleAdmin, pipeline.RoleProducer},
		"POST /api/segments/{id}/emergency/confirm":                    {pipeline.RoleAdmin},
		"POST /api/segments/{id}/emergency/end":                        {pipeline.RoleAdmin, pipeline.RoleProducer},
		"POST /api/segments/{id}/emergency/request/cancel":             {pipeline.RoleAdmin, pipeline.RoleProducer},
		// Commune players' heartbeats (pipeline/api/heartbeats.go).
		"POST /api/communes/{code}/heartbeat": {pipeline.RoleOperator},
		"GET /api/communes/{code}/devices":    {pipeline.RoleAdmin, pipeline.RoleOperator},
		"GET /api/devices":                    {pipeline.RoleAdmin, pipeline.RoleOperator},
		// Translation jobs and glossaries (pipeline/api/jobs.go).
		"GET /api/jobs":                       {pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer},
		"GET /api/jobs/{id}":                  {pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer},
		"GET /api/jobs/{id}/prefill":          {pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer},
		"POST /api/jobs/{id}/claim":           {pipeline.RoleTranslator},
		"POST /api/jobs/{id}/extend":          {pipeline.RoleTranslator},
		"POST /api/jobs/{id}/release":         {pipeline.RoleTranslator, pipeline.RoleReviewer},
		"POST /api/jobs/{id}/submit":          {pipeline.RoleTranslator},
		"POST /api/jobs/{id}/review":          {pipeline.RoleReviewer},
		"POST /api/jobs/{id}/approve":         {pipeline.RoleReviewer},
		"POST /api/jobs/{id}/request-changes": {pipeline.RoleReviewer},
		"POST /api/jobs/{id}/cancel":          {pipeline.RoleAdmin},
		"POST /api/jobs/{id}/rerender":        {pipeline.RoleAdmin, pipeline.RoleReviewer},
		"GET /api/glossary/{lang}":            {pipeline.RoleAdmin, pipeline.RoleTranslator, pipeline.RoleReviewer},
		"PUT /api/glossary/{lang}":            {pipeline.RoleAdmin},
		"PUT /api/users/{name}/email":         {pipeline.RoleAdmin},
		// Notices whose delivery is in doubt (pipeline/api/notices.go).
		"GET /api/notices": {pipeline.RoleAdmin},
		// Reports, audit log, weekly bulletin (pipeline/api/reports.go).
		"GET /api/reports":                      {pipeline.RoleAdmin},
		"GET /api/reports/stored":               {pipeline.RoleAdmin},
		"GET /api/audit":                        {pipeline.RoleAdmin},
		"GET /api/bulletin/{lang}":              nil,
		"GET /api/bulletin/{lang}/feed.xml":     nil,
		"GET /api/bulletin/{lang}/audio/{file}": nil,
		"GET /api/bulletin/artwork.png":         nil,
	}
	s := &api.Server{}
	got := map[string][]pipeline.Role{}
	for _, r := range s.Routes() {
		got[r.Method+" "+r.Pattern] = r.Roles
	}
	for k, roles := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("route %s is missing", k)
			continue
		}
		if !slices.Equal(slices.Sorted(slices.Values(g)), slices.Sorted(slices.Values(roles))) {
			t.Errorf("route %s allows %v, want %v", k, g, roles)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("route %s has no pinned policy: add it to this test", k)
		}
	}
	// The playlist listener (LOA_PLAYLIST_ADDR) serves these and no other.
	wantPlaylist := []string{"GET /api/communes/{code}/clusters/{cluster}/playlists/{file}"}
	var playlist []string
	for _, r := range s.Routes() {
		if r.Playlist {
			playlist = append(playlist, r.Method+" "+r.Pattern)
		}
	}
	if !slices.Equal(playlist, wantPlaylist) {
		t.Errorf("routes marked Playlist: %v, want %v", playlist, wantPlaylist)
	}
}

// TestRoleMatrix calls every route as every role and as nobody, and
// checks the answer is 401 without a token, 403 for a role the route does
// not allow, and neither for a role it allows; on the in-memory object
// store (so it runs without MinIO) and on MinIO.
func TestRoleMatrix(t *testing.T) {
	objectstest.Each(t, func(t *testing.T, store objects.Backend) {
		testRoleMatrix(t, setupOn(t, store, nil))
	})
}

func testRoleMatrix(t *testing.T, b *bundle) {
	for _, rt := range b.api.Routes() {
		path := strings.NewReplacer("{id}", "no-such-id", "{name}", "u-producer").Replace(rt.Pattern)
		callers := append([]pipeline.Role{""}, pipeline.Roles...)
		// A Playlist route is asked on the playlist listener too, and
		// must be refused there as here.
		bases := map[string]string{"": b.srv.URL}
		if rt.Playlist {
			bases[" (playlist listener)"] = b.playlists
		}
		for where, base := range bases {
			for _, role := range callers {
				name := rt.Method + " " + rt.Pattern + " as " + string(role) + where
				if role == "" {
					name = rt.Method + " " + rt.Pattern + " anonymous" + where
				}
				t.Run(name, func(t *testing.T) {
					resp, body := b.doAt(t, base, rt.Method, path, b.tokens[role], strings.NewReader("{}"), "application/json")
					allowed := rt.Public || slices.Contains(rt.Roles, role)
					switch {
					case rt.Public:
						if resp.StatusCode == 401 || resp.StatusCode == 403 {
							t.Fatalf("public route answered %d", resp.StatusCode)
						}
					case role == "":
						if resp.StatusCode != http.StatusUnauthorized {
							t.Fatalf("anonymous got %d %s, want 401", resp.StatusCode, body)
						}
					case !allowed:
						if resp.StatusCode != http.StatusForbidden {
							t.Fatalf("role %s got %d %s, want 403", role, resp.StatusCode, body)
						}
					default:
						if resp.StatusCode == 401 || resp.StatusCode == 403 {
							t.Fatalf("allowed role %s got %d %s", role, resp.StatusCode, body)
						}
					}
				})
				b.restoreAccounts(t)
			}
		}
	}
	t.Run("revoked or unknown token", func(t *testing.T) {
		resp, _ := b.do(t, "GET", "/api/me", "loa_not-a-token", nil, "")
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("got %d, want 401", resp.StatusCode)
		}
	})
}
