package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
)

func TestParseSpec(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	good := []struct {
		spec     string
		after    time.Time
		wantNext time.Time
	}{
		// 05:00 Monday–Saturday in Sơn La: from Saturday 23:00 UTC
		// (Sunday 06:00 local) the next run is Monday 05:00 local.
		{"0 5 * * 1-6", utc("2025-03-01T23:00:00Z"), utc("2025-03-02T22:00:00Z")},
		{"30 2 * * *", utc("2025-03-01T00:00:00Z"), utc("2025-03-01T19:30:00Z")},
		{"@daily", utc("2025-03-01T12:00:00Z"), utc("2025-03-01T17:00:00Z")},
		{"*/15 * * * *", utc("2025-03-01T00:01:00Z"), utc("2025-03-01T00:15:00Z")},
	}
	for _, c := range good {
		s, err := ParseSpec(c.spec)
		if err != nil {
			t.Fatalf("%q: %v", c.spec, err)
		}
		if got := s.Next(c.after); !got.Equal(c.wantNext) {
			t.Errorf("%q after %s: next %s, want %s", c.spec, c.after, got.UTC(), c.wantNext)
		}
	}
	bad := []struct{ spec, want string }{
		{"", "empty"},
		{"CRON_TZ=", "time zone"}, // robfig/cron panics on this one
		{"CRON_TZ=Asia/Ho_Chi_Minh", "time zone"},
		{"TZ=UTC 0 5 * * *", "time zone"},
		{"0 5 * *", "five fields"},
		{"61 5 * * *", "five fields"},
		{"every morning", "five fields"},
	}
	for _, c := range bad {
		_, err := ParseSpec(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one mentioning %q", c.spec, err, c.want)
		}
	}
}

// FuzzParseSpec feeds arbitrary specs: parsing must never panic.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"0 5 * * 1-6", "CRON_TZ=", "@every 1h", "* * * * * *", "TZ="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if s, err := ParseSpec(spec); err == nil {
			s.Next(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	})
}

func TestNewRefusesBadSpec(t *testing.T) {
	t.Parallel()
	_, err := New(Config{SweepSpec: "CRON_TZ="})
	if err == nil || !strings.Contains(err.Error(), "LOA_CRON_SWEEP") {
		t.Fatalf("got %v, want an error naming LOA_CRON_SWEEP", err)
	}
}

// TestSweepUploads leaves an object behind as a crashed upload would and
// checks the sweep removes it only once it is older than the grace.
func TestSweepUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := objectstest.New(t)
	db := sqlstoretest.New(t)
	u := sqlstoretest.User(t, db, "p", pipeline.RoleProducer)
	now := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	key := "segments/crashed/original"
	if err := db.BeginUpload(ctx, key, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, key, strings.NewReader("half a file"), -1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	if n, err := SweepUploads(ctx, db, store, now.Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep within the grace removed %d (%v)", n, err)
	}
	if n, err := SweepUploads(ctx, db, store, now.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep after the grace removed %d (%v), want 1", n, err)
	}
	if objs, _ := store.List(ctx, ""); len(objs) != 0 {
		t.Fatalf("objects left: %v", objs)
	}
	if left, _ := db.StaleUploads(ctx, now.Add(time.Hour)); len(left) != 0 {
		t.Fatalf("upload rows left: %v", left)
	}
}
