package schedules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EntryKind names the kind of a distributed playlist entry.
type EntryKind string

// Kinds of distributed entry: the builder's item kinds plus the
// emergency "interrupt now" entry that precedes a day's programme.
const (
	EntrySegment   EntryKind = "segment"
	EntryRelay     EntryKind = "relay"
	EntryFiller    EntryKind = "filler"
	EntryIdent     EntryKind = "ident"
	EntryInterrupt EntryKind = "interrupt"
)

// Entry is one item of a playlist as devices and operators receive it.
// Relay entries have no media: the relay comes from elsewhere.
type Entry struct {
	// ID names the entry within its commune's schedule version, e.g.
	// "2025-03-03T05:30#2"; play reports refer to it.
	ID         string    `json:"id"`
	Kind       EntryKind `json:"kind"`
	Start      time.Time `json:"start"`
	DurationMS int64     `json:"duration_ms"`
	SegmentID  string    `json:"segment_id,omitempty"`
	Title      string    `json:"title,omitempty"`
	Language   Language  `json:"language,omitempty"`
	Priority   string    `json:"priority,omitempty"`
	Why        string    `json:"why,omitempty"`
	SHA256     string    `json:"sha256,omitempty"`
	Size       int64     `json:"size_bytes,omitempty"`
	// URL is where to fetch the media: a presigned link, or a path
	// relative to the playlist inside an offline bundle.
	URL string `json:"url,omitempty"`
}

// Playable reports whether the entry has media to play.
func (e *Entry) Playable() bool { return e.SHA256 != "" && e.Kind != EntryRelay }

// EntryID builds the id of the entry at position pos of the slot that
// starts at slot on date.
func EntryID(date Date, slot TimeOfDay, pos int) string {
	// Appended by hand, not fmt: a national build makes a million.
	b := make([]byte, 0, 24)
	b = date.appendTo(b)
	b = append(b, 'T')
	b = append2(b, int(slot)/3600)
	b = append(b, ':')
	b = append2(b, int(slot)/60%60)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(pos), 10)
	return string(b)
}

// append2 appends n with at least two digits.
func append2(b []byte, n int) []byte {
	if n >= 0 && n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// InterruptID builds the id of an emergency interrupt entry made at t.
func InterruptID(date Date, at TimeOfDay, segmentID string) string {
	return fmt.Sprintf("%sT%s!%s", date, hhmmss(at), segmentID)
}

func hhmm(t TimeOfDay) string { return fmt.Sprintf("%02d:%02d", int(t)/3600, int(t)/60%60) }
func hhmmss(t TimeOfDay) string {
	return fmt.Sprintf("%02d%02d%02d", int(t)/3600, int(t)/60%60, int(t)%60)
}

// PlaylistDoc is the JSON form of one cluster's playlist for one date.
type PlaylistDoc struct {
	Commune     string  `json:"commune"`
	CommuneName string  `json:"commune_name"`
	Cluster     string  `json:"cluster"`
	Date        string  `json:"date"`
	Version     string  `json:"version"`
	ETag        string  `json:"etag"`
	TimeZone    string  `json:"time_zone"`
	Entries     []Entry `json:"entries"`
}

// WriteM3U8 writes the playable entries as an extended M3U playlist:
// #EXTM3U, then for each entry #EXTINF with its exact duration in seconds
// (millisecond precision) and title, then its URL. Line breaks in titles
// are replaced by spaces so they cannot forge lines. An emergency comes
// first as an interrupt and also leads the slots after it; a player of
// the list plays it top to bottom, so the slot leads right after the
// interrupts that repeat an emergency just played are left out (it is not
// heard twice in a row); later slots still start with it.
func WriteM3U8(w io.Writer, title string, entries []Entry) error {
	var b strings.Builder
	b.WriteString("#EXTM3U\n")
	if title != "" {
		b.WriteString("#PLAYLIST:" + oneLine(title) + "\n")
	}
	interrupted := map[string]bool{} // segment+language of the interrupts
	leading := true                  // still in the run right after them
	for i := range entries {
		e := &entries[i]
		if !e.Playable() || e.URL == "" {
			continue
		}
		key := e.SegmentID + "/" + string(e.Language)
		if e.Kind == EntryInterrupt {
			interrupted[key] = true
		} else if leading && e.SegmentID != "" && interrupted[key] {
			continue
		} else {
			leading = false
		}
		name := e.Title
		if e.Kind == EntryInterrupt {
			name = "KHẨN CẤP: " + name
		}
		fmt.Fprintf(&b, "#EXTINF:%s,%s\n%s\n", seconds(e.DurationMS), oneLine(name), oneLine(e.URL))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func seconds(ms int64) string {
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// ContentTag hashes the parts into a short, stable tag (hex of the first
// 16 bytes of their SHA-256), for ETags. Parts are separated so that
// ("ab","c") and ("a","bc") differ.
func ContentTag(parts ...string) string {
	b := make([][]byte, len(parts))
	for i, p := range parts {
		b[i] = []byte(p)
	}
	return ContentTagBytes(b)
}

// ContentTagBytes is ContentTag of parts given as byte slices.
func ContentTagBytes(parts [][]byte) string {
	h := sha256.New()
	var n []byte
	for _, p := range parts {
		n = strconv.AppendInt(n[:0], int64(len(p)), 10)
		n = append(n, ':')
		h.Write(n)
		h.Write(p)
		h.Write([]byte{';'})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
