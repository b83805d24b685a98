package sqlstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/bulletin"
)

// TestBulletinLeavesOutEmergenciesOver: the weekly bulletin (and each of
// its items' audio links) lists an emergency segment only while its
// emergency is in force, and a segment only once its air window began;
// other segments stay.
func TestBulletinLeavesOutEmergenciesOver(t *testing.T) {
	ctx := context.Background()
	db := setup(t)
	now := time.Date(2025, 3, 5, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	producer := fastUser(t, db, "dai-ptth", pipeline.RoleProducer)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.sql.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, seg := range []struct {
		id, priority string
		until        time.Duration // the emergency's end from now; 0: no emergency row
		listed       bool
	}{
		{"thuong", "normal", 0, true},
		{"lu-quet", "emergency", 6 * time.Hour, true},
		{"bao-nham", "emergency", -time.Minute, false}, // ended early or run out
		{"het-han", "emergency", 0, false},             // no emergency row at all
	} {
		insertSegment(t, db, seg.id, "Bản tin "+seg.id, seg.priority, now.Add(-48*time.Hour), producer.ID)
		exec(`INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, ready_at) VALUES (?, 'vi', ?, 65000, 'x', 10, ?)`,
			seg.id, "segments/"+seg.id+"/vi.mp3", now.Add(-time.Hour))
		if seg.until != 0 {
			exec(`INSERT INTO emergencies (segment_id, until, marked_by, marked_at) VALUES (?, ?, ?, ?)`, seg.id, now.Add(seg.until), producer.ID, now.Add(-2*time.Hour))
		}
		t.Run(seg.id, func(t *testing.T) {
			items, err := db.BulletinItems(ctx, "vi", now.Add(-24*time.Hour), now)
			if err != nil {
				t.Fatal(err)
			}
			listed := slices.ContainsFunc(items, func(it bulletin.Item) bool { return it.SegmentID == seg.id })
			_, err = db.BulletinItem(ctx, seg.id, "vi")
			if listed != seg.listed || (err == nil) != seg.listed {
				t.Fatalf("listed %v, item error %v; want listed %v", listed, err, seg.listed)
			}
			if !seg.listed && pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Fatalf("item error %v, want not found", err)
			}
		})
	}
	// An embargoed segment (air_from days after it is ready) enters the
	// bulletin when its air window begins, dated then, not before.
	embargo := now.Add(5 * 24 * time.Hour)
	insertSegment(t, db, "cam-phat", "Cấm phát trước", "normal", embargo, producer.ID)
	exec(`INSERT INTO variants (segment_id, language, audio_key, duration_ms, sha256, size_bytes, ready_at) VALUES ('cam-phat', 'vi', 'segments/cam-phat/vi.mp3', 65000, 'x', 10, ?)`, now.Add(-time.Hour))
	for _, c := range []struct {
		name   string
		at     time.Time
		listed bool
	}{
		{"embargoed, before its air window", now, false},
		{"embargoed, once its air window began", embargo.Add(time.Minute), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			db.Now = func() time.Time { return c.at }
			items, err := db.BulletinItems(ctx, "vi", now.Add(-24*time.Hour), now.Add(7*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(items, func(it bulletin.Item) bool { return it.SegmentID == "cam-phat" })
			_, itemErr := db.BulletinItem(ctx, "cam-phat", "vi")
			if (i >= 0) != c.listed || (itemErr == nil) != c.listed {
				t.Fatalf("listed %v, item error %v; want listed %v", i >= 0, itemErr, c.listed)
			}
			if c.listed && !items[i].ReadyAt.Equal(embargo) {
				t.Fatalf("the item is dated %v, want its air_from %v", items[i].ReadyAt, embargo)
			}
		})
	}
}

// insertSegment stores a processed Vietnamese radio segment row as a
// test needs it: id, title, priority, its air window from airFrom for
// ten days, made by producer.
func insertSegment(t *testing.T, db *DB, id, title, priority string, airFrom time.Time, producer int64) {
	t.Helper()
	if _, err := db.sql.ExecContext(context.Background(), `INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until, languages, state, producer_id,
		original_key, original_name, content_type, size_bytes, probe, created_at, updated_at)
		VALUES (?, ?, ?, 'radio', 'digital', ?, ?, ?, 'vi', 'processed', ?, 'o', 'a.mp3', 'audio/mpeg', 1, '{}', ?, ?)`,
		id, "sha-"+id, title, priority, airFrom, airFrom.Add(240*time.Hour), producer, airFrom, airFrom); err != nil {
		t.Fatal(err)
	}
}
