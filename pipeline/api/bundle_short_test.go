package api_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/player"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// TestShortBundlePulledAndSynced: a real server (real SQLite, MinIO) that
// built two days, asked for three by `loa playlist pull` and by the
// player's sync, answers a bundle of the two days it built; both take it,
// say they hold 2 of the 3 days asked, and nothing in the bundle names
// the third day. A device whose clock is two days ahead (its today is
// past the days built) refuses the same server's answers, and keeps the
// bundle it has; a replayed older version stays refused.
func TestShortBundlePulledAndSynced(t *testing.T) {
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(_ *api.Server, svc *broadcast.Service, _ *sqlstore.DB) { svc.Days = 2 })
	ctx := context.Background()
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	tomorrow, unbuilt := today.AddDays(1), today.AddDays(2)
	device := broadcasttest.Monday.Add(time.Hour) // the device's clock: Monday 05:30 in Sơn La
	c := &pull.Client{Server: sb.srv.URL, Token: sb.tokens[pipeline.RoleOperator]}
	var out strings.Builder

	// loa playlist pull --days 3
	dir := filepath.Join(t.TempDir(), "bundle")
	res, err := pull.Bundle(ctx, c, pull.Options{Commune: "muong-lan", Days: 3, Dir: dir, Progress: &out, Now: device})
	if err != nil {
		t.Fatalf("pull of a bundle with 2 of 3 days built: %v", err)
	}
	if res.Manifest.From != today.String() || res.Manifest.Until != tomorrow.String() || res.Days != 2 || res.DaysAsked != 3 || res.Fetched == 0 {
		t.Fatalf("pulled %s to %s, %d of %d days, %d files; want %s to %s, 2 of 3", res.Manifest.From, res.Manifest.Until, res.Days, res.DaysAsked, res.Fetched, today, tomorrow)
	}
	if want := tomorrow.AddDays(1).In(broadcast.Location()); !res.Manifest.ValidUntil.Equal(want) {
		t.Fatalf("valid_until %s, want the end of %s (%s)", res.Manifest.ValidUntil, tomorrow, want)
	}
	noDay(t, dir, unbuilt)
	installed, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	if err != nil {
		t.Fatal(err)
	}

	// The player's sync, --days 3.
	pdir := filepath.Join(t.TempDir(), "player-bundle")
	st := &player.Status{}
	var logged bytes.Buffer
	syncer := &player.Syncer{Client: c, Commune: "muong-lan", Dir: pdir, Days: 3, Current: player.NewCurrent(), Status: st,
		Now: func() time.Time { return device }, Log: slog.New(slog.NewTextHandler(&logged, nil))}
	if err := syncer.Once(ctx); err != nil {
		t.Fatalf("player sync of a bundle with 2 of 3 days built: %v", err)
	}
	// The first sync pins the server's key: the log gives its fingerprint
	// to check, as 'loa playlist pull' prints it.
	if !strings.Contains(logged.String(), "pinned the server's signing key") {
		t.Errorf("the player's first sync does not log the key it pinned:\n%s", logged.String())
	}
	doc := st.Doc()
	if plan, _, _ := syncer.Current.Get(); plan == nil || doc.Until != tomorrow.String() || doc.DaysAhead != 2 || doc.DaysAsked != 3 || doc.LastError != "" {
		t.Fatalf("player status after sync: until %q, %d of %d days ahead, error %q; want %s, 2 of 3", doc.Until, doc.DaysAhead, doc.DaysAsked, doc.LastError, tomorrow)
	}
	noDay(t, pdir, unbuilt)

	// A device whose today is the day after the last built: the server's
	// bundle (from its today, or from the day asked) skips it.
	late := device.Add(48 * time.Hour)
	for _, o := range []pull.Options{{}, {From: today.String()}} {
		o.Commune, o.Days, o.Dir, o.Now = "muong-lan", 3, dir, late
		_, err := pull.Bundle(ctx, c, o)
		if pipeline.ErrorCode(err) != pipeline.CodeConflict || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), unbuilt.String()) {
			t.Fatalf("pull from %q on a device at %s: %v; want refused, naming its today %s", o.From, late, err, unbuilt)
		}
	}
	syncer.Now = func() time.Time { return late }
	syncer.Repair() // no ETag: the index is read again
	if err := syncer.Once(ctx); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("player sync on a device at %s: %v; want refused", late, err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, schedules.ManifestName)); string(after) != string(installed) {
		t.Fatal("a refused pull changed the installed bundle")
	}
	if plan, _, _ := syncer.Current.Get(); plan == nil || plan.Manifest.Until != tomorrow.String() {
		t.Fatal("a refused sync dropped the bundle in force")
	}

	// Asking from the day after the last built is a 404 naming the days
	// built, not a bundle of nothing.
	_, err = pull.Bundle(ctx, c, pull.Options{Commune: "muong-lan", Days: 1, From: unbuilt.String(), Dir: dir, Now: device})
	if pipeline.ErrorCode(err) != pipeline.CodeNotFound && pipeline.ErrorCode(err) != pipeline.CodeInvalid {
		t.Fatalf("pull from %s: %v; want refused", unbuilt, err)
	}
	if !strings.Contains(err.Error(), tomorrow.String()) {
		t.Fatalf("pull from %s: %v; want the days there are named", unbuilt, err)
	}
}

// noDay fails when the bundle in dir has a playlist of day d or its
// manifest names it.
func noDay(t *testing.T, dir string, d schedules.Date) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), d.String()) {
		t.Errorf("the manifest names %s, a day not built:\n%s", d, data)
	}
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(e.Name(), d.String()) {
			return errors.New(p)
		}
		return err
	})
	if err != nil {
		t.Errorf("the bundle holds a file of %s, a day not built: %v", d, err)
	}
}
