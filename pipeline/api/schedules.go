package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// Who may use the schedule routes. Operators (people and devices) are
// further limited to their own commune.
var (
	communeReaders = []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleProducer, pipeline.RoleOperator}
	communeUsers   = []pipeline.Role{pipeline.RoleAdmin, pipeline.RoleOperator}
)

// scheduleRoutes are the communes, schedules and distribution routes.
func (s *Server) scheduleRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/signing-key", Public: true, Roles: publicNone, handler: s.signingKey},
		{Method: "GET", Pattern: "/api/communes", Roles: communeReaders, handler: s.listCommunes},
		{Method: "POST", Pattern: "/api/communes/import", Roles: adminOnly, handler: s.importCommunes, maxBody: s.maxRegistry},
		{Method: "GET", Pattern: "/api/communes/{code}", Roles: communeReaders, handler: s.getCommune},
		{Method: "POST", Pattern: "/api/communes/{code}/devices", Roles: adminOnly, handler: s.createDevice},
		{Method: "POST", Pattern: "/api/schedules/build", Roles: adminOnly, handler: s.buildSchedules},
		{Method: "GET", Pattern: "/api/communes/{code}/clusters/{cluster}/playlists/{file}", Roles: communeUsers, Playlist: true, noBody: true, lean: s.playlist},
		{Method: "GET", Pattern: "/api/communes/{code}/bundle", Roles: communeUsers, handler: s.bundleIndex},
		{Method: "GET", Pattern: "/api/communes/{code}/bundle.tar", Roles: communeUsers, handler: s.bundleTar},
		{Method: "GET", Pattern: "/api/communes/{code}/events", Roles: communeUsers, handler: s.communeEvents},
		{Method: "POST", Pattern: "/api/communes/{code}/plays", Roles: communeUsers, handler: s.reportPlays},
		{Method: "GET", Pattern: "/api/communes/{code}/schedule", Roles: communeUsers, handler: s.showSchedule},
		{Method: "GET", Pattern: "/api/communes/{code}/explain", Roles: communeReaders, handler: s.explainSchedule},
		{Method: "POST", Pattern: "/api/segments/{id}/emergency", Roles: producers, handler: s.markEmergency},
		{Method: "POST", Pattern: "/api/segments/{id}/emergency/confirm", Roles: adminOnly, handler: s.confirmEmergency},
		{Method: "POST", Pattern: "/api/segments/{id}/emergency/end", Roles: producers, handler: s.endEmergency},
		{Method: "POST", Pattern: "/api/segments/{id}/emergency/request/cancel", Roles: producers, handler: s.cancelEmergencyRequest},
	}
}

func (s *Server) broadcast() (*broadcast.Service, error) {
	if s.Broadcast == nil {
		return nil, pipeline.Errorf(pipeline.CodeUnavailable, "Schedules are not set up on this server.")
	}
	return s.Broadcast, nil
}

// commune returns the commune of the path, if the user may see it: an
// operator sees only the commune they answer for; any other is "not
// found", so codes do not leak.
func (s *Server) commune(r *http.Request, u pipeline.User) (pipeline.CommuneHead, error) {
	return s.communeOf(r.Context(), r.PathValue("code"), u)
}

// communeOf is commune of the commune code (the path's {code}).
func (s *Server) communeOf(ctx context.Context, code string, u pipeline.User) (pipeline.CommuneHead, error) {
	b, err := s.broadcast()
	if err != nil {
		return pipeline.CommuneHead{}, err
	}
	head, err := b.Store.CommuneHead(ctx, code)
	// ErrorCode only of an error: it allocates (a poll's path has none).
	if u.Role == pipeline.RoleOperator && (err != nil && pipeline.ErrorCode(err) == pipeline.CodeNotFound || err == nil && !head.Answers(u.Commune)) {
		// One answer whether the code exists or not.
		return pipeline.CommuneHead{}, pipeline.Errorf(pipeline.CodeNotFound, "No commune %q among those you answer for (you answer for %q).", code, u.Commune)
	}
	if err != nil {
		return head, err
	}
	return head, nil
}

func (s *Server) signingKey(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	b, err := s.broadcast()
	if err != nil {
		return err
	}
	pub := b.PublicKey()
	if pub == nil {
		return pipeline.Errorf(pipeline.CodeUnavailable, "This server has no signing key.")
	}
	writeJSON(w, http.StatusOK, wire.SigningKey{Algorithm: "ed25519", PublicKey: base64.StdEncoding.EncodeToString(pub), KeyID: schedules.KeyID(pub)})
	return nil
}

func (s *Server) listCommunes(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	b, err := s.broadcast()
	if err != nil {
		return err
	}
	all, err := b.Store.Communes(r.Context())
	if err != nil {
		return err
	}
	if u.Role == pipeline.RoleOperator {
		mine := []pipeline.CommuneSummary{}
		for _, c := range all {
			if (pipeline.CommuneHead{Code: c.Code, Name: c.Name}).Answers(u.Commune) {
				mine = append(mine, c)
			}
		}
		all = mine
	}
	writeJSON(w, http.StatusOK, all)
	return nil
}

// importCommunes takes a registry file as the body: YAML (Content-Type
// application/yaml or text/yaml) or CSV (text/csv), or by ?name=FILE.
// maxRegistryBytes caps a commune registry's import (8 MiB).
const maxRegistryBytes = 8 << 20

func (s *Server) importCommunes(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	b, err := s.broadcast()
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch ct {
		case "text/csv":
			name = "registry.csv"
		case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
			name = "registry.yaml"
		default:
			return pipeline.Errorf(pipeline.CodeInvalid, "Send the registry as YAML (Content-Type: application/yaml) or CSV (text/csv), or name the file with ?name=communes.yaml.")
		}
	}
	data, err := readBody(r, maxRegistryBytes, "registry")
	if err != nil {
		return err
	}
	reg, err := schedules.ParseRegistry(name, bytes.NewReader(data))
	if err != nil {
		return &pipeline.Error{Code: pipeline.CodeInvalid, Message: "The registry has problems; fix them and import again:\n" + err.Error(), Err: err}
	}
	var opt schedules.ImportOptions
	switch v := r.URL.Query().Get("allow_removals"); v {
	case "", "0", "false":
	case "1", "true":
		opt.AllowRemovals = true
	default:
		return pipeline.FieldError("allow_removals", "allow_removals is 1 (the import may remove the clusters the file no longer lists) or 0, not %q.", v)
	}
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "0", "false":
	case "1", "true":
		opt.DryRun = true
	default:
		return pipeline.FieldError("dry_run", "dry_run is 1 (check the file and say what importing it would change, writing nothing) or 0, not %q.", v)
	}
	res, err := b.Import(r.Context(), reg, opt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// CommuneView is one commune of the registry as the API shows it.
type CommuneView struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Version  string        `json:"version,omitempty"`
	ETag     string        `json:"etag,omitempty"`
	Slots    []SlotView    `json:"slots"`
	Clusters []ClusterView `json:"clusters"`
}

// ClusterView is a loudspeaker cluster.
type ClusterView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Languages []string   `json:"languages"`
	Slots     []SlotView `json:"slots,omitempty"`
}

// SlotView is a broadcast slot.
type SlotView struct {
	Days     string `json:"days"`
	Start    string `json:"start"`
	Length   string `json:"length"`
	Reserved string `json:"reserved,omitempty"`
}

func slotViews(ss []schedules.Slot) []SlotView {
	out := []SlotView{}
	for _, s := range ss {
		v := SlotView{Days: s.Days.String(), Start: s.Start.String(), Length: s.Length.String()}
		if s.Reserved > 0 {
			v.Reserved = s.Reserved.String()
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) getCommune(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	reg, err := s.Broadcast.Store.Registry(r.Context())
	if err != nil {
		return err
	}
	c := reg.Commune(head.Code)
	if c == nil {
		return pipeline.Errorf(pipeline.CodeNotFound, "No commune %q.", head.Code)
	}
	v := CommuneView{Code: c.Code, Name: c.Name, Kind: string(c.Kind), Version: head.VersionID, ETag: head.ETag, Slots: slotViews(c.Slots)}
	for _, cl := range c.Clusters {
		cv := ClusterView{ID: cl.ID, Name: cl.Name, Languages: []string{}}
		for _, l := range cl.Languages {
			cv.Languages = append(cv.Languages, string(l))
		}
		if len(cl.Slots) > 0 {
			cv.Slots = slotViews(cl.Slots)
		}
		v.Clusters = append(v.Clusters, cv)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// DeviceResponse answers POST /api/communes/{code}/devices: the device's
// account and its token, shown once, and where its playlists are polled.
type DeviceResponse struct {
	User  pipeline.User `json:"user"`
	Token string        `json:"token"`
	// PlaylistURL is the server's playlist listener (Server.PlaylistURL)
	// when it has one: controllers poll BASE/api/communes/CODE/clusters/
	// CLUSTER/playlists/DATE.m3u8 there. Empty: the main address serves
	// them.
	PlaylistURL string `json:"playlist_url,omitempty"`
}

// deviceMaker makes a device account naming who made it in the audit
// log (sqlstore.DB does).
type deviceMaker interface {
	CreateDeviceBy(ctx context.Context, commune, label string, by pipeline.Actor) (pipeline.User, string, error)
}

func (s *Server) createDevice(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	var dev pipeline.User
	var tok string
	if dm, ok := s.Broadcast.Store.(deviceMaker); ok {
		dev, tok, err = dm.CreateDeviceBy(r.Context(), head.Code, r.URL.Query().Get("label"), pipeline.Actor{ID: u.ID, Name: u.Name})
	} else {
		dev, tok, err = s.Broadcast.Store.CreateDevice(r.Context(), head.Code, r.URL.Query().Get("label"))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, DeviceResponse{User: dev, Token: tok, PlaylistURL: s.PlaylistURL})
	return nil
}

func (s *Server) buildSchedules(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	b, err := s.broadcast()
	if err != nil {
		return err
	}
	var codes []string
	if c := r.URL.Query().Get("commune"); c != "" {
		codes = strings.Split(c, ",")
	}
	res, err := b.Build(r.Context(), b.Clock(), codes, "manual")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ifNoneMatch reports whether the request's If-None-Match names tag
// (weak comparison, as RFC 9110 asks for GET).
func ifNoneMatch(r *http.Request, tag string) bool {
	return matchesTag(r.Header.Get("If-None-Match"), tag)
}

// matchesTag reports whether an If-None-Match value h names tag: "*", or
// a list one of whose entries is tag, weak or strong.
func matchesTag(h, tag string) bool {
	want := strings.TrimPrefix(tag, "W/")
	for h != "" {
		var t string
		t, h, _ = strings.Cut(h, ",")
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// Header values the playlist answers share between requests (a header
// map holds slices; these are only ever replaced, never written into).
var (
	privateNoCache = []string{"private, no-cache"}
	varyAuth       = []string{"Authorization"}
	m3u8Type       = []string{"audio/x-mpegurl; charset=utf-8"}
	jsonType       = []string{"application/json; charset=utf-8"}
)

// cacheHeaders lets devices keep a copy but ask every time (cheaply, by
// ETag): an emergency must reach them on the next poll.
func cacheHeaders(w http.ResponseWriter, tag string) {
	h := w.Header()
	for _, f := range cacheHeaderList([]string{tag}) {
		h[f.name] = f.value
	}
}

// cacheHeaderList is cacheHeaders' headers with the ETag as a header
// value: what every answer of a playlist or bundle carries.
func cacheHeaderList(etag []string) [3]header {
	return [3]header{{"Etag", etag}, {"Cache-Control", privateNoCache}, {"Vary", varyAuth}}
}

// playlistKey names one playlist as served: the commune's schedule head
// (its ETag and version), the cluster, the date and the format. The ETag
// is a function of the key alone, so an emergency (which moves the head)
// reaches the next poll through a new key.
type playlistKey struct {
	headTag, version, cluster, format string
	date                              schedules.Date
}

// servedPlaylist is what a playlist request is answered from: its ETag
// and body, with the header values ready, so answering one allocates
// nothing. It is never changed once cached.
type servedPlaylist struct {
	tag    string
	etag   []string // {tag}
	ctype  []string // m3u8Type or jsonType
	body   []byte
	length []string // {len(body)}
}

// playlist serves GET .../clusters/{cluster}/playlists/{date}.m3u8 or
// .json, on both listeners (a lean handler). Each playlist is rendered
// once per schedule head (and again after playlistTTL); a request whose
// If-None-Match matches is then answered 304 from the cache without
// presigning or hashing anything.
//
// at is the request's time as the listener read time.Now: the clock is
// read once per poll (the server's Now, when set, still decides the day).
func (s *Server) playlist(ctx context.Context, u pipeline.User, in inbound, at time.Time) (leanAnswer, error) {
	p, notModified, err := s.servePlaylist(ctx, u, in.pathValue("code"), in.pathValue("cluster"), in.pathValue("file"), in.header("If-None-Match"), at)
	if err != nil {
		return leanAnswer{}, err
	}
	return p.answer(notModified), nil
}

// servePlaylist is the playlist of a commune's cluster named by file
// (DATE.m3u8 or DATE.json) as u may see it, and whether the If-None-Match
// value inm names its ETag (then the answer is 304). Refusals: 422 for a
// file that is not a date, 404 for a date outside the window, a format
// not served, a commune u does not answer for or a cluster the commune
// does not have.
func (s *Server) servePlaylist(ctx context.Context, u pipeline.User, code, cluster, file, inm string, at time.Time) (p *servedPlaylist, notModified bool, err error) {
	dateText, format, ok := strings.Cut(file, ".")
	if !ok || (format != "m3u8" && format != "json") {
		return nil, false, pipeline.Errorf(pipeline.CodeNotFound, "Ask for DATE.m3u8 or DATE.json, e.g. 2025-03-03.m3u8.")
	}
	date, err := schedules.ParseDate(dateText)
	if err != nil {
		return nil, false, pipeline.Errorf(pipeline.CodeInvalid, "%q is not a date: write YYYY-MM-DD.", dateText)
	}
	now := at
	if s.Now != nil {
		now = s.Now()
	}
	if err := s.dateInWindowAt(date, "playlist", now); err != nil {
		return nil, false, err
	}
	head, err := s.communeOf(ctx, code, u)
	if err != nil {
		return nil, false, err
	}
	s.DevicePolls.SeenAt(u, at) // memory only; written in the background
	key := playlistKey{headTag: head.ETag, version: head.VersionID, cluster: cluster, format: format, date: date}
	p, cached := s.playlists.GetIfPresent(key)
	if !cached {
		// Rendered before any answer, a 304 included: a cluster the
		// commune does not have is 404 whatever If-None-Match says
		// (RFC 9110: "*" matches a current representation only), and
		// only playlists that exist take room in the cache.
		if p, err = s.renderPlaylist(ctx, head, cluster, date, format); err != nil {
			return nil, false, err
		}
		if head.VersionID != "" {
			// The key outlives the request: its strings of the request's
			// path (which may share the listener's buffer) are copied.
			key.cluster, key.format = strings.Clone(key.cluster), strings.Clone(key.format)
			s.playlists.Set(key, p)
		}
	}
	return p, head.VersionID != "" && matchesTag(inm, p.tag), nil
}

// answer is the playlist's answer: 304 with its cache headers when
// notModified, else 200 with them, its type, length and body.
func (p *servedPlaylist) answer(notModified bool) leanAnswer {
	var a leanAnswer
	for _, f := range cacheHeaderList(p.etag) {
		a.add(f.name, f.value)
	}
	if notModified {
		a.status = http.StatusNotModified
		return a
	}
	a.status = http.StatusOK
	a.add("Content-Type", p.ctype)
	a.add("Content-Length", p.length)
	a.body = p.body
	return a
}

// dateInWindow refuses (404) a date no schedule can hold on the server's
// today in Asia/Ho_Chi_Minh: before the history the builder keeps, or
// past the days it builds ahead (broadcast.PlaylistWindow). what names
// what was asked for ("playlist", "schedule").
func (s *Server) dateInWindow(date schedules.Date, what string) error {
	if s.Broadcast == nil {
		return nil
	}
	return s.dateInWindowAt(date, what, s.now())
}

// dateInWindowAt is dateInWindow on now's day.
func (s *Server) dateInWindowAt(date schedules.Date, what string, now time.Time) error {
	if s.Broadcast == nil {
		return nil
	}
	first, last := s.playlistWindow(now)
	if date.Before(first) || last.Before(date) {
		return pipeline.Errorf(pipeline.CodeNotFound, "No %s for %s: schedules hold %s to %s (the days kept for history before today, through the days built ahead, Asia/Ho_Chi_Minh); ask for a date in that range.", what, date, first, last).
			WithKey("date_outside_window", date.String(), first.String(), last.String())
	}
	return nil
}

// dayWindow is the playlist window (broadcast.Service.PlaylistWindow) of
// one day in Asia/Ho_Chi_Minh, good for the instants from start to end
// (that day) while the Service's days and separation stay what they were.
type dayWindow struct {
	start, end  time.Time
	days, sep   int
	first, last schedules.Date
}

// playlistWindow is s.Broadcast.PlaylistWindow of now's day in
// Asia/Ho_Chi_Minh, worked out once a day instead of on every poll.
func (s *Server) playlistWindow(now time.Time) (first, last schedules.Date) {
	b := s.Broadcast
	if w := s.window.Load(); w != nil && !now.Before(w.start) && now.Before(w.end) && w.days == b.Days && w.sep == b.SeparationDays {
		return w.first, w.last
	}
	loc := broadcast.Location()
	today := schedules.DateOf(now.In(loc))
	first, last = b.PlaylistWindow(today)
	s.window.Store(&dayWindow{start: today.In(loc), end: today.AddDays(1).In(loc), days: b.Days, sep: b.SeparationDays, first: first, last: last})
	return first, last
}

// renderPlaylist renders one cluster's playlist of the head's version
// for date in format ("m3u8" or "json"), with its ETag and header values.
func (s *Server) renderPlaylist(ctx context.Context, head pipeline.CommuneHead, cluster string, date schedules.Date, format string) (*servedPlaylist, error) {
	doc, err := s.Broadcast.Playlist(ctx, head, cluster, date)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if format == "json" {
		err = json.NewEncoder(&buf).Encode(doc)
	} else {
		err = schedules.WriteM3U8(&buf, fmt.Sprintf("%s — %s — %s", head.Name, cluster, date), doc.Entries)
	}
	if err != nil {
		return nil, err
	}
	tag := broadcast.PlaylistTag(head, cluster, date.String(), format)
	ctype := m3u8Type
	if format == "json" {
		ctype = jsonType
	}
	return &servedPlaylist{tag: tag, etag: []string{tag}, ctype: ctype, body: buf.Bytes(), length: []string{strconv.Itoa(buf.Len())}}, nil
}

// playlistTTL is how long a rendered playlist is reused. Its links stay
// valid an hour past the end of their day (broadcast.LinkTTL), so reusing
// them for a few minutes costs devices nothing.
const playlistTTL = 5 * time.Minute

// maxCachedPlaylists bounds the playlist cache: the least useful
// playlist leaves first (about 100 communes × clusters × days × formats
// fit many times over).
const maxCachedPlaylists = 10_000

// BundleLinkTTL is how long the media links of a bundle index stay valid:
// `loa playlist pull` downloads every file right after reading the index,
// so three hours cover a slow rural link (200 MB at 256 kb/s is under
// two), and a link of a withdrawn segment dies within hours, not the
// week the playlist's own links may last. Playlists (.m3u8, .json) keep
// links through the end of their day (broadcast.LinkTTL): the player
// follows them at air time.
const BundleLinkTTL = 3 * time.Hour

// bundleArgs reads days (1–14, default 2) and from (YYYY-MM-DD, default
// the day of now in Asia/Ho_Chi_Minh).
func bundleArgs(r *http.Request, now time.Time) (schedules.Date, int, error) {
	q := r.URL.Query()
	days := 2
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 14 {
			return schedules.Date{}, 0, pipeline.FieldError("days", "days must be a number from 1 to 14.")
		}
		days = n
	}
	from := schedules.DateOf(now.In(broadcast.Location()))
	if v := q.Get("from"); v != "" {
		d, err := schedules.ParseDate(v)
		if err != nil {
			return schedules.Date{}, 0, pipeline.FieldError("from", "from %q is not a date: write YYYY-MM-DD.", v)
		}
		from = d
	}
	return from, days, nil
}

func (s *Server) bundleIndex(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	from, days, err := bundleArgs(r, s.now())
	if err != nil {
		return err
	}
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	s.DevicePolls.Seen(u)
	tag := broadcast.PlaylistTag(head, "bundle", fmt.Sprintf("%s+%d", from, days), "index")
	if head.VersionID != "" && ifNoneMatch(r, tag) {
		cacheHeaders(w, tag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	b, err := s.Broadcast.Bundle(r.Context(), head, from, days)
	if err != nil {
		return err
	}
	idx := wire.BundleIndex{Manifest: string(b.Raw), Signature: string(b.Signature), Inline: map[string]string{}, Links: map[string]string{},
		From: b.Manifest.From, Until: b.Manifest.Until, Days: b.Days(), DaysAsked: days}
	until, err := schedules.ParseDate(b.Manifest.Until)
	if err != nil {
		return fmt.Errorf("bundle of %s: %w", head.Code, err)
	}
	ttl := min(broadcast.LinkTTL(s.now(), until), BundleLinkTTL)
	for _, f := range b.Files {
		if f.ObjectKey == "" {
			idx.Inline[f.Path] = string(f.Data)
			continue
		}
		link, err := s.Objects.Presign(r.Context(), f.ObjectKey, ttl, "")
		if err != nil {
			return &pipeline.Error{Code: pipeline.CodeUnavailable, Message: "The object store cannot sign links now; try again shortly.", Err: err}
		}
		idx.Links[f.Path] = link
	}
	cacheHeaders(w, tag)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return json.NewEncoder(w).Encode(idx)
}

func (s *Server) bundleTar(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	from, days, err := bundleArgs(r, s.now())
	if err != nil {
		return err
	}
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	s.DevicePolls.Seen(u)
	b, err := s.Broadcast.Bundle(r.Context(), head, from, days)
	if err != nil {
		return err
	}
	// Refuse before the first byte when the store cannot serve the media,
	// and send the exact length, so a client notices an archive the store
	// cut short mid-stream instead of taking it as whole.
	if err := s.Broadcast.CheckMedia(r.Context(), b); err != nil {
		return err
	}
	size, err := s.Broadcast.TarSize(b)
	if err != nil {
		return fmt.Errorf("bundle archive size: %w", err)
	}
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="loa-%s-%s.tar"`, schedules.SafeName(head.Code), from))
	w.Header().Set("X-Loa-Bundle-Days", fmt.Sprintf("%d of %d", b.Days(), days))
	cacheHeaders(w, broadcast.PlaylistTag(head, "bundle", fmt.Sprintf("%s+%d", from, days), "tar"))
	if err := s.Broadcast.WriteTar(r.Context(), w, b); err != nil {
		// Headers are gone; the client sees a cut archive, and the
		// manifest's checksums tell it so.
		s.Log.Error("bundle archive cut short", "commune", head.Code, "err", err)
	}
	return nil
}

// StreamRetry is the reconnection delay every event stream asks of its
// client (the SSE retry field): at its start, and in the "closing" event
// that ends it when the server shuts down, so a device reconnects, to
// another replica behind the load balancer, about a second later.
const StreamRetry = time.Second

// closingStreams is closed when the event streams must end.
func (s *Server) closingStreams() chan struct{} {
	s.closingOnce.Do(func() { s.closing = make(chan struct{}) })
	return s.closing
}

// CloseStreams ends every open event stream, and any opened later, with a
// "closing" event and a retry hint (StreamRetry), so a server shutting
// down (register it with http.Server.RegisterOnShutdown) is not held by
// its devices' streams and the devices reconnect elsewhere at once. Safe
// to call more than once.
func (s *Server) CloseStreams() {
	ch := s.closingStreams()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// communeEvents streams server-sent events: a "version" event with the
// commune's current version at once and after every change. With a
// Broadcast that follows the change feed, a change stored by any process
// arrives within sqlstore.FeedPoll; the stream also checks the commune's
// head every EventPoll as a backstop. It never sends the head it sent
// last again, nor an older one (a lower seq), whatever order they reach
// it in, so a device never goes back to an older schedule. When the
// server shuts down the stream ends with a "closing" event (see CloseStreams); when its token is
// revoked or its user disabled or signed out everywhere, it ends with a
// "closing" event whose reason starts "signed out" and no retry hint, at
// once when the change feed reports it, else at the next EventPoll.
func (s *Server) communeEvents(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	closing := s.closingStreams()
	release, err := s.openStream(r, u)
	if err != nil {
		s.Log.Warn("event stream refused", "user", u.Name, "commune", head.Code, "err", err)
		return err
	}
	defer release()
	s.DevicePolls.Seen(u)
	rc := http.NewResponseController(w)
	events, stop := s.Broadcast.Subscribe(head.Code)
	defer stop()
	// The head is read again now that the stream listens: a change stored
	// since the first reading (which checked the commune and the user) is
	// either in this reading or announced to the subscription, never
	// lost until the next poll.
	if head, err = s.Broadcast.Store.CommuneHead(r.Context(), head.Code); err != nil {
		return err
	}
	// Listen for account changes before the first byte goes out, so a
	// revocation the device could follow is never missed; one made since
	// this request was authenticated is caught by the check after it.
	recheck, stopRecheck := s.accountChanges()
	defer stopRecheck()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	retry := StreamRetry.Milliseconds()
	// Every version event sent, and every one the device already had,
	// is logged at Debug with its ETag, reason and source (current, feed,
	// poll): a replica's log shows what each device heard, and when.
	debug := s.Log.Enabled(r.Context(), slog.LevelDebug)
	send := func(e broadcast.Event, from string) error {
		if debug {
			s.Log.Debug("event stream sent", "user", u.Name, "commune", e.Commune, "etag", e.ETag, "version", e.Version, "seq", e.Seq, "reason", e.Reason, "from", from)
		}
		data, _ := json.Marshal(e)
		if _, err := fmt.Fprintf(w, "id: %s\nevent: version\ndata: %s\n\n", e.ETag, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", retry); err != nil {
		return nil
	}
	// last and lastSeq are the head the device was sent. A head with a
	// lower seq is older, whatever order it arrived in (an announcement
	// that read the head before a change can be published after the
	// change's own; the poll reads beside the announcements): it is never
	// sent, so a device hears of the versions in the order they were
	// stored.
	last, lastSeq := head.ETag, head.Seq
	// stale reports whether a head is the device's or older than it.
	stale := func(etag string, seq int64) bool { return etag == last || seq < lastSeq }
	if err := send(broadcast.Event{Commune: head.Code, Version: head.VersionID, ETag: head.ETag, Seq: head.Seq, Reason: "current"}, "current"); err != nil {
		return nil
	}
	// signedOut ends the stream when the credential it was opened with no
	// longer signs anyone in (token revoked, user disabled or signed out
	// everywhere): a lost device must not keep hearing of the schedule.
	signedOut := func() bool {
		if _, err := s.authenticate(r); err != nil {
			s.Log.Info("event stream ended: signed out", "user", u.Name, "commune", head.Code, "err", err)
			data, _ := json.Marshal(map[string]string{"reason": "signed out: " + pipeline.ErrorMessage(err)})
			fmt.Fprintf(w, "event: closing\ndata: %s\n\n", data)
			rc.Flush()
			return true
		}
		return false
	}
	if signedOut() {
		return nil
	}
	poll := time.NewTicker(s.pollEvery())
	defer poll.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-closing:
			fmt.Fprintf(w, "retry: %d\nevent: closing\ndata: {\"reason\":\"server shutting down: reconnect\"}\n\n", retry)
			rc.Flush()
			return nil
		case <-recheck:
			if signedOut() {
				return nil
			}
		case e := <-events:
			if stale(e.ETag, e.Seq) {
				if debug {
					s.Log.Debug("event stream skipped: the device has this head or a newer one", "user", u.Name, "commune", e.Commune,
						"etag", e.ETag, "seq", e.Seq, "reason", e.Reason, "has", last, "has_seq", lastSeq)
				}
				continue
			}
			last, lastSeq = e.ETag, e.Seq
			if send(e, "feed") != nil {
				return nil
			}
		case <-poll.C:
			if signedOut() {
				return nil
			}
			s.DevicePolls.Seen(u) // a device listening counts as polling
			cur, err := s.Broadcast.Store.CommuneHead(r.Context(), head.Code)
			if err != nil {
				return nil
			}
			if !stale(cur.ETag, cur.Seq) {
				last, lastSeq = cur.ETag, cur.Seq
				if send(broadcast.Event{Commune: cur.Code, Version: cur.VersionID, ETag: cur.ETag, Seq: cur.Seq, Reason: "changed"}, "poll") != nil {
					return nil
				}
				continue
			}
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
	}
}

// accountChanges returns a channel that receives when the change feed
// (the Broadcast's Feed, when it has one) reports a change to tokens or
// users made by any process, so open streams check their credential at
// once instead of at their next poll; stop ends the subscription.
func (s *Server) accountChanges() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	if s.Broadcast == nil || s.Broadcast.Feed == nil {
		return ch, func() {}
	}
	stop := s.Broadcast.Feed.OnChange(func(c pipeline.Change) {
		switch c.Kind {
		case pipeline.ChangeTokens, pipeline.ChangeUsers, pipeline.ChangeLost:
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	})
	return ch, stop
}

func (s *Server) pollEvery() time.Duration {
	if s.EventPoll > 0 {
		return s.EventPoll
	}
	return 15 * time.Second
}

// PlayReportResponse answers POST /api/communes/{code}/plays.
type PlayReportResponse struct {
	Received int `json:"received"`
	// New counts the stored reports that were new; the other accepted
	// ones had been received before.
	New int `json:"new"`
	// Refused lists, by position and id, the reports not stored and why
	// (an item not in the schedule, a play longer than the item).
	Refused []broadcast.RefusedReport `json:"refused"`
}

func (s *Server) reportPlays(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	data, err := readBody(r, schedules.MaxPlayReportBytes, "body of play reports")
	if err != nil {
		return err
	}
	reports, err := schedules.ParsePlayReports(data)
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Play reports refused: %v.", err)
	}
	res, err := s.Broadcast.Report(r.Context(), head, u, reports)
	if err != nil {
		return err
	}
	if len(res.Refused) == len(reports) {
		// Nothing was stored: say so as an error, so that a client that
		// only looks at the status (the operator's page) shows why.
		var b strings.Builder
		fmt.Fprintf(&b, "Play reports refused: none of the %d matches the schedule, nothing was stored.", len(reports))
		for _, rf := range res.Refused {
			fmt.Fprintf(&b, "\n  report %d (id %q): %s", rf.N, rf.ID, rf.Reason)
		}
		e := &pipeline.Error{Code: pipeline.CodeInvalid, Field: "item", Message: b.String()}
		if len(res.Refused) == 1 { // the operator's page sends one: say why in its language
			e.WithKey("play_"+res.Refused[0].Code, res.Refused[0].Args...)
		}
		return e
	}
	writeJSON(w, http.StatusOK, PlayReportResponse{Received: len(reports), New: res.New, Refused: res.Refused})
	return nil
}

func (s *Server) showSchedule(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	date := schedules.DateOf(s.now().In(broadcast.Location()))
	if v := r.URL.Query().Get("date"); v != "" {
		if date, err = schedules.ParseDate(v); err != nil {
			return pipeline.FieldError("date", "date %q is not a date: write YYYY-MM-DD.", v)
		}
		if err := s.dateInWindow(date, "schedule"); err != nil {
			return err
		}
	}
	doc, err := s.Broadcast.Show(r.Context(), head, r.URL.Query().Get("cluster"), date)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// explainSchedule answers GET /api/communes/{code}/explain (loa schedule
// explain): the builder's account of the commune's schedule. An
// administrator, and an operator for their commune (who sees its
// schedule with every title anyway), read every segment in it. A
// producer reads their own segments by id and title; anyone else's only
// as "another producer's segment" with its slot, length, language and
// priority where it airs (what shows why theirs aired where it did, or
// found no room), and as a count where it does not, as a producer sees
// no one else's segments anywhere else.
func (s *Server) explainSchedule(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	head, err := s.commune(r, u)
	if err != nil {
		return err
	}
	var shown func(string) bool
	if u.Role == pipeline.RoleProducer {
		ids, err := s.Catalog.SegmentIDsOf(r.Context(), u.ID)
		if err != nil {
			return err
		}
		own := make(map[string]bool, len(ids))
		for _, id := range ids {
			own[id] = true
		}
		shown = func(id string) bool { return own[id] }
	}
	text, err := s.Broadcast.Explain(r.Context(), head, shown)
	if err != nil {
		return err
	}
	if cl := r.URL.Query().Get("cluster"); cl != "" {
		text = clusterBlocks(text, cl)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = io.WriteString(w, text)
	return err
}

// clusterBlocks keeps the header line and the blocks of one cluster from
// an explanation (blocks start with a blank line).
func clusterBlocks(text, cluster string) string {
	blocks := strings.Split(text, "\n\n")
	out := []string{blocks[0]}
	for _, b := range blocks[1:] {
		first, _, _ := strings.Cut(b, "\n")
		if strings.Contains(first, ", cluster "+cluster+" ") || strings.Contains(first, ", cluster "+cluster+",") {
			out = append(out, b)
		}
	}
	return strings.Join(out, "\n\n")
}

// EmergencyRequest is the body of POST /api/segments/{id}/emergency.
type EmergencyRequest struct {
	// Communes lists target commune codes; or Province for every commune.
	Communes []string `json:"communes"`
	Province bool     `json:"province"`
	// Until ends the emergency (RFC 3339); default 24 hours from now.
	Until time.Time `json:"until,omitzero"`
	// Reason says why (required); the audit log keeps it with who.
	Reason string `json:"reason"`
	// Confirm must be true: an emergency interrupts the loudspeakers of
	// the target communes at once.
	Confirm bool `json:"confirm"`
	// Replace makes the communes the whole target list of the emergency
	// in force (those left out lose the alert; an administrator or who
	// raised it only). Without it the communes are added to it.
	Replace bool `json:"replace,omitempty"`
}

// ConfirmRequest is the body of POST /api/segments/{id}/emergency/confirm.
type ConfirmRequest struct {
	Confirm bool `json:"confirm"`
}

// EndEmergencyRequest is the body of POST /api/segments/{id}/emergency/end.
type EndEmergencyRequest struct {
	// Reason says why the emergency ends early (required; audit log).
	Reason string `json:"reason"`
	// Confirm must be true: ending takes the emergency off the
	// loudspeakers of its communes at once.
	Confirm bool `json:"confirm"`
}

// emergencyCall reads what both emergency handlers start from: the
// broadcast service, the path's segment (if u may see it) and the body.
func emergencyCall[T any](s *Server, r *http.Request, u pipeline.User) (*broadcast.Service, pipeline.Segment, T, error) {
	var req T
	b, err := s.broadcast()
	if err != nil {
		return nil, pipeline.Segment{}, req, err
	}
	seg, err := s.visibleSegment(r, u)
	if err != nil {
		return nil, pipeline.Segment{}, req, err
	}
	if err := decodeJSON(r, &req); err != nil {
		return nil, pipeline.Segment{}, req, err
	}
	return b, seg, req, nil
}

func (s *Server) markEmergency(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	b, seg, req, err := emergencyCall[EmergencyRequest](s, r, u)
	if err != nil {
		return err
	}
	breq := broadcast.EmergencyRequest{SegmentID: seg.ID, Communes: req.Communes, Province: req.Province, Until: req.Until,
		Reason: req.Reason, By: u, Replace: req.Replace}
	if !req.Confirm {
		// The dry run says what would change (and refuses a narrowing
		// this user may not make, as the real request would).
		plan, _, err := b.PlanEmergency(r.Context(), breq)
		if err != nil {
			return err
		}
		// Refused as the real run would be: a segment that cannot air.
		if err := s.readyToAir(r.Context(), seg); err != nil {
			return err
		}
		where := "every commune of the province"
		if !plan.Province {
			where = "communes " + strings.Join(plan.Targets, ", ")
		}
		if plan.NeedsConfirmation != "" {
			return pipeline.FieldError("confirm", "%s needs an administrator's confirmation: sent, it is only stored, on no loudspeaker, and every administrator is told; it goes to %s once one confirms it (%s).%s To go ahead, send the same request with \"confirm\": true.",
				plan.NeedsConfirmation, where, plan.Describe(), windowNote(seg, s.now())).WithKey(pipeline.KeyEmergencyNeedsConfirmation)
		}
		return pipeline.FieldError("confirm", "An emergency interrupts the loudspeakers of %s at once and leads every slot until it ends (%s).%s To go ahead, send the same request with \"confirm\": true.", where, plan.Describe(), windowNote(seg, s.now()))
	}
	res, err := b.Emergency(r.Context(), breq)
	if err != nil {
		return err
	}
	if note := windowNote(seg, s.now()); note != "" {
		res.Message = strings.TrimSpace(res.Message + note)
	}
	status := http.StatusOK
	if res.Pending {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
	return nil
}

// readyToAir refuses an emergency on seg as MarkEmergency would: a
// withdrawn segment, or one not ready to air in any language yet (still
// processing; pipeline.KeySegmentNotReady, which 'loa segments
// emergency --wait' waits out).
func (s *Server) readyToAir(ctx context.Context, seg pipeline.Segment) error {
	if seg.State == pipeline.StateWithdrawn {
		return pipeline.Errorf(pipeline.CodeConflict, "Segment %s is withdrawn: it cannot go on air. Upload it again if it must.", seg.ID)
	}
	vs, err := s.Catalog.SegmentVariants(ctx, seg.ID)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return pipeline.Errorf(pipeline.CodeConflict, "Segment %s is not ready to air in any language yet (still processing?): sent now, the emergency would be refused. Wait until it is processed, or run 'loa segments emergency' with --yes --wait to raise it as soon as processing ends.", seg.ID).WithKey(pipeline.KeySegmentNotReady, seg.ID)
	}
	return nil
}

// windowNote says, with a leading space, that an emergency airs segment
// seg whatever its own air window says, when that window does not hold
// now; "" when it does.
func windowNote(seg pipeline.Segment, now time.Time) string {
	day := func(t time.Time) string { return t.In(broadcast.Location()).Format("2006-01-02 15:04") }
	switch {
	case seg.AirFrom.After(now):
		return fmt.Sprintf(" Its own air window begins %s: the emergency airs it from now to its end all the same.", day(seg.AirFrom))
	case !seg.AirUntil.IsZero() && !seg.AirUntil.After(now):
		return fmt.Sprintf(" Its own air window ended %s: the emergency airs it from now to its end all the same.", day(seg.AirUntil))
	}
	return ""
}

// confirmEmergency is an administrator's second confirmation of the
// province-wide emergency a producer asked for.
func (s *Server) confirmEmergency(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	b, seg, req, err := emergencyCall[ConfirmRequest](s, r, u)
	if err != nil {
		return err
	}
	if !req.Confirm {
		return pipeline.FieldError("confirm", "Confirming puts this segment on every loudspeaker of the province at once. To go ahead, send {\"confirm\": true}.")
	}
	res, err := b.ConfirmEmergency(r.Context(), seg.ID, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// endEmergency ends a segment's emergency in force before its end time
// (and cancels its request waiting for confirmation): an administrator,
// or the producer who raised it.
func (s *Server) endEmergency(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	b, seg, req, err := emergencyCall[EndEmergencyRequest](s, r, u)
	if err != nil {
		return err
	}
	if !req.Confirm {
		// The dry run says what would end, and refuses as the real run
		// would when u may not end it.
		what, err := b.PlanEnd(r.Context(), seg.ID, u)
		if err != nil {
			return err
		}
		return pipeline.FieldError("confirm", "Nothing was ended: %s To go ahead, send {\"confirm\": true, \"reason\": \"...\"}.", what)
	}
	res, err := b.EndEmergency(r.Context(), seg.ID, req.Reason, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// CancelRequestBody is the body of POST
// /api/segments/{id}/emergency/request/cancel.
type CancelRequestBody struct {
	// Reason says why: required when an administrator declines someone
	// else's request (they are told), optional for its requester.
	Reason string `json:"reason"`
	// Confirm must be true.
	Confirm bool `json:"confirm"`
}

// cancelEmergencyRequest drops only a segment's wide emergency request
// waiting for confirmation: its requester withdraws it, an
// administrator declines it. An emergency in force stays on air.
func (s *Server) cancelEmergencyRequest(w http.ResponseWriter, r *http.Request, u pipeline.User) error {
	b, seg, req, err := emergencyCall[CancelRequestBody](s, r, u)
	if err != nil {
		return err
	}
	if !req.Confirm {
		p, declined, err := b.CheckCancelRequest(r.Context(), seg.ID, u)
		if err != nil {
			return err
		}
		where := "the whole province"
		if len(p.Targets) > 0 {
			where = "communes " + strings.Join(p.Targets, ", ")
		}
		what, body := "withdrawing", `{"confirm": true}`
		if declined {
			what, body = "declining", `{"confirm": true, "reason": "..."}`
		}
		inForce := ""
		if e, err := b.Store.EmergencyInForce(r.Context(), seg.ID, b.CurrentTime()); err == nil {
			on := "the whole province"
			if !e.Province {
				on = "communes " + strings.Join(e.Communes, ", ")
			}
			inForce = " The emergency in force on " + on + " stays on air, unchanged."
		}
		return pipeline.FieldError("confirm", "Nothing was cancelled: %s the request for %s (until %s; reason: %s) drops it; it is on no loudspeaker.%s To go ahead, send %s.",
			what, where, p.Until.In(localtime.Location()).Format("2006-01-02 15:04 -07:00"), p.Reason, inForce, body)
	}
	res, err := b.CancelRequest(r.Context(), seg.ID, req.Reason, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
