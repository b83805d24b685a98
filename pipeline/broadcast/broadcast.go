// Package broadcast wires the pure schedule builder (package schedules)
// to the store, the object store and the devices: it builds and stores a
// schedule version per commune (nightly, on change, and at once for an
// emergency), renders playlists with presigned links, assembles signed
// offline bundles, tells connected devices when their commune's schedule
// changed, and records proof of play.
package broadcast

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// Store is what the service needs from the metadata store.
type Store interface {
	Registry(ctx context.Context) (*schedules.Registry, error)
	ImportRegistry(ctx context.Context, reg *schedules.Registry) (sqlstore.ImportResult, error)
	Communes(ctx context.Context) ([]pipeline.CommuneSummary, error)
	CommuneHead(ctx context.Context, code string) (pipeline.CommuneHead, error)
	ReadyCatalog(ctx context.Context, now time.Time) ([]schedules.Variant, map[string]pipeline.AirAudio, error)
	ActiveEmergencies(ctx context.Context, since time.Time) ([]pipeline.Emergency, error)
	History(ctx context.Context, from, to schedules.Date) ([]schedules.Aired, error)
	SaveVersion(ctx context.Context, v pipeline.ScheduleVersion, items []pipeline.ScheduleItem) (pipeline.ScheduleVersion, bool, error)
	Version(ctx context.Context, id string) (pipeline.ScheduleVersion, error)
	VersionItems(ctx context.Context, versionID, cluster, date string) ([]pipeline.ScheduleItem, error)
	BeginBuild(ctx context.Context, key string) (bool, error)
	FinishBuild(ctx context.Context, key string, communes, changed int, failed bool) error
	MarkEmergency(ctx context.Context, e pipeline.Emergency) error
	RequestEmergency(ctx context.Context, r pipeline.EmergencyRequest) error
	PendingEmergency(ctx context.Context, segmentID string) (pipeline.EmergencyRequest, error)
	SavePlayReports(ctx context.Context, commune string, userID int64, reports []schedules.PlayReport, dateOf func(schedules.PlayReport) string) (int, error)
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
	// Rebuilds, when set, receives the rebuilds segment changes ask for.
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
	// MaxEmergency is the longest an emergency may last from when it is
	// raised (default [DefaultMaxEmergency], never above
	// [HardMaxEmergency]); a longer one is raised again when it ends.
	MaxEmergency time.Duration

	hubOnce sync.Once
	hub     *hub
}

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

func (s *Service) days() int {
	if s.Days > 0 {
		return s.Days
	}
	return 7
}

// Location is the zone every schedule is in.
func Location() *time.Location {
	loc, err := time.LoadLocation(schedules.DefaultTimeZone)
	if err != nil {
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
}

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
}

// Nightly runs the nightly build for the date of now: once per date, even
// when several workers (or a retried job) ask for it.
func (s *Service) Nightly(ctx context.Context, now time.Time) (BuildResult, error) {
	key := "nightly/" + schedules.DateOf(now.In(Location())).String()
	ok, err := s.Store.BeginBuild(ctx, key)
	if err != nil {
		return BuildResult{}, err
	}
	if !ok {
		s.log().Info("nightly schedule build already done", "key", key)
		return BuildResult{Skipped: true}, nil
	}
	res, err := s.Build(ctx, now, nil, "nightly")
	if ferr := s.Store.FinishBuild(ctx, key, res.Communes, len(res.Changed), err != nil); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

// Build builds the schedules of the given communes (every commune when
// codes is empty) for Days days from the date of now and stores a new
// version for each commune whose content changed. Devices connected to
// a changed commune are told at once.
func (s *Service) Build(ctx context.Context, now time.Time, codes []string, reason string) (BuildResult, error) {
	began := time.Now()
	now = now.UTC()
	loc := Location()
	start := schedules.DateOf(now.In(loc))
	res := BuildResult{Start: start.String(), Days: s.days(), Changed: []string{}}
	reg, err := s.Store.Registry(ctx)
	if err != nil {
		return res, err
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
	if len(reg.Communes) == 0 {
		return res, nil
	}
	catalog, audio, err := s.Store.ReadyCatalog(ctx, now)
	if err != nil {
		return res, err
	}
	sep := s.SeparationDays
	if sep == 0 {
		sep = 3
	}
	history, err := s.Store.History(ctx, start.AddDays(-max(sep, 7)), start)
	if err != nil {
		return res, err
	}
	emergencies, err := s.Store.ActiveEmergencies(ctx, now.Add(-s.interruptFor()))
	if err != nil {
		return res, err
	}
	opts := schedules.DefaultOptions(start)
	opts.Days = s.days()
	opts.SeparationDays = sep
	t0 := time.Now()
	sched, err := schedules.Build(catalog, reg, history, opts)
	res.BuildNS = time.Since(t0)
	if err != nil {
		return res, pipeline.Errorf(pipeline.CodeInvalid, "The schedule cannot be built: %v. Fix the commune registry (loa communes import) and build again.", err)
	}
	res.LeftOut = len(sched.LeftOut)
	byID := map[string]*schedules.Variant{}
	for i := range catalog {
		byID[catalog[i].SegmentID+"/"+string(catalog[i].Language)] = &catalog[i]
	}
	for ci := range reg.Communes {
		c := &reg.Communes[ci]
		items := communeItems(sched, c, audio)
		items = append(items, interrupts(c, emergencies, byID, audio, now, s.interruptFor(), loc)...)
		v := pipeline.ScheduleVersion{
			Commune: c.Code, ETag: versionTag(items), Start: start.String(), Days: opts.Days, Reason: reason, BuiltAt: now,
			Explain: schedules.Explain(sched, c.Code, ""),
		}
		stored, changed, err := s.Store.SaveVersion(ctx, v, items)
		if err != nil {
			return res, err
		}
		res.Communes++
		if changed {
			res.Changed = append(res.Changed, c.Code)
			s.events().publish(Event{Commune: c.Code, Version: stored.ID, ETag: stored.ETag, Reason: reason})
		}
	}
	res.Took = time.Since(began)
	s.log().Info("schedules built", "reason", reason, "start", res.Start, "days", res.Days, "communes", res.Communes,
		"changed", len(res.Changed), "left_out", res.LeftOut, "took", res.Took, "builder", res.BuildNS)
	return res, nil
}

func (s *Service) interruptFor() time.Duration {
	if s.InterruptFor > 0 {
		return s.InterruptFor
	}
	return time.Hour
}

// communeItems turns the builder's playlists of one commune into stored
// entries, with the audio each segment item plays.
func communeItems(sched *schedules.Schedule, c *schedules.Commune, audio map[string]pipeline.AirAudio) []pipeline.ScheduleItem {
	var out []pipeline.ScheduleItem
	for _, p := range sched.Commune(c.Code) {
		for pos, it := range p.Items {
			si := pipeline.ScheduleItem{
				Cluster: p.Cluster, Date: p.Date.String(), SlotStart: int(p.Slot.Start), Position: pos,
				EntryID: schedules.EntryID(p.Date, p.Slot.Start, pos), Kind: it.Kind.String(),
				Start: p.Start.Add(it.Offset).UTC(), DurationMS: it.Duration.Milliseconds(),
				SegmentID: it.SegmentID, Language: string(it.Language), Title: it.Title, Topic: string(it.Topic),
				Why: string(it.Why), Reason: it.Reason(),
			}
			if it.Kind == schedules.ItemSegment {
				si.Priority = it.Priority.String()
				if a, ok := audio[sqlstore.AudioKey(it.SegmentID, string(it.Language))]; ok {
					si.AudioKey, si.SHA256, si.Size, si.DurationMS = a.Key, a.SHA256, a.Size, a.DurationMS
				}
			}
			out = append(out, si)
		}
	}
	return out
}

// interrupts makes the "interrupt now" entries of the emergencies raised
// within the last `window` that target commune c: one per cluster, in the
// first of the cluster's languages the segment is ready in.
func interrupts(c *schedules.Commune, ems []pipeline.Emergency, byID map[string]*schedules.Variant, audio map[string]pipeline.AirAudio, now time.Time, window time.Duration, loc *time.Location) []pipeline.ScheduleItem {
	var out []pipeline.ScheduleItem
	for _, e := range ems {
		if now.Sub(e.MarkedAt) > window || now.Before(e.MarkedAt.Add(-time.Minute)) || !now.Before(e.Until) {
			continue
		}
		if len(e.Targets) > 0 && !slices.Contains(e.Targets, c.Code) {
			continue
		}
		at := e.MarkedAt.In(loc)
		date := schedules.DateOf(at)
		tod := schedules.TimeOfDay(at.Hour()*3600 + at.Minute()*60 + at.Second())
		for _, cl := range c.Clusters {
			for _, l := range cl.Languages {
				v, ok := byID[e.SegmentID+"/"+string(l)]
				if !ok {
					continue
				}
				a := audio[sqlstore.AudioKey(e.SegmentID, string(l))]
				out = append(out, pipeline.ScheduleItem{
					Cluster: cl.ID, Date: date.String(), SlotStart: int(tod), Position: 0,
					EntryID: schedules.InterruptID(date, tod, e.SegmentID), Kind: string(schedules.EntryInterrupt),
					Start: e.MarkedAt.UTC(), DurationMS: a.DurationMS, SegmentID: e.SegmentID, Language: string(l),
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
// build keeps its ETag.
func versionTag(items []pipeline.ScheduleItem) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, strings.Join([]string{it.Cluster, it.Date, fmt.Sprint(it.SlotStart), fmt.Sprint(it.Position), it.Kind,
			fmt.Sprint(it.Start.Unix()), fmt.Sprint(it.DurationMS), it.SegmentID, it.Language, it.Title, it.SHA256}, "|"))
	}
	slices.Sort(parts)
	return schedules.ContentTag(parts...)
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
