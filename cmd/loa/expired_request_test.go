package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestExpiredEmergencyRequestCLI: a wide emergency request whose end time
// has passed is marked EXPIRED, not PENDING, by 'loa segments list
// --pending-emergency' and 'loa segments show', and confirming it is
// refused saying it expired and what to do; nothing goes on air.
func TestExpiredEmergencyRequestCLI(t *testing.T) {
	f := producerCLI(t, "Cháy rừng")
	ctx := context.Background()
	tok := f.adminToken(t)
	now := f.clock()
	if err := f.db.RequestEmergency(ctx, pipeline.EmergencyRequest{SegmentID: f.seg, Until: now.Add(-time.Hour), Reason: "Cháy rừng toàn tỉnh",
		RequestedBy: f.producer.ID, RequestedAt: now.Add(-3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		says     []string
		saysNot  []string
		toStderr bool
	}{
		{"list", []string{"segments", "list", "--pending-emergency"}, 0,
			[]string{"emergency request EXPIRED", "1 emergency request expired (marked EXPIRED)", "--cancel-request --reason WHY --yes"}, []string{"PENDING"}, false},
		{"show", []string{"segments", "show", f.seg}, 0,
			[]string{"EXPIRED request", "which has passed", "can no longer be confirmed", "loa segments emergency " + f.seg + " --cancel-request --reason WHY --yes"}, []string{"PENDING", "--confirm-request"}, false},
		{"confirm", []string{"segments", "emergency", f.seg, "--confirm-request", "--yes"}, 3,
			[]string{"has expired", "(Asia/Ho_Chi_Minh), which has passed, so it cannot be confirmed", "--cancel-request --reason WHY --yes", "ask for it again"}, nil, true},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		code := run(ctx, env, append(tc.args, "--server", f.url, "--token", tok))
		out := stdout.String()
		if tc.toStderr {
			out = stderr.String()
		}
		if code != tc.code {
			t.Fatalf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.code, stdout.String(), stderr.String())
		}
		for _, w := range tc.says {
			if !strings.Contains(out, w) {
				t.Errorf("%s: %q lacks %q", tc.name, out, w)
			}
		}
		for _, w := range tc.saysNot {
			if strings.Contains(out, w) {
				t.Errorf("%s: %q says %q", tc.name, out, w)
			}
		}
	}
	if s, err := f.db.Segment(ctx, f.seg); err != nil || s.Priority == pipeline.PriorityEmergency || !s.EmergencyRequestExpired {
		t.Errorf("after the refused confirmation: priority %s, expired %v (%v)", s.Priority, s.EmergencyRequestExpired, err)
	}
}
