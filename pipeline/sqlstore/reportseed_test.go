package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/schedules"
)

// seedConfig shapes a synthetic catalog for report tests and benchmarks.
type seedConfig struct {
	communes int
	clusters int // per commune
	from, to time.Time
	cover    int // days each schedule version covers (2: every day is in two versions)
	segments int // segments uploaded over the span
	seed     uint64
}

// The seeded rows, kept so tests compute expectations from them by
// simple loops, independently of the SQL and the report's builder.
type seedSeg struct {
	id, kind, topic, producer string
	created                   time.Time
	withdrawn                 bool
}
type seedVar struct {
	seg, lang string
	ready     time.Time
}
type seedJob struct {
	id, seg, lang, state        string
	created, deadline, approved time.Time
}
type seedItem struct {
	commune, cluster, date, kind, seg, lang, entry string
	slot                                           int
	dur                                            int64
	built                                          time.Time
	version                                        string
}
type seedPlay struct {
	id, commune, cluster, date, entry, seg, status string
	started, finished                              time.Time
}
type seedEm struct {
	seg     string
	targets []string
	marked  time.Time
}
type seedModel struct {
	reg      *schedules.Registry
	segs     []seedSeg
	vars     []seedVar
	jobs     []seedJob
	items    []seedItem
	plays    []seedPlay
	ems      []seedEm
	producer map[int64]string
}

func seedReport(t testing.TB, db *DB, cfg seedConfig) *seedModel {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(cfg.seed, 7))
	loc := report.Location()
	m := &seedModel{reg: &schedules.Registry{TimeZone: schedules.DefaultTimeZone}, producer: map[int64]string{}}
	langsets := [][]schedules.Language{{"blt", "vi"}, {"hnj", "vi"}, {"vi"}, {"blt"}}
	for i := range cfg.communes {
		c := schedules.Commune{Code: fmt.Sprintf("xa-%02d", i), Name: fmt.Sprintf("Xã %02d", i), Kind: schedules.Xa,
			Slots: []schedules.Slot{
				{Days: 0b1111110, Start: 5*3600 + 30*60, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
				{Days: 0b1111110, Start: 17 * 3600, Length: 30 * time.Minute, Reserved: 10 * time.Minute},
			}}
		for k := range cfg.clusters {
			c.Clusters = append(c.Clusters, schedules.Cluster{ID: fmt.Sprintf("cum-%d", k), Name: fmt.Sprintf("Cụm %d", k), Languages: langsets[(i+k)%len(langsets)]})
		}
		if i == 1 && cfg.clusters > 1 {
			// One cluster with its own, daily evening slot.
			c.Clusters[1].Slots = []schedules.Slot{{Days: 0b1111111, Start: 18 * 3600, Length: 20 * time.Minute}}
		}
		m.reg.Communes = append(m.reg.Communes, c)
	}
	if _, err := db.ImportRegistry(ctx, m.reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	var prods []int64
	for _, name := range []string{"dai-ptth", "bao-son-la", "so-noi-vu"} {
		u := fastUser(t, db, name, pipeline.RoleProducer)
		prods = append(prods, u.ID)
		m.producer[u.ID] = name
	}
	admin := fastUser(t, db, "admin-"+fmt.Sprint(cfg.seed), pipeline.RoleAdmin)
	span := cfg.to.Sub(cfg.from)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		exec := func(q string, args ...any) {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q[:30], err)
			}
		}
		// Segments: spread over the span plus a little before and after.
		for i := range cfg.segments {
			created := cfg.from.Add(-span/10 + time.Duration(rng.Int64N(int64(span*12/10))))
			s := seedSeg{id: fmt.Sprintf("seg-%04d", i), kind: []string{"radio", "tv"}[rng.IntN(3)/2],
				topic: pipeline.Topics[rng.IntN(len(pipeline.Topics))].Code, created: created.UTC(), withdrawn: rng.IntN(10) == 0}
			p := prods[rng.IntN(len(prods))]
			s.producer = m.producer[p]
			state := "processed"
			if s.withdrawn {
				state = "withdrawn"
			}
			m.segs = append(m.segs, s)
			exec(`INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
				original_key, original_name, content_type, size_bytes, probe, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'normal', ?, ?, 'vi,blt,hnj', ?, ?, ?, 'a.mp3', 'audio/mpeg', 1, '{}', ?, ?)`,
				s.id, "sha-"+s.id, "Tin "+s.id, s.kind, s.topic, s.created, s.created.Add(60*24*time.Hour), state, p, "orig/"+s.id, s.created, s.created)
			vi := seedVar{seg: s.id, lang: "vi", ready: s.created.Add(time.Duration(10+rng.IntN(50)) * time.Minute)}
			m.vars = append(m.vars, vi)
			exec(`INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, ready_at) VALUES (?, ?, ?, 60000, 'x', 1, ?)`, s.id, "vi", "v/"+s.id+"/vi", vi.ready)
			for _, lang := range []string{"blt", "hnj"} {
				j := seedJob{id: s.id + "-" + lang, seg: s.id, lang: lang, state: "open", created: vi.ready, deadline: vi.ready.Add(72 * time.Hour)}
				switch r := rng.IntN(10); {
				case s.withdrawn:
					j.state = "cancelled"
				case r < 7:
					j.state = "approved"
					j.approved = j.created.Add(time.Duration(1+rng.IntN(120)) * time.Hour)
				case r < 8:
					j.state = "claimed"
				}
				m.jobs = append(m.jobs, j)
				exec(`INSERT INTO jobs (id, segment_id, language, kind, state, deadline, created_at, updated_at) VALUES (?, ?, ?, 'voiceover', ?, ?, ?, ?)`,
					j.id, j.seg, j.lang, j.state, j.deadline, j.created, j.created)
				exec(`INSERT INTO job_events (job_id, at, actor_id, action, from_state, to_state) VALUES (?, ?, 0, 'open', '', 'open')`, j.id, j.created)
				if !j.approved.IsZero() {
					exec(`INSERT INTO job_events (job_id, at, actor_id, action, from_state, to_state) VALUES (?, ?, ?, 'approve', 'in_review', 'approved')`, j.id, j.approved, admin.ID)
					m.vars = append(m.vars, seedVar{seg: s.id, lang: lang, ready: j.approved})
					exec(`INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, approved_by, ready_at) VALUES (?, ?, ?, 60000, 'x', 1, ?, ?)`,
						s.id, lang, "v/"+s.id+"/"+lang, admin.ID, j.approved)
				}
			}
		}
		// Schedules: every day a version per commune, built the evening
		// before, covering cfg.cover days; proof of play for the entries
		// of the version that is the last for its day.
		// Each version's entries, stored as its blob once complete.
		versionItems := map[string][]pipeline.ScheduleItem{}
		insPlay, err := tx.PrepareContext(ctx, `INSERT INTO play_reports (id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at, reason, air_date, reported_by, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, 0, ?)`)
		if err != nil {
			return err
		}
		defer insPlay.Close()
		first := time.Date(cfg.from.In(loc).Year(), cfg.from.In(loc).Month(), cfg.from.In(loc).Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -cfg.cover)
		for day := first; day.Before(cfg.to.AddDate(0, 0, 1)); day = day.AddDate(0, 0, 1) {
			built := day.Add(-4 * time.Hour).UTC() // 20:00 the evening before
			for ci, c := range m.reg.Communes {
				vid := fmt.Sprintf("v-%s-%s", c.Code, day.Format("20060102"))
				exec(`INSERT INTO schedule_versions (id, commune_code, etag, start_date, days, reason, built_at) VALUES (?, ?, ?, ?, ?, 'nightly', ?)`,
					vid, c.Code, vid, day.Format(time.DateOnly), cfg.cover, built)
				for d := range cfg.cover {
					date := day.AddDate(0, 0, d)
					last := d == 0 // the next version replaces the later days
					ds := date.Format(time.DateOnly)
					for _, cl := range c.Clusters {
						for _, sl := range c.SlotsOf(&cl) {
							if !sl.Days.Has(date.Weekday()) {
								continue
							}
							pos := 0
							start := date.Add(time.Duration(sl.Start) * time.Second)
							add := func(kind, seg, lang string, dur int64) {
								entry := schedules.EntryID(schedules.DateOf(date), sl.Start, pos)
								versionItems[vid] = append(versionItems[vid], pipeline.ScheduleItem{Cluster: cl.ID, Date: ds, SlotStart: int(sl.Start), Position: pos,
									EntryID: entry, Kind: kind, Start: start.UTC(), DurationMS: dur, SegmentID: seg, Language: lang})
								it := seedItem{commune: c.Code, cluster: cl.ID, date: ds, kind: kind, seg: seg, lang: lang, entry: entry, slot: int(sl.Start), dur: dur, built: built, version: vid}
								m.items = append(m.items, it)
								if last && kind == "segment" {
									switch r := rng.IntN(10); {
									case r < 7:
										fin := start.Add(time.Duration(dur-int64(rng.IntN(3000))) * time.Millisecond)
										m.plays = append(m.plays, seedPlay{id: vid + entry + cl.ID, commune: c.Code, cluster: cl.ID, date: ds, entry: entry, seg: seg, status: "played", started: start.UTC(), finished: fin.UTC()})
										if r == 0 { // a second report of the same entry, shorter
											m.plays = append(m.plays, seedPlay{id: vid + entry + cl.ID + "b", commune: c.Code, cluster: cl.ID, date: ds, entry: entry, seg: seg, status: "played", started: start.Add(time.Second).UTC(), finished: start.Add(2 * time.Second).UTC()})
										}
									case r < 8:
										m.plays = append(m.plays, seedPlay{id: vid + entry + cl.ID, commune: c.Code, cluster: cl.ID, date: ds, entry: entry, seg: seg, status: "failed", started: start.UTC()})
									}
								}
								start = start.Add(time.Duration(dur) * time.Millisecond)
								pos++
							}
							if sl.Reserved > 0 {
								add("relay", "", "", sl.Reserved.Milliseconds())
							}
							n := rng.IntN(5)
							if ci == 0 && cl.ID == "cum-1" {
								n = 0 // a cluster that never gets its languages
							}
							for range n {
								seg := m.segs[rng.IntN(len(m.segs))].id
								add("segment", seg, string(cl.Languages[rng.IntN(len(cl.Languages))]), int64(60000+rng.IntN(240000)))
							}
							add("filler", "", "", 30000)
						}
					}
				}
			}
		}
		for _, p := range m.plays {
			var fin any
			if !p.finished.IsZero() {
				fin = p.finished
			}
			if _, err := insPlay.ExecContext(ctx, p.id, p.commune, p.cluster, p.entry, p.seg, p.status, p.started, fin, p.date, p.started); err != nil {
				return err
			}
		}
		// An emergency for the first commune a quarter into the span, its
		// interrupt built two minutes later and played five minutes later.
		if cfg.communes > 0 {
			seg := m.segs[0].id
			marked := cfg.from.Add(span / 4).Truncate(time.Hour).UTC()
			e := seedEm{seg: seg, targets: []string{m.reg.Communes[0].Code}, marked: marked}
			m.ems = append(m.ems, e)
			exec(`INSERT INTO emergencies (segment_id, targets, until, marked_by, marked_at) VALUES (?, ?, ?, ?, ?)`, seg, e.targets[0], marked.Add(24*time.Hour), admin.ID, marked)
			vid := "v-emergency"
			date := marked.In(loc).Format(time.DateOnly)
			exec(`INSERT INTO schedule_versions (id, commune_code, etag, start_date, days, reason, built_at) VALUES (?, ?, ?, ?, 1, 'emergency', ?)`,
				vid, e.targets[0], vid, date, marked.Add(2*time.Minute))
			versionItems[vid] = []pipeline.ScheduleItem{{Cluster: "cum-0", Date: date, EntryID: "interrupt-1", Kind: "interrupt", Start: marked,
				DurationMS: 60000, SegmentID: seg, Language: "blt"}}
			// The emergency version is now the last for that date: it
			// replaces that day's schedule in the report.
			exec(`INSERT INTO play_reports (id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at, reason, air_date, reported_by, received_at)
				VALUES ('em-play', ?, 'cum-0', 'interrupt-1', ?, 'played', ?, ?, '', ?, 0, ?)`, e.targets[0], seg, marked.Add(5*time.Minute), marked.Add(6*time.Minute), date, marked)
			m.items = append(m.items, seedItem{commune: e.targets[0], cluster: "cum-0", date: date, kind: "interrupt", seg: seg, lang: "blt", entry: "interrupt-1", dur: 60000, built: marked.Add(2 * time.Minute), version: vid})
			m.plays = append(m.plays, seedPlay{id: "em-play", commune: e.targets[0], cluster: "cum-0", date: date, entry: "interrupt-1", seg: seg, status: "played", started: marked.Add(5 * time.Minute), finished: marked.Add(6 * time.Minute)})
		}
		for vid, items := range versionItems {
			if err := seedVersionItems(ctx, tx, vid, items); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	return m
}

// seedVersionItems stores a seeded version's entries as SaveVersions
// does: the blob, the dates it has entries on, the segments it
// interrupts with.
func seedVersionItems(ctx context.Context, tx *sql.Tx, id string, items []pipeline.ScheduleItem) error {
	blob, err := encodeItems(items)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE schedule_versions SET items = ? WHERE id = ?", blob, id); err != nil {
		return err
	}
	days, ints := map[string]bool{}, map[string]bool{}
	for _, it := range items {
		days[it.Date] = true
		if it.Kind == "interrupt" {
			ints[it.SegmentID] = true
		}
	}
	for d := range days {
		if _, err := tx.ExecContext(ctx, "INSERT INTO schedule_days (version_id, air_date) VALUES (?, ?)", id, d); err != nil {
			return err
		}
	}
	for sg := range ints {
		if _, err := tx.ExecContext(ctx, "INSERT INTO schedule_interrupts (version_id, segment_id) VALUES (?, ?)", id, sg); err != nil {
			return err
		}
	}
	return nil
}
