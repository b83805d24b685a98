package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/schedules"
)

// TestWholeChain follows one radio segment through every hand, with only
// the loa commands people run: a producer uploads it; the worker
// processes it and opens a Thái voice-over job; a Thái translator claims
// it and submits a recording; a reviewer approves; the worker makes the
// Thái variant; a schedule build puts it on the commune's Thái cluster; the
// operator pulls the signed bundle, and mpv plays the playlist through.
func TestWholeChain(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	producer := in.bootstrap()
	admin := in.userToken("so-noi-vu", "admin", "")
	thai := in.translatorToken("lo-van-a", "translator", "blt")
	reviewer := in.translatorToken("duyet", "reviewer", "blt")
	in.start()
	in.must(admin, "communes", "import", "../../schedules/testdata/sonla-demo.yaml")
	op := in.userToken("xa-muong-lan", "operator", "muong-lan") // a commune code, checked at creation

	dir := t.TempDir()
	clip := mediatest.SpeechMP3(t, dir)
	out := in.must(producer, "upload", clip, "--title", "Nộp hồ sơ trực tuyến", "--kind", "radio", "--topic", "procedures",
		"--languages", "vi,blt", "--air-from", time.Now().Add(-48*time.Hour).Format(time.RFC3339), "--quiet", "--json")
	var up api.UploadResponse
	if err := json.Unmarshal([]byte(out), &up); err != nil {
		t.Fatalf("upload answer: %v\n%s", err, out)
	}
	// The same bytes again, with other details: the producer is told they
	// were not used, and how to replace them.
	again := in.must(producer, "upload", clip, "--title", "Tiêu đề khác", "--kind", "radio", "--topic", "procedures", "--quiet")
	if !strings.Contains(again, "already uploaded: this file is segment "+up.ID) || !strings.Contains(again, "not used from this upload: title (") {
		t.Errorf("a second upload of the same file says:\n%s", again)
	}

	var job translation.Job
	eventually(t, "processing opening the Thái voice-over job", func() (bool, string) {
		out, errOut, _ := in.run3(thai, "jobs", "list", "--json")
		var list []translation.Job
		json.Unmarshal([]byte(out), &list)
		for _, j := range list {
			if j.SegmentID == up.ID && j.Kind == translation.KindVoiceover {
				job = j
				return true, ""
			}
		}
		return false, out + errOut
	})
	in.must(thai, "jobs", "claim", job.ID)
	// The "recording": the same speech, so its length matches the source.
	if out := in.must(thai, "jobs", "submit", job.ID, clip); !strings.Contains(strings.ToLower(out), "submitted") {
		t.Fatalf("submit: %s", out)
	}
	in.must(reviewer, "jobs", "review", job.ID, "--approve")

	eventually(t, "the Thái variant ready to air", func() (bool, string) {
		out, _, _ := in.run3(producer, "segments", "show", up.ID, "--json")
		var v api.SegmentView
		json.Unmarshal([]byte(out), &v)
		for _, va := range v.Variants {
			if va.Language == "blt" && va.ApprovedBy != nil {
				return true, ""
			}
		}
		return false, out
	})

	in.must(admin, "schedule", "build", "--commune", "muong-lan")
	loc, _ := time.LoadLocation(schedules.DefaultTimeZone)
	from := schedules.DateOf(time.Now().In(loc))
	bundle := filepath.Join(t.TempDir(), "muong-lan")
	in.must(op, "playlist", "pull", "--commune", "muong-lan", "--days", "7", "--from", from.String(), "--dir", bundle)
	// Mường Lạn's central cluster takes Thái first: a day of its week must
	// carry the approved Thái recording (the separation rule spreads a
	// segment's airings over the week), and mpv plays that day through.
	var m3u string
	var date schedules.Date
	for d := 0; d < 7 && m3u == ""; d++ {
		name := from.AddDays(d).String() + "_trung-tam.m3u8"
		body, err := os.ReadFile(filepath.Join(bundle, name))
		if err == nil && strings.Contains(string(body), "Nộp hồ sơ trực tuyến") {
			m3u, date = name, from.AddDays(d)
		}
	}
	if m3u == "" {
		t.Fatalf("no day of the week carries the segment; explain:\n%s",
			in.must(op, "schedule", "explain", "--commune", "muong-lan", "--cluster", "trung-tam"))
	}
	show := in.must(op, "schedule", "show", "--commune", "muong-lan", "--date", date.String())
	if !strings.Contains(show, "blt") {
		t.Errorf("schedule show does not say the item airs in Thái:\n%s", show)
	}
	want := extinf(t, filepath.Join(bundle, m3u))
	if got := mpvPlays(t, bundle, m3u); len(got) != want || want == 0 {
		t.Fatalf("mpv played %d of %d items: %v", len(got), want, got)
	}
}
