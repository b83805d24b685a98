// Package broadcast wires the pure schedule builder (package schedules)
// to the store, the object store and the devices: it builds and stores a
// schedule version per commune (nightly, on change, and at once for an
// emergency), renders playlists with presigned links, assembles signed
// offline bundles, tells connected devices when their commune's schedule
// changed, and records proof of play.
package broadcast

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/schedules"
)

// Store is what the service needs from the metadata store.
type Store interface {
	Registry(ctx context.Context, codes ...string) (*schedules.Registry, error)
	ImportRegistry(ctx context.Context, reg *schedules.Registry, opt schedules.ImportOptions) (schedules.ImportResult, error)
	Communes(ctx context.Context) ([]pipeline.CommuneSummary, error)
	CommuneHead(ctx context.Context, code string) (pipeline.CommuneHead, error)
	ReadyCatalog(ctx context.Context, now time.Time) ([]schedules.Variant, map[string]pipeline.AirAudio, error)
	ActiveEmergencies(ctx context.Context, since time.Time) ([]pipeline.Emergency, error)
	History(ctx context.Context, from, to schedules.Date, codes ...string) ([]schedules.Aired, error)
	// HeadTags returns the communes' head ETags by code: every commune's,
	// or only the given ones'.
	HeadTags(ctx context.Context, codes ...string) (map[string]string, error)
	// SaveVersions stores a batch of versions; it keeps no reference to
	// their Items once it returns (a build reuses them for the next batch).
	SaveVersions(ctx context.Context, ws []pipeline.VersionWrite) error
	Version(ctx context.Context, id string) (pipeline.ScheduleVersion, error)
	VersionItems(ctx context.Context, versionID, cluster, date string) ([]pipeline.ScheduleItem, error)
	BeginBuild(ctx context.Context, key, owner string, lease time.Duration) (pipeline.BuildClaim, error)
	RenewBuild(ctx context.Context, key, owner string, lease time.Duration) (time.Time, error)
	FinishBuild(ctx context.Context, key, owner string, communes, changed int, failed bool) error
	MarkEmergency(ctx context.Context, e pipeline.Emergency) error
	RequestEmergency(ctx context.Context, r pipeline.EmergencyRequest) error
	PendingEmergency(ctx context.Context, segmentID string) (pipeline.EmergencyRequest, error)
	// EmergencyInForce returns the segment's emergency in force at now,
	// or not-found.
	EmergencyInForce(ctx context.Context, segmentID string, now time.Time) (pipeline.EmergencyInForce, error)
	// EndEmergency ends the segment's emergency in force at now (its end
	// becomes now) and cancels its pending request, logging reason with
	// by; it returns the emergency ended (SegmentID "" when none) and
	// whether a request was cancelled, or not-found when neither.
	EndEmergency(ctx context.Context, segmentID string, by int64, reason string, now time.Time) (pipeline.Emergency, bool, error)
	// CancelEmergencyRequest drops the segment's wide request waiting
	// for confirmation only (withdrawn by who asked, or declined by an
	// administrator), logging reason with by; not-found when none waits.
	CancelEmergencyRequest(ctx context.Context, segmentID string, by int64, declined bool, reason string, now time.Time) (pipeline.EmergencyRequest, error)
	SavePlayReports(ctx context.Context, commune string, userID int64, reports []schedules.PlayReport, dateOf func(schedules.PlayReport) string) (int, error)
	// ScheduledEntries maps the entries scheduled for a commune's
	// cluster on a date (any version) to their length and times.
	ScheduledEntries(ctx context.Context, commune, cluster, date string) (map[string]pipeline.ScheduledEntry, error)
	PlayReports(ctx context.Context, commune, date string) ([]pipeline.PlayRecord, error)
	CreateDevice(ctx context.Context, commune, label string) (pipeline.User, string, error)
}

// Objects is what the service needs from the object store.
type Objects interface {
	Presign(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Stat(ctx context.Context, key string) (objects.Object, error)
}

// Rebuilder queues a debounced rebuild of some communes (all when the
// list is empty), inside tx when it is not nil. The worker implements it.
type Rebuilder interface {
	EnqueueRebuild(ctx context.Context, tx *sql.Tx, communes []string) error
}

// Service builds, stores and distributes the communes' schedules.
type Service struct {
	Store   Store
	Objects Objects
	// Key signs offline bundle manifests.
	Key ed25519.PrivateKey
	// Rebuilds, when set, receives the rebuild a registry import asks
	// for. A change of a segment (priority, emergency, withdrawal) queues
	// its rebuild in the store's own transaction instead (sqlstore
	// DB.RebuildTx).
	Rebuilds Rebuilder
	Log      *slog.Logger
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Days is how many days a build covers (default 7).
	Days int
	// SeparationDays is the builder's separation rule (default 3).
	SeparationDays int
	// InterruptFor is how long after an emergency is raised its
	// "interrupt now" entry stays in the current playlists (default 1h).
	InterruptFor time.Duration
	// BuildLease is how long the nightly build's claim lasts unless its
	// owner renews it (every third of it while building); a claim whose
	// owner died is taken over once it has run out (default 1 minute).
	BuildLease time.Duration
	// MaxEmergency is the longest an emergency may last from when it is
	// raised (default [DefaultMaxEmergency], never above
	// [HardMaxEmergency]); a longer one is raised again when it ends.
	MaxEmergency time.Duration
	// WideEmergency is the most communes a non-administrator's emergency
	// may target without an administrator's confirmation (default
	// [DefaultWideEmergency]); more than half the registry always needs it.
	WideEmergency int

	// Feed, when set, is the deployment's change feed: devices connected
	// to this process hear of changes stored by any process through it
	// (and of this process's only through it). Without it, a build
	// announces its own changes directly.
	Feed ChangeFeed

	hubOnce sync.Once
	hub     *hub
}

// CurrentTime is the service's clock (Now, or the wall clock), in UTC.
func (s *Service) CurrentTime() time.Time { return s.now() }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Limits on how long an emergency lasts.
const (
	DefaultMaxEmergency = 24 * time.Hour
	HardMaxEmergency    = 72 * time.Hour
)

func (s *Service) maxEmergency() time.Duration {
	if s.MaxEmergency <= 0 {
		return DefaultMaxEmergency
	}
	return min(s.MaxEmergency, HardMaxEmergency)
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// historyDays is how many days before a build's first day the builder
// reads what aired: the separation rule's days, at least a week.
func (s *Service) historyDays() int {
	sep := s.SeparationDays
	if sep == 0 {
		sep = 3
	}
	return max(sep, 7)
}

// PlaylistWindow is the dates a playlist may be asked for on day today
// (a date in Asia/Ho_Chi_Minh): from the history the builder reads before
// a build (historyDays: the separation days, at least a week) through the
// last day a build made today covers (today + Days − 1). A date outside
// it holds no schedule and never will from today's builds; a date inside
// it may hold nothing yet.
func (s *Service) PlaylistWindow(today schedules.Date) (first, last schedules.Date) {
	return today.AddDays(-s.historyDays()), today.AddDays(s.days() - 1)
}

func (s *Service) days() int {
	if s.Days > 0 {
		return s.Days
	}
	return 7
}

// Location is the zone every schedule is in: [localtime.Location].
func Location() *time.Location { return localtime.Location() }

// BuildResult says what one build did.
type BuildResult struct {
	Start    string        `json:"start_date"`
	Days     int           `json:"days"`
	Communes int           `json:"communes"`
	Changed  []string      `json:"changed"` // communes that got a new version
	Skipped  bool          `json:"skipped,omitempty"`
	Took     time.Duration `json:"took_ns"`
	BuildNS  time.Duration `json:"build_ns"` // the pure builder's share
	LeftOut  int           `json:"left_out"`
	// TakenFrom names the owner whose expired nightly claim this build
	// took over (it died between claiming and finishing).
	TakenFrom string `json:"taken_from,omitempty"`
	// NotBuilt lists the communes the build left out, each with its
	// problem; the others were built (see NotBuiltFix).
	NotBuilt []NotBuilt `json:"not_built,omitempty"`
}

// NotBuiltFix says what an administrator does about a commune a build
// left out.
const NotBuiltFix = "import a registry file listing the commune under its right code with --allow-removals " +
	"(it replaces the stored communes whose code differs from it only by case or diacritics), or correct the commune and import it again"

// DefaultBuildLease is the nightly build claim's lease when
// Service.BuildLease is not set.
const DefaultBuildLease = time.Minute

// BuildHeldError reports that another owner holds a live claim on a
// nightly build: it is running elsewhere, or its owner died less than a
// lease ago. Ask again at RetryAt: by then the build is done, or its
// claim can be taken over.
type BuildHeldError struct {
	Key   string
	Owner string
	Until time.Time
}

func (e *BuildHeldError) Error() string {
	return fmt.Sprintf("nightly schedule build %s is held by %s until %s", e.Key, e.Owner, e.Until.Format(time.RFC3339))
}

// RetryAt is when the claim's lease ends unless its owner renews it.
func (e *BuildHeldError) RetryAt() time.Time { return e.Until }

// Nightly runs the nightly build for the date of now: once per date, even
// when several workers (or a retried job) ask for it. The claim on the
// date carries an owner (this attempt) and a lease renewed while the
// build runs, so a claim left by a process that died is taken over once
// its lease has run out. While another owner's lease runs, Nightly
// returns a *BuildHeldError; when the date's build is done it returns a
// result with Skipped set.
func (s *Service) Nightly(ctx context.Context, now time.Time) (BuildResult, error) {
	key := "nightly/" + schedules.DateOf(now.In(Location())).String()
	owner := newOwner()
	lease := s.buildLease()
	claim, err := s.Store.BeginBuild(ctx, key, owner, lease)
	if err != nil {
		return BuildResult{}, err
	}
	switch {
	case claim.Done:
		s.log().Info("nightly schedule build already done", "key", key)
		return BuildResult{Skipped: true}, nil
	case !claim.Claimed:
		s.log().Info("nightly schedule build held by another owner", "key", key, "owner", claim.Owner, "until", claim.Until)
		return BuildResult{}, &BuildHeldError{Key: key, Owner: claim.Owner, Until: claim.Until}
	case claim.TakenFrom != "":
		s.log().Warn("nightly schedule build taken over from an owner that stopped renewing its claim", "key", key, "from", claim.TakenFrom, "owner", owner)
	}
	bctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		s.keepClaim(bctx, cancel, key, owner, lease)
	}()
	res, err := s.Build(bctx, now, nil, "nightly")
	cancel(nil)
	<-renewed
	res.TakenFrom = claim.TakenFrom
	if cause := context.Cause(bctx); errors.Is(cause, pipeline.ErrClaimLost) {
		return res, fmt.Errorf("nightly schedule build %s stopped: %w", key, cause)
	}
	if ferr := s.Store.FinishBuild(context.WithoutCancel(ctx), key, owner, res.Communes, len(res.Changed), err != nil); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

// keepClaim renews the claim every third of its lease until ctx ends. A
// claim found lost (another owner took it over after missed renewals)
// cancels ctx with ErrClaimLost; other renewal errors are retried at the
// next tick.
func (s *Service) keepClaim(ctx context.Context, cancel context.CancelCauseFunc, key, owner string, lease time.Duration) {
	tick := time.NewTicker(lease / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.Store.RenewBuild(ctx, key, owner, lease); err != nil {
			if errors.Is(err, pipeline.ErrClaimLost) {
				s.log().Error("nightly schedule build lost its claim", "key", key, "owner", owner, "err", err)
				cancel(err)
				return
			}
			if ctx.Err() == nil {
				s.log().Warn("renew nightly schedule build claim", "key", key, "owner", owner, "err", err)
			}
		}
	}
}

func (s *Service) buildLease() time.Duration {
	if s.BuildLease > 0 {
		return s.BuildLease
	}
	return DefaultBuildLease
}

// newOwner names one attempt at a claim: host, process and a random part,
// so logs tell which process held a claim and two attempts of one
// process never share it.
func newOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// plan is one run of the builder over the store's current inputs.
type plan struct {
	now         time.Time
	start       schedules.Date
	reg         *schedules.Registry
	sched       *schedules.Schedule
	audio       map[string]pipeline.AirAudio
	emergencies []pipeline.Emergency
	byID        map[string]*schedules.Variant
	took        time.Duration // the pure builder's share
	notBuilt    []NotBuilt    // stored communes the build left out
}

// NotBuilt is a stored commune a build left out, and why: its registry
// entry is one a build cannot use, such as a code stored by an older
// version that shares its file name with another commune's ("Muong-Lan"
// beside "muong-lan"). Its devices keep the schedule they have; the
// other communes are built.
type NotBuilt struct {
	Commune string `json:"commune"`
	Problem string `json:"problem"`
}

// plan reads the registry (only the given communes when codes is not
// empty), the ready catalog, the airing history and the active
// emergencies, and runs the builder for Days days from the date of now.
// With no commune to build, sched is nil.
func (s *Service) plan(ctx context.Context, now time.Time, codes []string) (*plan, error) {
	now = now.UTC()
	p := &plan{now: now, start: schedules.DateOf(now.In(Location()))}
	reg, err := s.Store.Registry(ctx, codes...)
	if err != nil {
		return nil, err
	}
	if len(codes) > 0 {
		keep := reg.Communes[:0:0]
		for _, c := range reg.Communes {
			if slices.Contains(codes, c.Code) {
				keep = append(keep, c)
			}
		}
		reg.Communes = keep
	}
	p.reg = reg
	if len(reg.Communes) == 0 {
		// Nothing imported yet (a fresh server's start-up build): nothing
		// to build, and nothing wrong.
		return p, nil
	}
	kept, left, err := reg.Buildable()
	if err != nil {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The schedule cannot be built: %v. Fix the commune registry (loa communes import) and build again.", err)
	}
	for _, l := range left {
		p.notBuilt = append(p.notBuilt, NotBuilt{Commune: l.Code, Problem: l.Err.Error()})
		s.log().Warn("commune left out of the schedule build: its registry entry cannot be built; the other communes are built",
			"commune", l.Code, "problem", l.Err, "fix", NotBuiltFix)
	}
	reg = kept
	p.reg = reg
	if len(reg.Communes) == 0 { // every commune left out
		return p, nil
	}
	catalog, audio, err := s.Store.ReadyCatalog(ctx, now)
	if err != nil {
		return nil, err
	}
	sep := s.SeparationDays
	if sep == 0 {
		sep = 3
	}
	history, err := s.Store.History(ctx, p.start.AddDays(-s.historyDays()), p.start, codes...)
	if err != nil {
		return nil, err
	}
	if p.emergencies, err = s.Store.ActiveEmergencies(ctx, now.Add(-s.interruptFor())); err != nil {
		return nil, err
	}
	opts := schedules.DefaultOptions(p.start)
	opts.Days = s.days()
	opts.SeparationDays = sep
	t0 := time.Now()
	p.sched, err = schedules.Build(catalog, reg, history, opts)
	p.took = time.Since(t0)
	if err != nil {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "The schedule cannot be built: %v. Fix the commune registry (loa communes import) and build again.", err)
	}
	p.audio = audio
	p.byID = map[string]*schedules.Variant{}
	for i := range catalog {
		p.byID[catalog[i].SegmentID+"/"+string(catalog[i].Language)] = &catalog[i]
	}
	return p, nil
}

// items are the stored entries of commune c in the plan: its playlists
// and the "interrupt now" entries of its emergencies.
func (s *Service) items(p *plan, c *schedules.Commune) []pipeline.ScheduleItem {
	return s.itemsInto(nil, p, c, newEntryMaker(p))
}

// itemsInto is items appended to dst (whose entries it overwrites), with
// the strings m shares across a build's communes.
func (s *Service) itemsInto(dst []pipeline.ScheduleItem, p *plan, c *schedules.Commune, m *entryMaker) []pipeline.ScheduleItem {
	items := m.communeItems(dst, p.sched, c)
	return append(items, interrupts(c, p.emergencies, p.byID, p.audio, p.now, s.interruptFor(), Location())...)
}

// Build builds the schedules of the given communes (every commune when
// codes is empty) for Days days from the date of now and stores a new
// version for each commune whose content changed. Devices connected to
// a changed commune are told at once. The builder's account of a
// version is not stored: [Service.Explain] makes it when asked.
func (s *Service) Build(ctx context.Context, now time.Time, codes []string, reason string) (BuildResult, error) {
	began := time.Now()
	res := BuildResult{Start: schedules.DateOf(now.In(Location())).String(), Days: s.days(), Changed: []string{}}
	p, err := s.plan(ctx, now, codes)
	if p != nil {
		res.NotBuilt = p.notBuilt
	}
	if err != nil || p.sched == nil {
		return res, err
	}
	res.BuildNS = p.took
	res.LeftOut = len(p.sched.LeftOut)
	reg, start := p.reg, p.start
	now = p.now
	heads, err := s.Store.HeadTags(ctx, codes...)
	if err != nil {
		return res, err
	}
	// Communes are stored in batches of saveBatch, each in one
	// transaction; a commune whose content is unchanged is not written.
	// One batch is saved while the next one is made (the store's round
	// trips and the entries' making overlap), the batches in order. The
	// entries of a stored batch are overwritten by a later one's (spare),
	// so a build holds two batches' entries, not the registry's.
	m := newEntryMaker(p)
	var batch []pipeline.VersionWrite
	var spare [][]pipeline.ScheduleItem
	var saving chan error // the batch being saved, when one is
	var saved []pipeline.VersionWrite
	// wait waits for the batch being saved and takes in its result.
	wait := func() error {
		if saving == nil {
			return nil
		}
		err := <-saving
		saving = nil
		if err != nil {
			return err
		}
		for i := range saved {
			w := &saved[i]
			if w.Changed {
				res.Changed = append(res.Changed, w.Version.Commune)
				if s.Feed == nil {
					s.events().publish(Event{Commune: w.Version.Commune, Version: w.Version.ID, ETag: w.Version.ETag, Seq: w.Version.Seq, Reason: reason})
				}
			}
			spare = append(spare, w.Items[:0])
			w.Items = nil
		}
		return nil
	}
	// flush starts saving batch once the batch before it is saved.
	flush := func() error {
		if err := wait(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		saved, batch = batch, saved[:0]
		saving = make(chan error, 1)
		go func(ws []pipeline.VersionWrite, done chan<- error) {
			// A panic in the store is the build's error, as it would be
			// without this goroutine (River recovers a job's panic); it
			// must not end the process.
			defer func() {
				if r := recover(); r != nil {
					done <- fmt.Errorf("save schedule versions: panic: %v\n%s", r, debug.Stack())
				}
			}()
			done <- s.Store.SaveVersions(ctx, ws)
		}(saved, saving)
		return nil
	}
	// On an error, the batch being saved (if any) is waited for: the
	// store keeps no reference to a batch once SaveVersions returns.
	defer func() { _ = wait() }()
	for ci := range reg.Communes {
		c := &reg.Communes[ci]
		res.Communes++
		var dst []pipeline.ScheduleItem
		if n := len(spare); n > 0 {
			dst, spare = spare[n-1], spare[:n-1]
		}
		items := s.itemsInto(dst, p, c, m)
		tag := m.tag(items, start, s.days())
		if heads[c.Code] == tag {
			spare = append(spare, items[:0])
			continue
		}
		batch = append(batch, pipeline.VersionWrite{Version: pipeline.ScheduleVersion{
			Commune: c.Code, ETag: tag, Start: start.String(), Days: s.days(), Reason: reason, BuiltAt: now,
		}, Items: items})
		if len(batch) == saveBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if err := wait(); err != nil {
		return res, err
	}
	res.Took = time.Since(began)
	s.log().Info("schedules built", "reason", reason, "start", res.Start, "days", res.Days, "communes", res.Communes,
		"changed", len(res.Changed), "left_out", res.LeftOut, "not_built", len(res.NotBuilt), "took", res.Took, "builder", res.BuildNS)
	return res, nil
}

// saveBatch is how many communes' versions one transaction stores: large
// enough that commits do not dominate a national build, small enough that
// a batch's items (about 300 per commune) stay a few megabytes.
const saveBatch = 200

func (s *Service) interruptFor() time.Duration {
	if s.InterruptFor > 0 {
		return s.InterruptFor
	}
	return time.Hour
}

// entryMaker turns the builder's playlists into stored entries for one
// build. A national build makes about a million entries whose dates,
// entry ids and reasons repeat across communes: each distinct one is
// made once and shared. Audio is found by a key built once a variant, and the
// version tag's working memory is reused from one commune to the next.
type entryMaker struct {
	byKey   map[string]pipeline.AirAudio // by pipeline.AudioKey
	audio   map[variantKey]audioOf
	dates   map[schedules.Date]string
	ids     map[entryAt]string
	reasons map[reasonOf]string

	tagBuf   []byte
	tagEnds  []int
	tagParts [][]byte
}

// variantKey is a segment in one language.
type variantKey struct{ segment, language string }

// entryAt is where an entry plays: its date, slot and position.
type entryAt struct {
	date schedules.Date
	slot schedules.TimeOfDay
	pos  int
}

// reasonOf is what an item's Reason depends on.
type reasonOf struct {
	why                   schedules.ReasonCode
	topic                 schedules.Topic
	language              schedules.Language
	aired, rank, fallback int
}

func newEntryMaker(p *plan) *entryMaker {
	return &entryMaker{
		byKey: p.audio, audio: map[variantKey]audioOf{},
		dates: map[schedules.Date]string{}, ids: map[entryAt]string{}, reasons: map[reasonOf]string{},
	}
}

// audioOf is a variant's audio, if it has any.
type audioOf struct {
	pipeline.AirAudio
	ok bool
}

// airAudio is the audio of a segment in a language, looked up in the
// plan's catalog once per variant (a one-commune rebuild looks up a few
// dozen of the thousands).
func (m *entryMaker) airAudio(segment string, lang schedules.Language) (pipeline.AirAudio, bool) {
	k := variantKey{segment, string(lang)}
	a, seen := m.audio[k]
	if !seen {
		a.AirAudio, a.ok = m.byKey[pipeline.AudioKey(segment, string(lang))]
		m.audio[k] = a
	}
	return a.AirAudio, a.ok
}

func (m *entryMaker) date(d schedules.Date) string {
	s, ok := m.dates[d]
	if !ok {
		s = d.String()
		m.dates[d] = s
	}
	return s
}

func (m *entryMaker) entryID(d schedules.Date, slot schedules.TimeOfDay, pos int) string {
	k := entryAt{d, slot, pos}
	s, ok := m.ids[k]
	if !ok {
		s = schedules.EntryID(d, slot, pos)
		m.ids[k] = s
	}
	return s
}

func (m *entryMaker) reason(it *schedules.Item) string {
	k := reasonOf{why: it.Why, topic: it.Topic, language: it.Language, aired: it.TopicAired, rank: it.Rank, fallback: it.Fallback}
	s, ok := m.reasons[k]
	if !ok {
		s = it.Reason()
		m.reasons[k] = s
	}
	return s
}

// communeItems appends to dst[:0] the builder's playlists of one commune
// as stored entries, with the audio each segment item plays.
func (m *entryMaker) communeItems(dst []pipeline.ScheduleItem, sched *schedules.Schedule, c *schedules.Commune) []pipeline.ScheduleItem {
	pls := sched.Commune(c.Code)
	n := 0
	for _, p := range pls {
		n += len(p.Items)
	}
	out := slices.Grow(dst[:0], n)
	for _, p := range pls {
		date := m.date(p.Date)
		for pos := range p.Items {
			it := &p.Items[pos]
			si := pipeline.ScheduleItem{
				Cluster: p.Cluster, Date: date, SlotStart: int(p.Slot.Start), Position: pos,
				EntryID: m.entryID(p.Date, p.Slot.Start, pos), Kind: it.Kind.String(),
				Start: p.Start.Add(it.Offset).UTC(), DurationMS: it.Duration.Milliseconds(),
				SegmentID: it.SegmentID, Language: string(it.Language), Title: it.Title, Topic: string(it.Topic),
				Why: string(it.Why), Reason: m.reason(it),
			}
			if it.Kind == schedules.ItemSegment {
				si.Priority = it.Priority.String()
				if a, ok := m.airAudio(it.SegmentID, it.Language); ok {
					si.AudioKey, si.SHA256, si.Size, si.DurationMS = a.Key, a.SHA256, a.Size, a.DurationMS
				}
			}
			out = append(out, si)
		}
	}
	return out
}

// interrupts makes the "interrupt now" entries of the emergencies that
// commune c got within the last `window` (Emergency.RaisedAt): one per
// cluster, in the first of the cluster's languages the segment is ready
// in.
func interrupts(c *schedules.Commune, ems []pipeline.Emergency, byID map[string]*schedules.Variant, audio map[string]pipeline.AirAudio, now time.Time, window time.Duration, loc *time.Location) []pipeline.ScheduleItem {
	var out []pipeline.ScheduleItem
	// Two emergencies raised in the same second share a cluster, date and
	// time of day: they take positions 0, 1, ... there.
	next := map[string]int{}
	for _, e := range ems {
		if len(e.Targets) > 0 && !slices.Contains(e.Targets, c.Code) {
			continue
		}
		// When this commune got it: a raise that added other communes
		// leaves its interrupt where it was (same entry, same ETag).
		raised := e.RaisedAt(c.Code)
		if now.Sub(raised) > window || now.Before(raised.Add(-time.Minute)) || !now.Before(e.Until) {
			continue
		}
		at := raised.In(loc)
		date := schedules.DateOf(at)
		tod := schedules.TimeOfDay(at.Hour()*3600 + at.Minute()*60 + at.Second())
		for _, cl := range c.Clusters {
			for _, l := range cl.Languages {
				v, ok := byID[e.SegmentID+"/"+string(l)]
				if !ok {
					continue
				}
				a := audio[pipeline.AudioKey(e.SegmentID, string(l))]
				at := cl.ID + "/" + date.String() + "/" + strconv.Itoa(int(tod))
				pos := next[at]
				next[at]++
				out = append(out, pipeline.ScheduleItem{
					Cluster: cl.ID, Date: date.String(), SlotStart: int(tod), Position: pos,
					EntryID: schedules.InterruptID(date, tod, e.SegmentID), Kind: string(schedules.EntryInterrupt),
					Start: raised.UTC(), DurationMS: a.DurationMS, SegmentID: e.SegmentID, Language: string(l),
					Title: v.Title, Topic: string(v.Topic), Priority: "emergency", Why: "interrupt",
					Reason:   "emergency (Thông tư 39): interrupts whatever plays, as soon as the device learns of it",
					AudioKey: a.Key, SHA256: a.SHA256, Size: a.Size,
				})
				break
			}
		}
	}
	return out
}

// versionTag hashes what a commune's devices would see, so an unchanged
// build keeps its ETag: each entry's fields joined with "|", the entries
// sorted, then schedules.ContentTag's hash of them. It is built in one
// buffer rather than a string per field (a national build has a million
// entries); the tag is the same as ContentTag(sorted parts...).
//
// A commune with no entries (no slots, or nothing in its languages yet)
// is tagged by the days built instead, start (YYYY-MM-DD) and days:
// otherwise its version would never change, and once the days it was
// built for ran out its bundle would be refused as "not built" although
// each night builds it (empty) again. A commune with entries needs no
// such part: the same entries cannot cover a later build's days.
func versionTag(items []pipeline.ScheduleItem, start schedules.Date, days int) string {
	var m entryMaker
	return m.tag(items, start, days)
}

// tag is versionTag, in working memory kept from one call to the next.
func (m *entryMaker) tag(items []pipeline.ScheduleItem, start schedules.Date, days int) string {
	if len(items) == 0 {
		return schedules.ContentTag("no entries", start.String(), strconv.Itoa(days))
	}
	buf := m.tagBuf[:0]
	ends := m.tagEnds[:0]
	for i := range items {
		it := &items[i]
		buf = append(buf, it.Cluster...)
		buf = append(buf, '|')
		buf = append(buf, it.Date...)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, int64(it.SlotStart), 10)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, int64(it.Position), 10)
		buf = append(buf, '|')
		buf = append(buf, it.Kind...)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, it.Start.Unix(), 10)
		buf = append(buf, '|')
		buf = strconv.AppendInt(buf, it.DurationMS, 10)
		buf = append(buf, '|')
		buf = append(buf, it.SegmentID...)
		buf = append(buf, '|')
		buf = append(buf, it.Language...)
		buf = append(buf, '|')
		buf = append(buf, it.Title...)
		buf = append(buf, '|')
		buf = append(buf, it.SHA256...)
		ends = append(ends, len(buf))
	}
	parts := m.tagParts[:0]
	for i, e := range ends {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		parts = append(parts, buf[start:e:e])
	}
	slices.SortFunc(parts, bytes.Compare)
	tag := schedules.ContentTagBytes(parts)
	m.tagBuf, m.tagEnds, m.tagParts = buf[:0], ends[:0], parts[:0]
	return tag
}

// Jobs adapts a Service to the worker's schedule jobs.
type Jobs struct{ S *Service }

// Nightly runs the nightly build (once per date).
func (j Jobs) Nightly(ctx context.Context, now time.Time) error {
	_, err := j.S.Nightly(ctx, now)
	return err
}

// Rebuild rebuilds the given communes (all when empty).
func (j Jobs) Rebuild(ctx context.Context, now time.Time, communes []string) error {
	_, err := j.S.Build(ctx, now, communes, "rebuild")
	return err
}

// Clock returns the service's current time.
func (s *Service) Clock() time.Time { return s.now() }
