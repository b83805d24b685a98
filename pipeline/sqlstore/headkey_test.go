package sqlstore

import (
	"context"
	"os"
	"testing"
	"unsafe"

	"github.com/sonla-cchc/loa/schedules"
)

// TestCommuneHeadKeepsNoCallerString: the head cache keeps its own copy
// of the commune code it was asked for, so a caller whose code is a view
// of a buffer it reuses (the playlist listener's request path) cannot
// change the cache's key afterwards.
func TestCommuneHeadKeepsNoCallerString(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	f, err := os.Open("../../schedules/testdata/sonla-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reg, err := schedules.ParseRegistry("sonla-demo.yaml", f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportRegistry(ctx, reg, schedules.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	buf := []byte("muong-lan")
	if _, err := db.CommuneHead(ctx, unsafe.String(&buf[0], len(buf))); err != nil {
		t.Fatal(err)
	}
	copy(buf, "xxxxxxxxx") // the buffer is reused for the next request
	h, ok := db.heads.get("muong-lan")
	if !ok || h.Code != "muong-lan" {
		t.Fatalf("after the caller's buffer changed, the cached head of muong-lan is %+v, %v; want it found", h, ok)
	}
	if _, ok := db.heads.get("xxxxxxxxx"); ok {
		t.Fatal("the cache answers for the bytes the caller's buffer now holds")
	}
}
