package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestDeviceHeartbeats: a device's latest heartbeat is kept (an older
// one arriving late does not replace it), a person's account and a
// device of another commune are refused, and the listing shows devices
// that never sent one.
func TestDeviceHeartbeats(t *testing.T) {
	t.Parallel()
	db := setup(t)
	loadTwins(t, db)
	ctx := context.Background()
	dev, _, err := db.CreateDevice(ctx, "muong-lan", "UBND xã")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateDevice(ctx, "muong-lan", "bản Mông"); err != nil {
		t.Fatal(err)
	}
	other, _, err := db.CreateDevice(ctx, "to-hieu", "")
	if err != nil {
		t.Fatal(err)
	}
	// A device made without a label has a token named "device", not
	// "device " with a trailing space.
	if toks, err := db.Tokens(ctx, other.Name, false); err != nil || len(toks) != 1 || toks[0].Label != "device" {
		t.Fatalf("the unlabelled device's tokens: %+v %v, want one labelled \"device\"", toks, err)
	}
	person, err := db.CreateUser(ctx, pipeline.NewUser{Name: "op-muong-lan", Role: pipeline.RoleOperator, Password: "long enough pw", Commune: "muong-lan"})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 3, 5, 30, 0, 0, time.UTC)
	hb := func(version string) schedules.Heartbeat {
		return schedules.Heartbeat{SentAt: t0, EverySeconds: 30, BundleVersion: version, Backlog: 2, Playing: map[string]string{"trung-tam": "x#0 Tin"}}
	}
	if err := db.RecordHeartbeat(ctx, dev.ID, "muong-lan", t0.Add(time.Minute), hb("v2")); err != nil {
		t.Fatal(err)
	}
	// An older heartbeat (a retry overtaken) does not win.
	if err := db.RecordHeartbeat(ctx, dev.ID, "muong-lan", t0, hb("v1")); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name    string
		user    int64
		commune string
		code    pipeline.Code
	}{
		{"a person is not a device", person.ID, "muong-lan", pipeline.CodeForbidden},
		{"a device of another commune", other.ID, "muong-lan", pipeline.CodeNotFound},
		{"this commune's device as another commune", dev.ID, "to-hieu", pipeline.CodeNotFound},
	}
	for _, r := range refusals {
		if err := db.RecordHeartbeat(ctx, r.user, r.commune, t0.Add(2*time.Minute), hb("forged")); pipeline.ErrorCode(err) != r.code {
			t.Errorf("%s: err %v, want code %s", r.name, err, r.code)
		}
	}
	list, err := db.DeviceHeartbeats(ctx, "muong-lan")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d devices of muong-lan, want 2: %+v", len(list), list)
	}
	got := list[0]
	if got.UserID != dev.ID || got.Label != "UBND xã" || !got.ReceivedAt.Equal(t0.Add(time.Minute)) || got.Heartbeat == nil ||
		got.Heartbeat.BundleVersion != "v2" || got.Heartbeat.Every() != 30*time.Second || got.Heartbeat.Playing["trung-tam"] != "x#0 Tin" {
		t.Errorf("first device %+v (heartbeat %+v), want v2 received at %s", got, got.Heartbeat, t0.Add(time.Minute))
	}
	if list[1].Heartbeat != nil || !list[1].ReceivedAt.IsZero() {
		t.Errorf("second device never sent a heartbeat, listed with %+v", list[1])
	}
	all, err := db.DeviceHeartbeats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Errorf("%d devices in all, want 3", len(all))
	}
}
