package sqlstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

func sampleItems() []pipeline.ScheduleItem {
	t0 := time.Date(2025, 3, 3, 22, 30, 0, 123456789, time.UTC)
	return []pipeline.ScheduleItem{
		{Cluster: "ban-mong", Date: "2025-03-04", SlotStart: 61200, Position: 1, EntryID: "e2", Kind: "segment", Start: t0.Add(time.Hour),
			DurationMS: 60_000, SegmentID: "s1", Language: "hnj", Title: "Bản tin", Topic: "digital", Priority: "normal", Why: "rotation",
			Reason: "topic rotation", AudioKey: "segments/s1/hnj.mp3", SHA256: "ab", Size: 1 << 40},
		{Cluster: "ban-mong", Date: "2025-03-04", SlotStart: 61200, Position: 0, EntryID: "e1", Kind: "relay", Start: t0, DurationMS: 600_000},
		{Cluster: "a", Date: "2025-03-05", SlotStart: 0, Position: 0, EntryID: "i", Kind: "interrupt", Start: t0.Add(-48 * time.Hour),
			DurationMS: -1, SegmentID: "s1", Language: "vi", Title: "Bản tin", Priority: "emergency"},
	}
}

// TestItemBlobRoundTrip encodes entries and decodes them back in stored
// order (cluster, date, slot, position), every field kept.
func TestItemBlobRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []pipeline.ScheduleItem
	}{
		{"none", []pipeline.ScheduleItem{}},
		{"mixed", sampleItems()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := append([]pipeline.ScheduleItem(nil), tc.items...)
			sortItems(want)
			b, err := encodeItems(tc.items)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeItems(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				want = []pipeline.ScheduleItem{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestItemBlobRefusesDamage: every truncation of a blob, another format
// and trailing bytes are refused with errItems, not a panic or wrong
// entries.
func TestItemBlobRefusesDamage(t *testing.T) {
	b, err := encodeItems(sampleItems())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := decodeItems(b[:n]); !errors.Is(err, errItems) {
			t.Fatalf("first %d of %d bytes: err %v, want errItems", n, len(b), err)
		}
	}
	other := append([]byte{itemsMagic, itemsFormat + 1}, b[2:]...)
	if _, err := decodeItems(other); !errors.Is(err, errItems) {
		t.Errorf("format %d: err %v", itemsFormat+1, err)
	}
	if _, err := decodeItems(append(b, 0)); !errors.Is(err, errItems) {
		t.Errorf("trailing byte: err %v", err)
	}
}

// FuzzDecodeItems: any bytes decode to entries or errItems, never a
// panic; what decodes encodes back to bytes that decode the same.
func FuzzDecodeItems(f *testing.F) {
	b, _ := encodeItems(sampleItems())
	f.Add(b)
	f.Add([]byte{itemsMagic, itemsFormat, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := decodeItems(b)
		if err != nil {
			if !errors.Is(err, errItems) {
				t.Fatalf("error %v does not wrap errItems", err)
			}
			return
		}
		again, err := encodeItems(append([]pipeline.ScheduleItem(nil), items...))
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeItems(again)
		if err != nil {
			t.Fatal(err)
		}
		sortItems(items)
		if len(items) > 0 && !reflect.DeepEqual(back, items) {
			t.Fatalf("re-encoded entries differ")
		}
	})
}

// TestItemEncoderOrderAndReuse: one encoder, used for blob after blob as
// a build does, gives each the bytes a fresh encoder gives, and entries
// in the order a stable sort by cluster, date, slot and position gives,
// whether they come as a builder's playlists (runs of positions), in
// runs that overlap, shuffled, or with duplicate places.
func TestItemEncoderOrderAndReuse(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 22, 30, 0, 0, time.UTC)
	item := func(cluster, date string, slot, pos int, id string) pipeline.ScheduleItem {
		return pipeline.ScheduleItem{Cluster: cluster, Date: date, SlotStart: slot, Position: pos, EntryID: id, Kind: "segment",
			Start: t0.Add(time.Duration(slot+pos) * time.Second), SegmentID: "s-" + id, Title: "t " + id}
	}
	playlists := func() []pipeline.ScheduleItem { // by date, slot, then cluster: runs out of stored order
		var out []pipeline.ScheduleItem
		for _, d := range []string{"2025-03-03", "2025-03-04"} {
			for _, slot := range []int{19800, 61200} {
				for _, c := range []string{"trung-tam", "ban-mong", "ban-thai"} {
					for pos := range 4 {
						out = append(out, item(c, d, slot, pos, fmt.Sprint(c, d, slot, pos)))
					}
				}
			}
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shuffled := playlists()
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	overlapping := []pipeline.ScheduleItem{ // two runs whose places interleave
		item("a", "2025-03-03", 0, 0, "1"), item("a", "2025-03-03", 0, 2, "2"),
		item("a", "2025-03-03", 0, 1, "3"), item("a", "2025-03-03", 0, 3, "4"),
	}
	duplicates := []pipeline.ScheduleItem{ // interrupts at one place keep their order
		item("a", "2025-03-03", 0, 1, "x"), item("a", "2025-03-03", 0, 0, "y"),
		item("a", "2025-03-03", 0, 1, "z"), item("a", "2025-03-03", 0, 0, "w"),
	}
	var shared itemEncoder
	for _, tc := range []struct {
		name  string
		items []pipeline.ScheduleItem
	}{
		{"playlists", playlists()},
		{"none", nil},
		{"sample", sampleItems()},
		{"shuffled", shuffled},
		{"overlapping", overlapping},
		{"duplicates", duplicates},
		{"playlists again", playlists()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := append([]pipeline.ScheduleItem{}, tc.items...)
			sortItems(want)
			fresh, err := encodeItems(tc.items)
			if err != nil {
				t.Fatal(err)
			}
			got, err := shared.encode(tc.items)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, fresh) {
				t.Errorf("a reused encoder's blob differs from a fresh one's")
			}
			back, err := decodeItems(got)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("decoded\n%+v\nwant the stable sort\n%+v", back, want)
			}
		})
	}
}
