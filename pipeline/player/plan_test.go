package player

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sonla-cchc/loa/schedules"
)

// t0 is a slot's start, 05:30 in Sơn La.
var t0 = time.Date(2025, 3, 3, 5, 30, 0, 0, time.FixedZone("ICT", 7*3600))

// testBundle is an in-memory bundle: playlists and media, and the
// manifest that lists them (not signed: NewPlan takes a verified one).
type testBundle struct {
	fs fstest.MapFS
	m  *schedules.Manifest
}

func newTestBundle() *testBundle {
	return &testBundle{fs: fstest.MapFS{}, m: &schedules.Manifest{Format: schedules.BundleFormat, Commune: "muong-lan",
		Version: "v1", From: "2025-03-03", Until: "2025-03-04", ValidUntil: t0.Add(48 * time.Hour)}}
}

// media adds a media file with content data and returns its checksum.
func (b *testBundle) media(data string) string {
	sum := sha256.Sum256([]byte(data))
	sha := hex.EncodeToString(sum[:])
	p := "media/" + sha + ".mp3"
	b.fs[p] = &fstest.MapFile{Data: []byte(data)}
	b.m.Files = append(b.m.Files, schedules.ManifestFile{Path: p, SHA256: sha, Size: int64(len(data))})
	return sha
}

func (b *testBundle) playlist(t testing.TB, cluster string, entries ...schedules.Entry) {
	t.Helper()
	doc := schedules.PlaylistDoc{Commune: b.m.Commune, Cluster: cluster, Date: "2025-03-03", Entries: entries}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := "2025-03-03_" + cluster + ".json"
	b.fs[p] = &fstest.MapFile{Data: data}
	sum := sha256.Sum256(data)
	b.m.Files = append(b.m.Files, schedules.ManifestFile{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
}

// seg is a segment entry at position pos of the 05:30 slot, starting at
// off from the slot's start, lasting d.
func seg(pos int, off, d time.Duration, sha string) schedules.Entry {
	e := schedules.Entry{ID: "2025-03-03T05:30#" + string(rune('0'+pos)), Kind: schedules.EntrySegment, Start: t0.Add(off),
		DurationMS: d.Milliseconds(), SegmentID: "s" + string(rune('0'+pos)), SHA256: sha}
	if sha != "" {
		e.URL = "media/" + sha + ".mp3"
	}
	return e
}

func relay(d time.Duration) schedules.Entry {
	return schedules.Entry{ID: "2025-03-03T05:30#0", Kind: schedules.EntryRelay, Start: t0, DurationMS: d.Milliseconds()}
}

func interrupt(at time.Time, d time.Duration, sha string) schedules.Entry {
	return schedules.Entry{ID: "2025-03-03T" + at.Format("150405") + "!em", Kind: schedules.EntryInterrupt, Start: at,
		DurationMS: d.Milliseconds(), SegmentID: "em", SHA256: sha, URL: "media/" + sha + ".mp3"}
}

func mustPlan(t *testing.T, b *testBundle) *Plan {
	t.Helper()
	p, err := NewPlan(b.fs, b.m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanStops(t *testing.T) {
	b := newTestBundle()
	a, c := b.media("a"), b.media("c")
	b.playlist(t, "trung-tam",
		relay(10*time.Minute),
		seg(1, 10*time.Minute, 30*time.Second, a),
		seg(2, 10*time.Minute+30*time.Second, 20*time.Second, ""), // no audio
		seg(3, 10*time.Minute+50*time.Second, 40*time.Second, c),
	)
	p := mustPlan(t, b)
	got := p.Programme["trung-tam"]
	if len(got) != 3 {
		t.Fatalf("programme has %d items, want 3 (relay dropped): %+v", len(got), got)
	}
	tests := []struct {
		id      string
		stop    time.Duration
		file    bool
		problem string
	}{
		{"2025-03-03T05:30#1", 10*time.Minute + 30*time.Second, true, ""},
		{"2025-03-03T05:30#2", 10*time.Minute + 50*time.Second, false, "no audio"},
		{"2025-03-03T05:30#3", 11*time.Minute + 30*time.Second, true, ""}, // the slot's end
	}
	for i, tt := range tests {
		it := got[i]
		if it.ID != tt.id || !it.Stop.Equal(t0.Add(tt.stop)) || (it.File != "") != tt.file || !strings.Contains(it.Problem, tt.problem) {
			t.Errorf("item %d: got %s stop %s file %q problem %q; want %s stop %s file %v problem ~%q",
				i, it.ID, it.Stop.Sub(t0), it.File, it.Problem, tt.id, tt.stop, tt.file, tt.problem)
		}
		if it.Stop.Before(it.Start) || it.Stop.After(t0.Add(11*time.Minute+30*time.Second)) {
			t.Errorf("item %d runs past its slot: stop %s", i, it.Stop)
		}
	}
}

func TestPlanRefusesMediaOutsideTheManifest(t *testing.T) {
	b := newTestBundle()
	a := b.media("a")
	other := strings.Repeat("ab", 32)
	wrongSum := seg(2, 30*time.Second, 10*time.Second, a)
	wrongSum.SHA256 = other // the playlist claims another checksum for a listed file
	escape := seg(3, 40*time.Second, 10*time.Second, a)
	escape.URL = "../etc/passwd"
	b.playlist(t, "trung-tam",
		seg(1, 0, 10*time.Second, other), // file not listed at all
		wrongSum,
		escape,
	)
	p := mustPlan(t, b)
	for _, it := range p.Programme["trung-tam"] {
		if it.File != "" || it.Problem == "" {
			t.Errorf("%s: file %q problem %q; want no file and a problem", it.ID, it.File, it.Problem)
		}
	}
}

func TestPlanRefusesBadPlaylists(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"not json", `{"commune":`, "not a playlist"},
		{"other commune", `{"commune":"to-hieu","cluster":"a","date":"2025-03-03","entries":[]}`, "for commune"},
		{"no cluster", `{"commune":"muong-lan","date":"2025-03-03","entries":[]}`, "no cluster"},
		{"bad date", `{"commune":"muong-lan","cluster":"a","date":"3/3/2025","entries":[]}`, "date"},
		{"entry without start", `{"commune":"muong-lan","cluster":"a","date":"2025-03-03","entries":[{"id":"x","kind":"segment","duration_ms":5}]}`, "entry 1"},
		{"negative length", `{"commune":"muong-lan","cluster":"a","date":"2025-03-03","entries":[{"id":"x","kind":"segment","start":"2025-03-03T05:30:00+07:00","duration_ms":-5}]}`, "entry 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newTestBundle()
			b.fs["2025-03-03_a.json"] = &fstest.MapFile{Data: []byte(tt.doc)}
			b.m.Files = append(b.m.Files, schedules.ManifestFile{Path: "2025-03-03_a.json", SHA256: strings.Repeat("0", 64)})
			_, err := NewPlan(b.fs, b.m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestPlanNext(t *testing.T) {
	b := newTestBundle()
	a, c, e := b.media("a"), b.media("c"), b.media("e")
	b.playlist(t, "trung-tam",
		relay(10*time.Minute),
		seg(1, 10*time.Minute, 30*time.Second, a),
		seg(2, 10*time.Minute+30*time.Second, 40*time.Second, c),
	)
	b.playlist(t, "ban-a",
		seg(1, 0, 30*time.Second, a),
		interrupt(t0.Add(12*time.Minute), 15*time.Second, e),
	)
	// ban-b: a second, different warning raised while the first sounds.
	b.playlist(t, "ban-b",
		interrupt(t0.Add(12*time.Minute), 15*time.Second, e),
		interrupt(t0.Add(12*time.Minute+10*time.Second), 15*time.Second, a),
	)
	p := mustPlan(t, b)
	first, second := &p.Programme["trung-tam"][0], &p.Programme["trung-tam"][1]
	em := &p.Interrupts["ban-a"][0]
	older, newer := &p.Interrupts["ban-b"][0], &p.Interrupts["ban-b"][1]
	none := func(*Item) bool { return false }
	only := func(keys ...*Item) func(*Item) bool {
		return func(it *Item) bool {
			for _, k := range keys {
				if k.Key() == it.Key() {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name    string
		cluster string
		now     time.Duration
		done    func(*Item) bool
		want    *Item
		at      time.Duration
		offset  time.Duration
		ok      bool
	}{
		{"before the slot: wait for the first item", "trung-tam", 0, none, first, 10 * time.Minute, 0, true},
		{"on time", "trung-tam", 10 * time.Minute, none, first, 10 * time.Minute, 0, true},
		{"late: from the clock's offset", "trung-tam", 10*time.Minute + 12*time.Second, none, first, 10*time.Minute + 12*time.Second, 12 * time.Second, true},
		{"finished: never again", "trung-tam", 10*time.Minute + 12*time.Second, only(first), second, 10*time.Minute + 30*time.Second, 0, true},
		{"under MinPlay left: skipped", "trung-tam", 10*time.Minute + 29*time.Second + 500*time.Millisecond, none, second, 10*time.Minute + 30*time.Second, 0, true},
		{"mid second item after a restart", "trung-tam", 10*time.Minute + 45*time.Second, only(first), second, 10*time.Minute + 45*time.Second, 15 * time.Second, true},
		{"all played", "trung-tam", 10*time.Minute + 45*time.Second, only(first, second), nil, 0, 0, false},
		{"slot over", "trung-tam", 20 * time.Minute, none, nil, 0, 0, false},
		{"interrupt not yet raised", "ban-a", 5 * time.Second, none, &p.Programme["ban-a"][0], 5 * time.Second, 5 * time.Second, true},
		{"interrupt preempts at once", "ban-a", 12*time.Minute + 3*time.Second, none, em, 12*time.Minute + 3*time.Second, 0, true},
		{"interrupt a little ahead of our clock", "ban-a", 11 * time.Minute, none, em, 11 * time.Minute, 0, true},
		{"interrupt played", "ban-a", 12*time.Minute + 20*time.Second, only(&p.Programme["ban-a"][0], em), nil, 0, 0, false},
		{"interrupt too old", "ban-a", 12*time.Minute + InterruptWindow, only(&p.Programme["ban-a"][0]), nil, 0, 0, false},
		{"the newer of two warnings first", "ban-b", 12*time.Minute + 10*time.Second, none, newer, 12*time.Minute + 10*time.Second, 0, true},
		{"the older warning again after the newer, from its start", "ban-b", 12*time.Minute + 25*time.Second, only(newer), older, 12*time.Minute + 25*time.Second, 0, true},
		{"both warnings heard", "ban-b", 12*time.Minute + 40*time.Second, only(older, newer), nil, 0, 0, false},
		{"other cluster untouched", "trung-tam", 12*time.Minute + 3*time.Second, only(first, second), nil, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := p.Next(tt.cluster, t0.Add(tt.now), tt.done)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v (%+v)", ok, tt.ok, st.Item)
			}
			if !ok {
				return
			}
			if st.Item.Key() != tt.want.Key() || !st.At.Equal(t0.Add(tt.at)) || st.Offset != tt.offset {
				t.Fatalf("got %s at %s offset %s; want %s at %s offset %s", st.Item.ID, st.At.Sub(t0), st.Offset, tt.want.ID, tt.at, tt.offset)
			}
		})
	}
	if at, ok := p.NextInterrupt("ban-a", t0, none); !ok || !at.Equal(t0.Add(12*time.Minute-InterruptLead)) {
		t.Errorf("NextInterrupt: %s %v", at.Sub(t0), ok)
	}
}

func TestPlanExpired(t *testing.T) {
	p := mustPlan(t, newTestBundle())
	if p.Expired(t0) || !p.Expired(t0.Add(48*time.Hour)) {
		t.Fatal("a bundle expires exactly at its valid_until")
	}
}

// FuzzPlaylist feeds arbitrary playlist documents to the plan: it may
// refuse them, never panic, and what it accepts keeps every item inside
// its slot and every file inside the manifest.
func FuzzPlaylist(f *testing.F) {
	b := newTestBundle()
	a := b.media("a")
	b.playlist(f, "trung-tam", relay(time.Minute), seg(1, time.Minute, 30*time.Second, a), interrupt(t0.Add(time.Minute), time.Second, a))
	for _, file := range b.fs {
		f.Add(file.Data)
	}
	f.Add([]byte(`{"commune":"muong-lan","cluster":"a","date":"2025-03-03","entries":[{"id":"x#1","kind":"segment","start":"2025-03-03T05:30:00+07:00","duration_ms":5,"sha256":"` + a + `","url":"../media/x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		nb := newTestBundle()
		sha := nb.media("a")
		nb.fs["2025-03-03_x.json"] = &fstest.MapFile{Data: data}
		nb.m.Files = append(nb.m.Files, schedules.ManifestFile{Path: "2025-03-03_x.json", SHA256: sha})
		p, err := NewPlan(nb.fs, nb.m)
		if err != nil {
			return
		}
		for _, items := range p.Programme {
			for _, it := range items {
				if it.Stop.Before(it.Start) {
					t.Fatalf("%s stops before it starts", it.ID)
				}
				if it.File != "" && it.File != "media/"+sha+".mp3" {
					t.Fatalf("%s plays %q, not a manifest file", it.ID, it.File)
				}
			}
		}
	})
}

// TestPlanKeysPerCluster: the same entry at the same time with the same
// media in two clusters are two items: one finishing does not finish the
// other (after a restart, done keys come from one shared journal).
func TestPlanKeysPerCluster(t *testing.T) {
	b := newTestBundle()
	a := b.media("a")
	b.playlist(t, "trung-tam", seg(1, 0, 10*time.Second, a))
	b.playlist(t, "ban-a", seg(1, 0, 10*time.Second, a))
	p := mustPlan(t, b)
	done := map[string]bool{p.Programme["trung-tam"][0].Key(): true}
	if _, ok := p.Next("ban-a", t0, func(it *Item) bool { return done[it.Key()] }); !ok {
		t.Fatal("ban-a's item counted as done because trung-tam played the same entry")
	}
}
