package broadcast_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/schedules"
)

// TestEmptyCommuneStaysBuilt: a commune with nothing to play (slots
// without a relay part, no segment ready in its languages) gets a new
// version each day its build moves on (and none from a rebuild the same
// day), so its bundle is still served once the days of its first build
// have run out.
func TestEmptyCommuneStaysBuilt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	reg := filepath.Join(t.TempDir(), "quiet.yaml")
	if err := os.WriteFile(reg, []byte(`communes:
  - code: muong-lan
    name: Mường Lạn
    kind: xa
    slots:
      - {days: Mon-Sun, start: "05:30", length: 30m}
    clusters:
      - {id: trung-tam, name: Loa trung tâm xã, languages: [hnj]}
      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	broadcasttest.LoadRegistry(t, f.db, reg)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Key = key
	if _, err := f.svc.Nightly(ctx, f.now); err != nil {
		t.Fatal(err)
	}
	first := f.heads(t)
	if res, err := f.svc.Build(ctx, f.now, nil, "rebuild"); err != nil || len(res.Changed) != 0 {
		t.Fatalf("a rebuild the same day with nothing changed: %+v %v", res, err)
	}
	f.now = f.now.AddDate(0, 0, 9) // past the 7 days the first build made
	res, err := f.svc.Nightly(ctx, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != res.Communes {
		t.Fatalf("nine days later, changed %v of %d communes: want every commune stored again, muong-lan (nothing to play) too", res.Changed, res.Communes)
	}
	later := f.heads(t)
	for code, tag := range first {
		if later[code] == tag {
			t.Errorf("commune %s kept ETag %s nine days later", code, tag)
		}
	}
	head, err := f.db.CommuneHead(ctx, "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	today := schedules.DateOf(f.now.In(broadcast.Location()))
	b, err := f.svc.Bundle(ctx, head, today, 7)
	if err != nil {
		t.Fatalf("the bundle of an empty commune nine days on: %v", err)
	}
	if b.Manifest.From != today.String() || b.Manifest.Until != today.AddDays(6).String() {
		t.Fatalf("bundle covers %s to %s, want %s and 7 days", b.Manifest.From, b.Manifest.Until, today)
	}
}
