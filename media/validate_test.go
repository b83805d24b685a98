package media

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	audio := &AudioStream{Codec: "mp3", SampleRate: 44100, Channels: 2}
	video := &VideoStream{Codec: "h264", Width: 1280, Height: 720, FrameRate: 25}
	radio := Info{FormatName: "mp3", Duration: 90 * time.Second, Audio: audio}
	tv := Info{FormatName: "mov,mp4,m4a,3gp,3g2,mj2", Duration: 90 * time.Second, Audio: audio, Video: video}
	loud := Scan{MeanVolumeDB: -20, MaxVolumeDB: -1}
	with := func(i Info, f func(*Info)) Info { f(&i); return i }

	for _, c := range []struct {
		name string
		info Info
		scan Scan
		kind string
		lim  Limits
		want RefusalCode // "" means accepted
	}{
		{"radio ok", radio, loud, KindRadio, Limits{}, ""},
		{"tv ok", tv, loud, KindTV, Limits{}, ""},
		{"tv as radio ok", tv, loud, KindRadio, Limits{}, ""},
		{"no audio", with(tv, func(i *Info) { i.Audio = nil }), Scan{}, KindTV, Limits{}, RefuseNoAudio},
		{"radio no audio", Info{FormatName: "png_pipe", Duration: time.Second}, Scan{}, KindRadio, Limits{}, RefuseNoAudio},
		{"tv without video", radio, loud, KindTV, Limits{}, RefuseNoVideo},
		{"zero duration", with(radio, func(i *Info) { i.Duration = 0 }), loud, KindRadio, Limits{}, RefuseNoDuration},
		{"over 2h", with(radio, func(i *Info) { i.Duration = 2*time.Hour + time.Second }), loud, KindRadio, Limits{}, RefuseTooLong},
		{"at 2h", with(radio, func(i *Info) { i.Duration = 2 * time.Hour }), loud, KindRadio, Limits{}, ""},
		{"custom limit", radio, loud, KindRadio, Limits{MaxDuration: time.Minute}, RefuseTooLong},
		{"8k+ video", with(tv, func(i *Info) { i.Video = &VideoStream{Width: 7681, Height: 4320} }), loud, KindTV, Limits{}, RefuseBadDimensions},
		{"tiny video", with(tv, func(i *Info) { i.Video = &VideoStream{Width: 8, Height: 8} }), loud, KindTV, Limits{}, RefuseBadDimensions},
		{"huge picture in radio ignored", with(tv, func(i *Info) { i.Video = &VideoStream{Width: 10000, Height: 10000} }), loud, KindRadio, Limits{}, ""},
		{"4 kHz", with(radio, func(i *Info) { i.Audio = &AudioStream{SampleRate: 4000, Channels: 1} }), loud, KindRadio, Limits{}, RefuseBadSampleRate},
		{"384 kHz", with(radio, func(i *Info) { i.Audio = &AudioStream{SampleRate: 384000, Channels: 1} }), loud, KindRadio, Limits{}, RefuseBadSampleRate},
		{"0 channels", with(radio, func(i *Info) { i.Audio = &AudioStream{SampleRate: 48000} }), loud, KindRadio, Limits{}, RefuseBadChannels},
		{"silence", radio, Scan{MeanVolumeDB: -91, MaxVolumeDB: -91}, KindRadio, Limits{}, RefuseSilent},
		{"nothing decoded", radio, Scan{MeanVolumeDB: NoSamplesDB, MaxVolumeDB: NoSamplesDB}, KindRadio, Limits{}, RefuseSilent},
		{"quiet but not silent", radio, Scan{MeanVolumeDB: -50, MaxVolumeDB: -40}, KindRadio, Limits{}, ""},
		{"corrupt", radio, Scan{MaxVolumeDB: -1, DecodeErrors: []string{"partial file"}}, KindRadio, Limits{}, RefuseCorrupt},
		{"corrupt tolerated", radio, Scan{MaxVolumeDB: -1, DecodeErrors: []string{"partial file"}}, KindRadio, Limits{MaxDecodeErrors: 1}, ""},
	} {
		err := Validate(c.info, c.scan, c.kind, c.lim)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: Validate = %v, want nil", c.name, err)
			}
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || r.Code != c.want {
			t.Errorf("%s: Validate = %v, want refusal %s", c.name, err, c.want)
			continue
		}
		if len(r.Reason) < 40 || !strings.Contains(r.Reason, ";") {
			t.Errorf("%s: reason %q should say what is wrong; and what to do", c.name, r.Reason)
		}
	}
	if err := Validate(radio, loud, "podcast", Limits{}); err == nil || errors.As(err, new(*Refusal)) {
		t.Errorf("unknown kind: Validate = %v, want a plain error", err)
	}
}

// TestInspectCorpus runs the malformed-input corpus through real ffprobe
// and ffmpeg and checks each is refused with the right code.
func TestInspectCorpus(t *testing.T) {
	needFFmpeg(t)
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)
	random := make([]byte, 128<<10)
	rand.Read(random)
	lowRate := dir + "/lowrate.wav"
	ffmpegGen(t, "-i", "file:"+speechWAV(t, dir), "-ar", "4000", "file:"+lowRate)
	tiny := dir + "/tiny.mp4"
	ffmpegGen(t, "-f", "lavfi", "-i", "testsrc=size=8x8:rate=10:duration=1", "-i", "file:"+speechWAV(t, dir),
		"-shortest", "-c:v", "mpeg4", "-c:a", "aac", "file:"+tiny)
	tv := tvMP4(t, dir)

	for _, c := range []struct {
		name, path, kind string
		lim              Limits
		want             RefusalCode
	}{
		{"speech", speechMP3(t, dir), KindRadio, Limits{}, ""},
		{"tv", tv, KindTV, Limits{}, ""},
		{"tv audio as radio", tv, KindRadio, Limits{}, ""},
		{"random bytes", writeFile(t, dir, "random.mp4", random), KindTV, Limits{}, RefuseNotMedia},
		{"zero length", writeFile(t, dir, "zero.mp3", nil), KindRadio, Limits{}, RefuseNotMedia},
		{"silence", silenceWAV(t, dir, "4"), KindRadio, Limits{}, RefuseSilent},
		{"truncated", truncated(t, speechWAV(t, dir), dir, `cut "it's": here.wav`, 0.5), KindRadio, Limits{}, RefuseCorrupt},
		{"truncated tv", truncated(t, tv, dir, "cut tv.mp4", 0.6), KindTV, Limits{}, RefuseCorrupt},
		{"video without audio", videoOnlyMP4(t, dir), KindTV, Limits{}, RefuseNoAudio},
		{"radio as tv", speechWAV(t, dir), KindTV, Limits{}, RefuseNoVideo},
		{"too long", speechWAV(t, dir), KindRadio, Limits{MaxDuration: 2 * time.Second}, RefuseTooLong},
		{"4 kHz", lowRate, KindRadio, Limits{}, RefuseBadSampleRate},
		{"8x8 video", tiny, KindTV, Limits{}, RefuseBadDimensions},
	} {
		_, _, err := Inspect(ctx, c.path, c.kind, c.lim)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: Inspect = %v, want accepted", c.name, err)
			}
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || r.Code != c.want {
			t.Errorf("%s: Inspect = %v, want refusal %s", c.name, err, c.want)
			continue
		}
		t.Logf("%s: %s", c.name, r.Reason)
	}
}
