package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// TestUploadDateOnlyWindow: an upload whose air_until is a date airs
// through that day (its window ends at 00:00 of the next day, province
// time) and its answer names that date as the last day on air; a window
// of one date is that whole day.
func TestUploadDateOnlyWindow(t *testing.T) {
	mediatest.Need(t)
	b := setupAt(t, objectstest.NewMemory(t), nil, broadcasttest.Clock(broadcasttest.Monday)) // 2025-03-03
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	vn := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, localtime.Location()) }
	status, res, bad := b.upload(t, pipeline.RoleProducer,
		append(radioFields("Một ngày"), [2]string{"air_from", "2025-03-05"}, [2]string{"air_until", "2025-03-05"}), nil, "a.mp3", speech)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %+v", status, bad)
	}
	if !res.AirFrom.Equal(vn(5)) || !res.AirUntil.Equal(vn(6)) || res.AirLastDay != "2025-03-05" {
		t.Fatalf("window %v – %v, last day %q; want 2025-03-05 00:00 – 2025-03-06 00:00 +07:00, last day 2025-03-05", res.AirFrom, res.AirUntil, res.AirLastDay)
	}
	stored, err := b.db.Segment(t.Context(), res.ID)
	if err != nil || !stored.AirUntil.Equal(vn(6)) {
		t.Fatalf("stored air_until %v (%v), want %v", stored.AirUntil, err, vn(6))
	}
}
