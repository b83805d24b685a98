package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sonla-cchc/loa/pipeline"
)

// addProcessing adds a radio segment of f's producer that is stored but
// not processed yet (no language ready to air), as an upload is just
// after it was accepted, and returns its ID.
func addProcessing(t *testing.T, f *cliFixture) string {
	t.Helper()
	now := f.clock()
	id := uuid.NewString()
	sum := sha256.Sum256([]byte(id))
	seg := pipeline.Segment{
		ID: id, SHA256: hex.EncodeToString(sum[:]), Title: "Cảnh báo lũ", Kind: pipeline.KindRadio, Topic: "procedures",
		Priority: pipeline.PriorityPriority, AirFrom: now.Add(-time.Hour), AirUntil: now.Add(30 * 24 * time.Hour),
		Languages: []string{pipeline.LangVietnamese}, State: pipeline.StateProbed, ProducerID: f.producer.ID,
		OriginalKey: "segments/" + id + "/original", OriginalName: "flood.wav", ContentType: "audio/wav", Size: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	if _, _, err := f.db.InsertSegment(context.Background(), seg, nil); err != nil {
		t.Fatal(err)
	}
	return id
}

// signalWriter collects what the CLI writes (safe while the CLI runs in
// another goroutine) and closes seen the first time the text holds want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestEmergencyWaitCLI: 'loa segments emergency ID --yes --wait' on a
// segment still being processed waits (saying so on stderr) until it is
// ready, then raises the emergency; processing that fails while it waits
// ends the wait with the failure's reason (exit 3) and raises nothing;
// Ctrl-C (the context's end) or the --wait limit stops the wait and
// raises nothing; without
// --wait the refusal names --wait; the dry run with --wait says
// it would wait.
func TestEmergencyWaitCLI(t *testing.T) {
	const reason = "the recording has no audio stream"
	for _, tc := range []struct {
		name     string
		args     []string
		finish   func(t *testing.T, f *cliFixture, id string, interrupt func()) // done once the CLI says it is waiting; nil: the CLI does not wait
		wantCode int
		wantOut  []string // in stdout+stderr
		raised   bool
	}{
		{name: "processed while waiting", args: []string{"--yes", "--wait"}, wantCode: 0, raised: true,
			finish: func(t *testing.T, f *cliFixture, id string, _ func()) {
				v := pipeline.Variant{SegmentID: id, Language: pipeline.LangVietnamese, AudioKey: "segments/" + id + "/vi/loudspeaker.mp3",
					DurationMS: 4000, SHA256: strings.Repeat("a", 64), Size: 1000}
				if err := f.db.SaveProcessed(context.Background(), id, nil, &v, nil); err != nil {
					t.Error(err)
				}
			},
			wantOut: []string{"still processing", "ready to air after", "emergency "}},
		{name: "processing fails while waiting", args: []string{"--yes", "--wait=10m"}, wantCode: 3,
			finish: func(t *testing.T, f *cliFixture, id string, _ func()) {
				if err := f.db.MarkProcessFailed(context.Background(), id, reason); err != nil {
					t.Error(err)
				}
			},
			wantOut: []string{"still processing", "failed processing", reason, "Nothing was raised"}},
		{name: "Ctrl-C ends the wait", args: []string{"--yes", "--wait"}, wantCode: 5,
			finish:  func(_ *testing.T, _ *cliFixture, _ string, interrupt func()) { interrupt() },
			wantOut: []string{"still processing", "Stopped waiting", "nothing was raised"}},
		{name: "the limit ends the wait", args: []string{"--yes", "--wait=1s"}, wantCode: 5,
			wantOut: []string{"still not ready to air after 1s", "--wait=DURATION"}},
		{name: "without --wait the refusal names it", args: []string{"--yes"}, wantCode: 3,
			wantOut: []string{"not ready to air", "--wait"}},
		{name: "dry run says it would wait", args: []string{"--wait"}, wantCode: 3,
			wantOut: []string{"Nothing was raised", "--yes", "With --wait it first waits (up to 15m0s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := producerCLI(t, "Tin thường")
			id := addProcessing(t, f)
			var stdout bytes.Buffer
			stderr := &signalWriter{want: "still processing", seen: make(chan struct{})}
			env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: stderr, getenv: os.Getenv}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			done := make(chan int, 1)
			go func() {
				args := append([]string{"segments", "emergency", id, "--communes", "suoi-to", "--reason", "Lũ quét"}, tc.args...)
				done <- run(ctx, env, append(args, "--server", f.url, "--token", f.tok))
			}()
			var code int
			if tc.finish != nil {
				select {
				case <-stderr.seen:
				case code = <-done:
					t.Fatalf("the CLI ended (exit %d) without waiting for processing\n%s%s", code, stdout.String(), stderr.String())
				}
				tc.finish(t, f, id, cancel)
			}
			code = <-done
			all := stdout.String() + stderr.String()
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tc.wantCode, all)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			_, err := f.db.EmergencyInForce(context.Background(), id, f.clock())
			if err != nil && pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Fatal(err)
			}
			raised := err == nil
			if raised != tc.raised {
				t.Errorf("emergency in force on the segment: %v, want %v\n%s", raised, tc.raised, all)
			}
		})
	}
}
