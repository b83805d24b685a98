package mpv

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/mediatest"
)

// needMPV skips without mpv, unless services are required.
func needMPV(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real mpv: not in -short")
	}
	mediatest.Need(t)
	if _, err := exec.LookPath("mpv"); err != nil {
		if os.Getenv("LOA_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("mpv is missing (make deps installs it)")
		}
		t.Skip("mpv is missing (make deps installs it)")
	}
}

func tone(t *testing.T, seconds string) string {
	t.Helper()
	return mediatest.Generate(t, t.TempDir(), "tone.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration="+seconds, "-ac", "1", "-b:a", "64k")
}

func start(t *testing.T, o Options) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

func TestPlaysToTheEnd(t *testing.T) {
	needMPV(t)
	p := start(t, Options{File: tone(t, "2"), AO: "null", SocketDir: t.TempDir()})
	ctx := context.Background()
	// Paused: the position does not move.
	time.Sleep(300 * time.Millisecond)
	if pos, err := p.Position(ctx); err != nil || pos > 50*time.Millisecond {
		t.Fatalf("paused mpv at %s (%v)", pos, err)
	}
	began := time.Now()
	if err := p.Play(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	pos, err := p.Position(ctx)
	if err != nil || pos < 300*time.Millisecond {
		t.Fatalf("position %s after 700 ms of play (%v)", pos, err)
	}
	select {
	case <-p.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("mpv did not end")
	}
	end, out := p.End()
	if end == nil || end.Reason != "eof" {
		t.Fatalf("end %+v, output %s", end, out)
	}
	// The null output lets its buffer (about 0.4 s) go at the end of the
	// file; a real output drains it.
	if took := time.Since(began); took < 1400*time.Millisecond {
		t.Fatalf("a 2 s file ended after %s: not played in real time", took)
	}
}

func TestStartsAtAnOffset(t *testing.T) {
	needMPV(t)
	p := start(t, Options{File: tone(t, "6"), Start: 4 * time.Second, AO: "null", SocketDir: t.TempDir()})
	pos, err := p.Position(context.Background())
	if err != nil || pos < 3900*time.Millisecond || pos > 4100*time.Millisecond {
		t.Fatalf("position %s, want 4 s (%v)", pos, err)
	}
}

func TestRefusesWhatCannotBeHeard(t *testing.T) {
	needMPV(t)
	dir := t.TempDir()
	notAudio := dir + "/x.mp3"
	os.WriteFile(notAudio, []byte(strings.Repeat("not audio ", 100)), 0o644)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"missing audio device", Options{File: tone(t, "2"), AO: "alsa", Device: "alsa/no-such-device"}, "audio"},
		{"not audio", Options{File: notAudio, AO: "null"}, "mpv"},
		{"missing file", Options{File: dir + "/none.mp3", AO: "null"}, "mpv"},
		{"missing mpv", Options{Binary: dir + "/no-mpv", File: notAudio}, "cannot run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.SocketDir = dir
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, err := Start(ctx, tt.o)
			if err == nil {
				p.Kill()
				t.Fatal("started")
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(strings.ToLower(err.Error()), tt.want) {
				t.Fatalf("error %v, want an *Error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestStopAndKill(t *testing.T) {
	needMPV(t)
	p := start(t, Options{File: tone(t, "30"), AO: "null", SocketDir: t.TempDir()})
	p.Play(context.Background())
	t0 := time.Now()
	p.Stop()
	if took := time.Since(t0); took > 1500*time.Millisecond {
		t.Fatalf("stop took %s", took)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("mpv still running after Stop")
	}
}
