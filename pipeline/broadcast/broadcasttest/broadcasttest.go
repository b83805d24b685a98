// Package broadcasttest puts segments that are ready to air into a test's
// store, the way processing and approval leave them: a segment row and a
// variants row per language, with real audio in the object store when
// one is given.
package broadcasttest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// DemoRegistry is the path of the Sơn La sample registry from a package
// directory two levels below the module root (such as pipeline/api).
const DemoRegistry = "../../schedules/testdata/sonla-demo.yaml"

// Segment describes a ready segment to add.
type Segment struct {
	Title     string
	Topic     string // pipeline topic code, default "procedures"
	Priority  pipeline.Priority
	Languages []string // default vi
	// Audio is an MP3 file uploaded as every language's loudspeaker
	// audio; empty means a fake key and DurationMS.
	Audio      string
	DurationMS int64 // used without Audio; default 60 000
	AirFrom    time.Time
	AirUntil   time.Time
	ReadyAt    time.Time
}

var seq atomic.Int64

// The days schedule tests run on, whatever the day they are run. The demo
// registry's slots are Monday to Saturday: a test that expects items in
// today's playlist runs on Monday, one that checks a day without slots on
// Sunday. Both are at 04:30 in Asia/Ho_Chi_Minh, before the first slot.
var (
	Monday = time.Date(2025, 3, 3, 4, 30, 0, 0, localtime.Location())
	Sunday = Monday.AddDate(0, 0, -1)
)

// Clock returns a clock that reads start when it is made and then moves
// with the wall clock, for the Now fields of the store, the broadcast
// service and the servers.
func Clock(start time.Time) func() time.Time {
	base := time.Now()
	return func() time.Time { return start.Add(time.Since(base)).UTC() }
}

// LoadRegistry imports a registry file into db.
func LoadRegistry(t testing.TB, db *sqlstore.DB, path string) *schedules.Registry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg, err := schedules.ParseRegistry(filepath.Base(path), f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportRegistry(context.Background(), reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return reg
}

// Producer makes a producer user.
func Producer(t testing.TB, db *sqlstore.DB) pipeline.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), pipeline.NewUser{Name: fmt.Sprintf("producer-%d", seq.Add(1)), Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// AddReady inserts a processed segment with a variant per language and
// returns its id. With s.Audio and a store, the audio is uploaded and
// its real size, checksum and duration recorded.
func AddReady(t testing.TB, db *sqlstore.DB, store objects.Backend, producer pipeline.User, s Segment) string {
	t.Helper()
	ctx := context.Background()
	now := db.Now()
	id := uuid.NewString()
	if s.Topic == "" {
		s.Topic = "procedures"
	}
	if s.Priority == "" {
		s.Priority = pipeline.PriorityNormal
	}
	if len(s.Languages) == 0 {
		s.Languages = []string{pipeline.LangVietnamese}
	}
	if s.AirFrom.IsZero() {
		s.AirFrom = now.Add(-time.Hour)
	}
	if s.AirUntil.IsZero() {
		s.AirUntil = s.AirFrom.Add(30 * 24 * time.Hour)
	}
	if s.DurationMS == 0 {
		s.DurationMS = 60_000
	}
	sum := sha256.Sum256([]byte(id))
	seg := pipeline.Segment{
		ID: id, SHA256: hex.EncodeToString(sum[:]), Title: s.Title, Kind: pipeline.KindRadio, Topic: s.Topic, Priority: s.Priority,
		AirFrom: s.AirFrom, AirUntil: s.AirUntil, Languages: s.Languages, State: pipeline.StateProbed, ProducerID: producer.ID,
		OriginalKey: "segments/" + id + "/original", OriginalName: "clip.mp3", ContentType: "audio/mpeg", Size: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	for _, lang := range s.Languages {
		v := pipeline.Variant{SegmentID: id, Language: lang, AudioKey: "segments/" + id + "/" + lang + "/loudspeaker.mp3",
			DurationMS: s.DurationMS, SHA256: hex.EncodeToString(sum[:]), Size: 1000}
		if s.Audio != "" && store != nil {
			data, err := os.ReadFile(s.Audio)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(data)
			v.SHA256, v.Size = hex.EncodeToString(h[:]), int64(len(data))
			info, err := media.Probe(ctx, s.Audio)
			if err != nil {
				t.Fatal(err)
			}
			v.DurationMS = info.Duration.Milliseconds()
			f, err := os.Open(s.Audio)
			if err != nil {
				t.Fatal(err)
			}
			_, err = store.Put(ctx, v.AudioKey, f, v.Size, "audio/mpeg")
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SaveProcessed(ctx, id, nil, &v, nil); err != nil {
			t.Fatal(err)
		}
	}
	return id
}
