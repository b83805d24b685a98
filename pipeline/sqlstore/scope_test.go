package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
	"github.com/sonla-cchc/loa/schedules"
)

// twinRegistry has two communes that share the name "Mường Lạn" (normal in
// Vietnam) and a third with its own name.
const twinRegistry = `timezone: Asia/Ho_Chi_Minh
communes:
  - code: muong-lan
    name: Mường Lạn
    slots: [{days: Mon-Sat, start: "05:30", length: 30m}]
    clusters: [{id: trung-tam, languages: [vi]}]
  - code: muong-lan-sop-cop
    name: Mường Lạn
    slots: [{days: Mon-Sat, start: "05:30", length: 30m}]
    clusters: [{id: trung-tam, languages: [vi]}]
  - code: to-hieu
    name: Tô Hiệu
    slots: [{days: Mon-Sat, start: "05:30", length: 30m}]
    clusters: [{id: trung-tam, languages: [vi]}]
`

func loadTwins(t *testing.T, db *DB) {
	t.Helper()
	reg, err := schedules.ParseRegistry("twins.yaml", strings.NewReader(twinRegistry))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportRegistry(context.Background(), reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestOperatorCommuneIsACode: an operator is bound to a commune code that
// exists; a name (even a unique one) or an unknown code is refused with
// a message naming the codes to use.
func TestOperatorCommuneIsACode(t *testing.T) {
	t.Parallel()
	db := setup(t)
	loadTwins(t, db)
	tests := []struct {
		commune string
		ok      bool
		msg     string
	}{
		{"muong-lan", true, ""},
		{"muong-lan-sop-cop", true, ""},
		{"Mường Lạn", false, "muong-lan, muong-lan-sop-cop"},
		{"tô hiệu", false, "give its code, to-hieu"},
		{"no-such-code", false, "No commune with code"},
	}
	for i, tc := range tests {
		t.Run(tc.commune, func(t *testing.T) {
			u, err := db.CreateUser(context.Background(), pipeline.NewUser{Name: "op-" + string(rune('a'+i)), Role: pipeline.RoleOperator,
				Password: "mat-khau-dai-du", Commune: tc.commune})
			if tc.ok {
				if err != nil || u.Commune != tc.commune {
					t.Fatalf("got %+v, %v", u, err)
				}
				return
			}
			if pipeline.ErrorCode(err) != pipeline.CodeInvalid || !strings.Contains(pipeline.ErrorMessage(err), tc.msg) {
				t.Fatalf("got %v (%s), want an invalid-commune error saying %q", err, pipeline.ErrorCode(err), tc.msg)
			}
		})
	}
}

// TestMigrateBindsOperatorsByName: operators stored by commune name
// before scope went by code are bound to the code when the name is
// unique, and left bound to nothing, with a message, when it is not.
func TestMigrateBindsOperatorsByName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	loadTwins(t, db)
	hash, _ := pipeline.HashPassword("mat-khau-dai-du", bcrypt.MinCost)
	for _, u := range [][2]string{{"op-to-hieu", "TÔ HIỆU"}, {"op-muong-lan", "Mường Lạn"}, {"op-gone", "Xã Cũ"}} {
		if _, err := db.sql.ExecContext(ctx, "INSERT INTO users (name, role, password_hash, commune, created_at) VALUES (?, 'operator', ?, ?, ?)",
			u[0], hash, u[1], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"op-to-hieu": "to-hieu", "op-muong-lan": "Mường Lạn", "op-gone": "Xã Cũ"}
	for name, commune := range want {
		u, err := db.UserByName(ctx, name)
		if err != nil || u.Commune != commune {
			t.Errorf("%s answers for %q (%v), want %q", name, u.Commune, err, commune)
		}
	}
	if len(res.Unbound) != 2 || !strings.Contains(res.Unbound[0], "op-gone") || !strings.Contains(res.Unbound[1], "muong-lan, muong-lan-sop-cop") {
		t.Errorf("unbound operators %q: want op-gone and op-muong-lan, the latter naming both codes", res.Unbound)
	}
}

// TestPlayReportIDsPerCommune: a report id one commune's device used
// first does not make another commune's report with the same id a retry.
func TestPlayReportIDsPerCommune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	loadTwins(t, db)
	started := time.Date(2025, 3, 3, 5, 41, 0, 0, time.UTC)
	rep := []schedules.PlayReport{{ID: "r-1", Entry: "2025-03-03T05:30#1", Cluster: "trung-tam", Status: schedules.Played, Started: started}}
	date := func(schedules.PlayReport) string { return "2025-03-03" }
	for _, c := range []struct {
		commune string
		want    int
	}{{"to-hieu", 1}, {"muong-lan", 1}, {"muong-lan", 0}} {
		n, err := db.SavePlayReports(ctx, c.commune, 1, rep, date)
		if err != nil || n != c.want {
			t.Fatalf("%s: %d new (%v), want %d", c.commune, n, err, c.want)
		}
	}
	for _, c := range []string{"to-hieu", "muong-lan"} {
		got, err := db.PlayReports(ctx, c, "2025-03-03")
		if err != nil || len(got) != 1 {
			t.Errorf("%s has %d reports (%v), want 1", c, len(got), err)
		}
	}
}

// TestSegmentRebuildKeepsRowsAndReferences applies the migrations up to
// the one that rebuilds segments (to drop the table-wide UNIQUE sha256)
// on a database with a segment and rows referring to it: the rows stay,
// the references still hold and are enforced, and the same bytes can now
// be stored for a second producer.
func TestSegmentRebuildKeepsRowsAndReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.sql.ExecContext(ctx, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	for v, name := range []string{"0001_catalog.sql", "0002_renditions.sql", "0003_jobs.sql", "0004_schedules.sql",
		"0005_sessions.sql", "0006_reports.sql", "0007_device_polls.sql", "0008_build_leases.sql", "0009_play_report_ids.sql"} {
		if _, err := db.applyMigration(ctx, v+1, db.migrationDir()+"/"+name); err != nil {
			t.Fatal(err)
		}
	}
	// The user row as the schema at 0009 has it (CreateUser writes the
	// columns of the newest schema).
	ua := pipeline.User{Name: "a", Role: pipeline.RoleProducer}
	if err := db.sql.QueryRowContext(ctx, `INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, 'x', ?) RETURNING id`,
		ua.Name, string(ua.Role), db.Now()).Scan(&ua.ID); err != nil {
		t.Fatal(err)
	}
	seg := testSegment(ua.ID, "abc")
	// Written as the code of migration 0009's time did: today's
	// InsertSegment knows columns later migrations add.
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO segments (id, sha256, title, kind, topic, priority, air_from, air_until,
		languages, state, producer_id, original_key, original_name, content_type, size_bytes, probe, subtitle_key,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seg.ID, seg.SHA256, seg.Title, string(seg.Kind), seg.Topic, string(seg.Priority), seg.AirFrom, seg.AirUntil,
		"vi", string(seg.State), seg.ProducerID, seg.OriginalKey, seg.OriginalName, seg.ContentType, seg.Size,
		`{"duration_ms":1234}`, "", seg.CreatedAt, seg.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, "INSERT INTO segment_events (segment_id, at, user_id, action, detail) VALUES (?, ?, ?, 'upload', ?)",
		seg.ID, seg.CreatedAt, ua.ID, seg.OriginalName); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Segment(ctx, seg.ID)
	if err != nil || got.SHA256 != "abc" || got.Probe.DurationMS != 1234 || got.Loudness != nil {
		t.Fatalf("segment after the rebuild: %+v %v (want its probe, and no loudness: not measured then)", got, err)
	}
	var events int
	db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM segment_events WHERE segment_id = ?", seg.ID).Scan(&events)
	if events != 1 {
		t.Errorf("%d upload events kept, want 1", events)
	}
	if _, err := db.sql.ExecContext(ctx, "INSERT INTO segment_events (segment_id, at, user_id, action) VALUES ('no-such-segment', ?, 1, 'x')", time.Now()); err == nil {
		t.Error("a reference to a missing segment was accepted: foreign keys are off or lost")
	}
	ub, err := db.CreateUser(ctx, pipeline.NewUser{Name: "b", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := db.InsertSegment(ctx, testSegment(ub.ID, "abc"), nil); err != nil || !created {
		t.Fatalf("the same bytes for a second producer: created=%v %v", created, err)
	}
}

// testSegment is a probed radio segment of producer with the given sha256.
func testSegment(producer int64, sha string) pipeline.Segment {
	now := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	id := fmt.Sprintf("s-%d-%s", producer, sha)
	return pipeline.Segment{ID: id, SHA256: sha, Title: "Một cửa", Kind: pipeline.KindRadio, Topic: "procedures",
		Priority: pipeline.PriorityNormal, AirFrom: now, AirUntil: now.Add(time.Hour), Languages: []string{"vi"},
		State: pipeline.StateProbed, ProducerID: producer, OriginalKey: "segments/" + id + "/original", OriginalName: "a.mp3",
		ContentType: "audio/mpeg", Size: 10, Probe: pipeline.ProbeFacts{DurationMS: 1234}, CreatedAt: now, UpdatedAt: now}
}
