package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// TestDevicesOnOperatorAndAdminPages: the operator's page lists its
// commune's players (not another commune's) with their state, last
// report, schedule version, what plays and the reports waiting; the
// admin's communes page lists every commune's, a silent one as never.
func TestDevicesOnOperatorAndAdminPages(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	ctx := context.Background()
	mine, _, err := b.db.CreateDevice(ctx, "muong-lan", "UBND xã")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := b.db.CreateDevice(ctx, "to-hieu", "Bản Tô")
	if err != nil {
		t.Fatal(err)
	}
	now := b.db.Now()
	if err := b.db.RecordHeartbeat(ctx, mine.ID, "muong-lan", now, schedules.Heartbeat{SentAt: now, BundleVersion: "v-42",
		Playing: map[string]string{"trung-tam": "x#1 Bản tin CCHC"}, Backlog: 7, ClockOffsetMS: 1200}); err != nil {
		t.Fatal(err)
	}
	resp, page := b.do(t, "GET", "/operator", b.session(t, pipeline.RoleOperator), nil, "same-origin")
	if resp.StatusCode != 200 {
		t.Fatalf("operator page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`data-device="` + mine.Name + `" data-state="online"`, "UBND xã", "v-42", "trung-tam: x#1 Bản tin CCHC", "<td>7</td>", "1200 ms"} {
		if !strings.Contains(page, want) {
			t.Errorf("the operator's page lacks %q", want)
		}
	}
	if strings.Contains(page, other.Name) {
		t.Errorf("the operator's page shows another commune's device %s", other.Name)
	}
	// One table for both pages: the commune column only on the admin's.
	communeCell := `<td><a href="/admin/communes/muong-lan">muong-lan</a></td>`
	if strings.Contains(page, communeCell) {
		t.Errorf("the operator's page has a commune column")
	}
	resp, page = b.do(t, "GET", "/admin/communes", b.session(t, pipeline.RoleAdmin), nil, "same-origin")
	if resp.StatusCode != 200 {
		t.Fatalf("communes page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`data-device="` + mine.Name + `" data-state="online"`, `data-device="` + other.Name + `" data-state="never"`, "Bản Tô", communeCell, "v-42"} {
		if !strings.Contains(page, want) {
			t.Errorf("the admin's communes page lacks %q", want)
		}
	}
}
