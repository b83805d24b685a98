package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// TestUploadRefusals sends the malformed-input corpus and checks each is
// refused with its own reason and leaves no object, segment or upload row.
func TestUploadRefusals(t *testing.T) {
	mediatest.Need(t)
	dir := t.TempDir()
	speech := mediatest.SpeechMP3(t, dir)
	tv := mediatest.TVMP4(t, dir)
	random := make([]byte, 200_000)
	rand.Read(random)
	videoOnly := mediatest.Generate(t, dir, "video-only.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	silence := mediatest.Generate(t, dir, "silence.mp3", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "20", "-b:a", "64k")
	long := mediatest.Generate(t, dir, "long.mp3", "-f", "lavfi", "-i", "anoisesrc=d=660:c=pink:r=8000:a=0.3", "-ac", "1", "-b:a", "8k")
	huge := mediatest.Generate(t, dir, "huge.mp4", "-f", "lavfi", "-i", "color=c=blue:s=7800x16:d=1", "-f", "lavfi", "-i", "anoisesrc=d=1:a=0.3",
		"-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")
	cutTV := mediatest.Truncated(t, tv, 0.5)
	// Right channel = left inverted: loud in stereo, silent in the mono mix.
	inverted := mediatest.Generate(t, dir, "inverted.mp3", "-i", speech, "-af", "pan=stereo|c0=c0|c1=-1*c0", "-c:a", "libmp3lame", "-b:a", "128k")
	cutMP3 := mediatest.Truncated(t, speech, 0.4)
	const clip10s = "../worker/testdata/R-tv-clip-640x360-10s.mp4" // 10.0 s, from the shared cases

	tvFields := [][2]string{{"title", "Truyền hình"}, {"kind", "tv"}, {"topic", "digital"}}
	cases := []struct {
		name      string
		fields    [][2]string
		subtitles []byte
		fileName  string
		data      []byte
		status    int
		field     string
		reason    string // a piece of the message the producer reads
	}{
		{"random bytes", radioFields("Rác"), nil, "x.mp3", random, 422, "file", "not_media"},
		{"zero length", radioFields("Rỗng"), nil, "x.mp3", nil, 422, "file", "empty"},
		{"truncated mp4", tvFields, nil, "cut.mp4", readFile(t, cutTV), 422, "file", "Refused"},
		{"truncated mp3", radioFields("Cắt"), nil, "cut.mp3", readFile(t, cutMP3), 422, "file", "Refused"},
		{"no audio stream", tvFields, nil, "v.mp4", readFile(t, videoOnly), 422, "file", "no_audio"},
		{"tv without video", tvFields, nil, "a.mp3", readFile(t, speech), 422, "file", "no_video"},
		{"hours of silence", radioFields("Im lặng"), nil, "s.mp3", readFile(t, silence), 422, "file", "silent"},
		{"channels cancel in mono", radioFields("Đảo pha"), nil, "inv.mp3", readFile(t, inverted), 422, "file", "The two channels cancel when mixed to mono"},
		{"over the duration limit", radioFields("Dài"), nil, "l.mp3", readFile(t, long), 422, "file", "too_long"},
		{"absurd dimensions", tvFields, nil, "h.mp4", readFile(t, huge), 422, "file", "bad_dimensions"},
		{"over the size limit", radioFields("Lớn"), nil, "big.mp3", append(readFile(t, speech), make([]byte, 1<<20)...), 413, "file", "larger than"},
		{"broken subtitles", radioFields("Phụ đề"), []byte("1\n00:00:01,000 --> rubbish\nXin chào\n"), "a.mp3", readFile(t, speech), 422, "subtitles", "subtitle"},
		{"legacy encoding subtitles", radioFields("Phụ đề"), []byte("1\n00:00:01,000 --> 00:00:02,000\nC\xe1i c\xe1ch\n"), "a.mp3", readFile(t, speech), 422, "subtitles", "UTF-8"},
		{"source cue ends before it starts", radioFields("Phụ đề"), readFile(t, "../testdata/A-inverted-vi.srt"), "a.mp3", readFile(t, speech), 422, "subtitles", "line 5, cue 2"},
		{"subtitle cues after the media ends", tvFields, readFile(t, "../testdata/H-past-end-vi.srt"), "r.mp4", readFile(t, clip10s), 422, "subtitles",
			"line 13, cue 4: error past-end: cue 4 starts at 00:00:12,500, after the media ends at 00:00:10,000"},
		{"missing title", [][2]string{{"kind", "radio"}, {"topic", "budget"}}, nil, "a.mp3", readFile(t, speech), 422, "title", "title"},
		{"unknown topic", [][2]string{{"title", "x"}, {"kind", "radio"}, {"topic", "football"}}, nil, "a.mp3", readFile(t, speech), 422, "topic", "football"},
		{"bad priority", append(radioFields("x"), [2]string{"priority", "urgent"}), nil, "a.mp3", readFile(t, speech), 422, "priority", "urgent"},
		{"bad air window", append(radioFields("x"), [2]string{"air_from", "2025-03-10"}, [2]string{"air_until", "2025-03-01"}), nil, "a.mp3", readFile(t, speech), 422, "air_until", "ends before"},
		{"air window over", append(radioFields("x"), [2]string{"air_from", "2001-03-01"}, [2]string{"air_until", "2001-03-31"}), nil, "a.mp3", readFile(t, speech), 422, "air_until", "is in the past"},
		{"unknown language", append(radioFields("x"), [2]string{"languages", "vi,fr"}), nil, "a.mp3", readFile(t, speech), 422, "languages", "fr"},
	}
	b := setup(t, func(in *pipeline.Ingester) { in.MaxBytes = 1 << 20 })
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, bad := b.upload(t, pipeline.RoleProducer, c.fields, c.subtitles, c.fileName, c.data)
			if status != c.status {
				t.Fatalf("status %d, want %d (%+v)", status, c.status, bad)
			}
			if bad.Error.Field != c.field {
				t.Errorf("field %q, want %q (%s)", bad.Error.Field, c.field, bad.Error.Message)
			}
			if !strings.Contains(bad.Error.Message, c.reason) {
				t.Errorf("message %q does not mention %q", bad.Error.Message, c.reason)
			}
			b.noLeftovers(t)
		})
	}
}

// TestUploadAcceptDuplicateAndVisibility covers the good path: a radio and
// a TV segment with subtitles are stored and described, the same bytes
// again return the first segment, and producers see only their own.
func TestUploadAcceptDuplicateAndVisibility(t *testing.T) {
	mediatest.Need(t)
	dir := t.TempDir()
	// The air windows below are in March 2025: the clocks stand there.
	store, _ := objectstest.New(t)
	b := setupAt(t, store, nil, broadcasttest.Clock(broadcasttest.Monday))
	srt := []byte("1\n00:00:00,000 --> 00:00:03,000\nCải cách hành chính\n\n2\n00:00:03,200 --> 00:00:06,000\nlà nhiệm vụ trọng tâm\n")
	tvFields := [][2]string{{"title", "Sơn La: một cửa"}, {"kind", "tv"}, {"topic", "procedures"}, {"priority", "priority"},
		{"languages", "blt,hnj"}, {"air_from", "2025-03-01"}, {"air_until", "2025-03-31"}}
	status, res, bad := b.upload(t, pipeline.RoleProducer, tvFields, srt, "../../etc/tv clip's \"best\".mp4", readFile(t, mediatest.TVMP4(t, dir)))
	if status != http.StatusCreated {
		t.Fatalf("tv upload: %d %+v", status, bad)
	}
	seg := res.Segment
	if seg.Kind != pipeline.KindTV || seg.Probe.VideoCodec != "h264" || seg.Probe.Width != 320 || seg.Probe.DurationMS < 5000 {
		t.Fatalf("tv probe facts: %+v", seg.Probe)
	}
	if seg.State != pipeline.StateProbed || seg.Priority != pipeline.PriorityPriority || len(seg.Languages) != 2 {
		t.Fatalf("tv metadata: %+v", seg)
	}
	if !strings.HasPrefix(seg.OriginalKey, "segments/"+seg.ID+"/") || strings.Contains(seg.OriginalKey, "etc") {
		t.Fatalf("object key %q is not generated by Loa", seg.OriginalKey)
	}
	if seg.OriginalName != `tv clip's "best".mp4` {
		t.Fatalf("display name %q", seg.OriginalName)
	}
	if res.Links["original"] == "" || res.Links["subtitles_vi"] == "" {
		t.Fatalf("links missing: %v", res.Links)
	}
	obj, err := b.store.Stat(t.Context(), seg.OriginalKey)
	if err != nil || obj.Size != seg.Size || obj.ContentType != "video/mp4" {
		t.Fatalf("stored original: %+v %v", obj, err)
	}
	// The presigned link really serves the bytes.
	resp, err := http.Get(res.Links["original"])
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != seg.Size {
		t.Fatalf("presigned link: %v %v", resp, err)
	}
	resp.Body.Close()

	speech := readFile(t, mediatest.SpeechMP3(t, dir))
	status, first, _ := b.upload(t, pipeline.RoleProducer, radioFields("Nộp hồ sơ trực tuyến"), nil, "a.mp3", speech)
	if status != http.StatusCreated || first.Duplicate {
		t.Fatalf("radio upload: %d dup=%v", status, first.Duplicate)
	}
	status, again, _ := b.upload(t, pipeline.RoleAdmin, radioFields("Lần hai"), nil, "b.mp3", speech)
	if status != http.StatusOK || !again.Duplicate || again.ID != first.ID {
		t.Fatalf("duplicate: %d dup=%v id=%s want %s", status, again.Duplicate, again.ID, first.ID)
	}
	if objs, segs, ups := b.leftovers(t); objs != 3 || segs != 2 || ups != 0 {
		t.Fatalf("after two segments (one with subtitles) and a duplicate: %d objects, %d segments, %d upload rows", objs, segs, ups)
	}

	// Another producer sees neither segment.
	ctx := t.Context()
	other, err := b.db.CreateUser(ctx, pipeline.NewUser{Name: "bao-son-la", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, _ := b.db.CreateToken(ctx, other.ID, "")
	if r, _ := b.do(t, "GET", "/api/segments/"+first.ID, otherTok, nil, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("other producer reads a segment: %d", r.StatusCode)
	}
	if r, _ := b.do(t, "DELETE", "/api/segments/"+first.ID, otherTok, nil, ""); r.StatusCode != http.StatusNotFound {
		t.Fatalf("other producer withdraws a segment: %d", r.StatusCode)
	}
	if r, body := b.do(t, "GET", "/api/segments", otherTok, nil, ""); r.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("other producer's list: %d %s", r.StatusCode, body)
	}
	// Priority: the owner raises it; emergency is refused here; others
	// cannot see the segment.
	prio := func(token, p string) (int, string) {
		r, body := b.do(t, "PUT", "/api/segments/"+first.ID+"/priority", token, strings.NewReader(`{"priority":"`+p+`"}`), "application/json")
		return r.StatusCode, string(body)
	}
	if code, body := prio(b.tokens[pipeline.RoleProducer], "priority"); code != 200 || !strings.Contains(body, `"priority": "priority"`) {
		t.Fatalf("raise priority: %d %s", code, body)
	}
	if code, body := prio(b.tokens[pipeline.RoleProducer], "emergency"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "target communes") {
		t.Fatalf("emergency through the priority route: %d %s", code, body)
	}
	if code, _ := prio(otherTok, "normal"); code != http.StatusNotFound {
		t.Fatalf("another producer changes the priority: %d", code)
	}
	if r, _ := b.do(t, "DELETE", "/api/segments/"+first.ID+"?confirm="+first.ID+"&reason=sai", b.tokens[pipeline.RoleProducer], nil, ""); r.StatusCode != 200 {
		t.Fatalf("owner withdraws: %d", r.StatusCode)
	}
	if r, _ := b.do(t, "DELETE", "/api/segments/"+first.ID, b.tokens[pipeline.RoleAdmin], nil, ""); r.StatusCode != http.StatusConflict {
		t.Fatalf("withdraw twice: %d", r.StatusCode)
	}
}

// TestUploadPartOrder sends the same upload with its parts in different
// orders: each is taken whole (title, kind, topic and subtitles included,
// none dropped), and refusals in any order leave nothing behind.
func TestUploadPartOrder(t *testing.T) {
	mediatest.Need(t)
	dir := t.TempDir()
	srt := []byte("1\n00:00:00,000 --> 00:00:03,000\nCải cách hành chính\n")
	badSRT := []byte("1\n00:00:01,000 --> rubbish\nXin chào\n")
	tvData := readFile(t, mediatest.TVMP4(t, dir))
	speech := readFile(t, mediatest.SpeechMP3(t, dir))
	type part struct{ name, value string }
	title, kind, topic := part{"title", "Thứ tự"}, part{"kind", ""}, part{"topic", "digital"}
	subs, file := part{"subtitles", ""}, part{"file", ""}
	cases := []struct {
		name   string
		order  []part
		srt    []byte
		data   []byte
		status int
		field  string // of the refusal
	}{
		{"file first", []part{file, title, kind, topic, subs}, srt, tvData, 201, ""},
		{"subtitles after the file", []part{title, kind, topic, file, subs}, srt, tvData, 201, ""},
		{"kind after the file", []part{title, topic, subs, file, kind}, srt, tvData, 201, ""},
		{"broken subtitles after the file", []part{title, kind, topic, file, subs}, badSRT, speech, 422, "subtitles"},
		{"no title anywhere", []part{file, kind, topic}, nil, speech, 422, "title"},
		{"two files", []part{title, kind, topic, file, file}, nil, speech, 422, "file"},
		{"misspelt subtitles part after the file", []part{title, kind, topic, file, {"subtitle", ""}}, srt, speech, 422, "subtitle"},
		{"unknown field before the file", []part{{"titel", "x"}, title, kind, topic, file}, nil, speech, 422, "titel"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, nil)
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, p := range c.order {
				switch p.name {
				case "subtitles", "subtitle":
					w, _ := mw.CreateFormFile(p.name, "vi.srt")
					w.Write(c.srt)
				case "file":
					w, _ := mw.CreateFormFile("file", "clip.mp4")
					w.Write(c.data)
				default:
					if p.name == "kind" {
						p.value = "radio"
						if bytes.Equal(c.data, tvData) {
							p.value = "tv"
						}
					}
					mw.WriteField(p.name, p.value)
				}
			}
			mw.Close()
			resp, raw := b.do(t, "POST", "/api/segments", b.tokens[pipeline.RoleProducer], &buf, mw.FormDataContentType())
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			if c.status >= 300 {
				b.refusedOn(t, raw, c.field)
				return
			}
			var res api.UploadResponse
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			if res.Title != title.value || res.Kind != pipeline.KindTV || res.Topic != topic.value {
				t.Fatalf("metadata lost: %+v", res.Segment)
			}
			if res.SubtitleKey == "" || res.Links["subtitles_vi"] == "" {
				t.Fatalf("subtitles dropped: key %q links %v", res.SubtitleKey, res.Links)
			}
			// The part says application/octet-stream; the original is
			// stored and described as what it is, whatever the order.
			if obj, err := b.store.Stat(t.Context(), res.OriginalKey); err != nil || obj.ContentType != "video/mp4" || res.ContentType != "video/mp4" {
				t.Fatalf("stored as %+v (%v), described as %q; want video/mp4", obj, err, res.ContentType)
			}
		})
	}
}

// TestUploadSubtitlesPastMediaEnd checks the subtitles against the
// media's length once it is known, whether the subtitles come before the
// media or after it: cues after the end are refused (nothing kept), a cue
// ending past the end within the tolerance is accepted with a warning in
// the answer.
func TestUploadSubtitlesPastMediaEnd(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	clip := readFile(t, "../worker/testdata/R-tv-clip-640x360-10s.mp4")
	late := readFile(t, "../testdata/H-past-end-vi.srt")
	tvFields := [][2]string{{"title", "Truyền hình"}, {"kind", "tv"}, {"topic", "digital"}}
	for _, after := range []bool{false, true} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		add := func() {
			w, _ := mw.CreateFormFile("subtitles", "vi.srt")
			w.Write(late)
		}
		if !after {
			add()
		}
		w, _ := mw.CreateFormFile("file", "r.mp4")
		w.Write(clip)
		for _, kv := range tvFields {
			mw.WriteField(kv[0], kv[1])
		}
		if after {
			add()
		}
		mw.Close()
		resp, raw := b.do(t, "POST", "/api/segments", b.tokens[pipeline.RoleProducer], &buf, mw.FormDataContentType())
		var bad wire.ErrorBody
		json.Unmarshal(raw, &bad)
		if resp.StatusCode != http.StatusUnprocessableEntity || bad.Error.Field != "subtitles" || len(bad.Error.Findings) != 2 {
			t.Fatalf("subtitles after the media (sent after it: %v): status %d, %s", after, resp.StatusCode, raw)
		}
		b.noLeftovers(t)
	}

	status, res, bad := b.upload(t, pipeline.RoleProducer, tvFields, readFile(t, "../testdata/H-near-end-vi.srt"), "r.mp4", clip)
	if status != http.StatusCreated {
		t.Fatalf("a cue 300 ms past the end: status %d, %+v", status, bad)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Line != 5 || res.Warnings[0].Code != "past-end" ||
		!strings.Contains(res.Warnings[0].Message, "300 ms after the media ends at 00:00:10,000") {
		t.Errorf("warnings %+v, want one past-end warning on line 5", res.Warnings)
	}
	if res.SubtitleKey == "" {
		t.Error("the accepted subtitles were not kept")
	}
}

// TestUploadDeclaredSize sends the media's length as the "size" part, as
// `loa upload` and the upload page do: the exact length is stored in one
// request; a wrong, malformed, repeated or late size, or one over the
// limit, is refused on field "size" (or "file" for the limit) and leaves
// no object, segment or upload row.
func TestUploadDeclaredSize(t *testing.T) {
	mediatest.Need(t)
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	n := len(speech)
	fields := [][2]string{{"title", "Cỡ tệp"}, {"kind", "radio"}, {"topic", "digital"}}
	cases := []struct {
		name   string
		before []string // values of "size" parts before the file
		after  string   // a "size" part after the file, when not empty
		status int
		field  string
	}{
		{"exact", []string{fmt.Sprint(n)}, "", 201, ""},
		{"empty counts as not sent", []string{""}, "", 201, ""},
		{"one byte short", []string{fmt.Sprint(n + 1)}, "", 422, "size"},
		{"one byte long", []string{fmt.Sprint(n - 1)}, "", 422, "size"},
		{"not a number", []string{"2 MB"}, "", 422, "size"},
		{"zero", []string{"0"}, "", 422, "size"},
		{"negative", []string{"-5"}, "", 422, "size"},
		{"sent twice", []string{fmt.Sprint(n), fmt.Sprint(n)}, "", 422, "size"},
		{"after the file", nil, fmt.Sprint(n), 422, "size"},
		{"over the limit", []string{fmt.Sprint(int64(64 << 20))}, "", 413, "file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, func(in *pipeline.Ingester) { in.MaxBytes = 32 << 20 })
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			for _, kv := range fields {
				mw.WriteField(kv[0], kv[1])
			}
			for _, v := range c.before {
				mw.WriteField("size", v)
			}
			w, _ := mw.CreateFormFile("file", "speech.mp3")
			w.Write(speech)
			if c.after != "" {
				mw.WriteField("size", c.after)
			}
			mw.Close()
			resp, raw := b.do(t, "POST", "/api/segments", b.tokens[pipeline.RoleProducer], &buf, mw.FormDataContentType())
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			if c.status >= 300 {
				b.refusedOn(t, raw, c.field)
				return
			}
			var res api.UploadResponse
			if err := json.Unmarshal(raw, &res); err != nil {
				t.Fatal(err)
			}
			obj, err := b.store.Stat(t.Context(), res.OriginalKey)
			if err != nil || obj.Size != int64(n) || res.Size != int64(n) {
				t.Fatalf("stored %+v (%v), answered %d bytes; want %d", obj, err, res.Size, n)
			}
		})
	}
}
