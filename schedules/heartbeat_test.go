package schedules

import (
	"strings"
	"testing"
	"time"
)

func TestParseHeartbeat(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"minimal", `{"sent_at":"2026-03-03T05:30:00+07:00","journal_backlog":0,"clock_offset_ms":0,"free_bytes":1}`, ""},
		{"full", `{"sent_at":"2026-03-03T05:30:00Z","every_s":60,"player_version":"v1","bundle_version":"v9","valid_until":"2026-03-06T00:00:00Z",
			"playing":{"trung-tam":"2026-03-03T05:30#0 Tin"},"journal_backlog":3,"last_error":"dial tcp: refused","clock_offset_ms":-1200,"free_bytes":100}`, ""},
		{"no sent_at", `{"journal_backlog":0}`, "sent_at is missing"},
		{"unknown field", `{"sent_at":"2026-03-03T05:30:00Z","bundle":"x"}`, "unknown field"},
		{"interval too short", `{"sent_at":"2026-03-03T05:30:00Z","every_s":2}`, "every_s 2"},
		{"negative backlog", `{"sent_at":"2026-03-03T05:30:00Z","journal_backlog":-1}`, "journal_backlog"},
		{"two lines", `{"sent_at":"2026-03-03T05:30:00Z","bundle_version":"a\nb"}`, "bundle_version must be one line"},
		{"empty cluster", `{"sent_at":"2026-03-03T05:30:00Z","playing":{"":"x"}}`, "no name"},
		{"trailing", `{"sent_at":"2026-03-03T05:30:00Z"} {}`, "after the JSON"},
		{"not json", `hello`, "not heartbeat JSON"},
		{"huge", `{"sent_at":"2026-03-03T05:30:00Z","last_error":"` + strings.Repeat("x", MaxHeartbeatBytes) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeartbeat([]byte(tt.body))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if h.SentAt.Location() != time.UTC {
					t.Errorf("sent_at kept in %v, want UTC", h.SentAt.Location())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestDeviceStateOf(t *testing.T) {
	now := time.Date(2026, 3, 3, 5, 30, 0, 0, time.UTC)
	tests := []struct {
		name  string
		last  time.Time
		every time.Duration
		want  DeviceState
	}{
		{"never", time.Time{}, 0, DeviceNever},
		{"just now", now, 0, DeviceOnline},
		{"three beats ago", now.Add(-3 * time.Minute), 0, DeviceOnline},
		{"just past three beats", now.Add(-3*time.Minute - time.Second), 0, DeviceLate},
		{"fifteen beats", now.Add(-15 * time.Minute), time.Minute, DeviceLate},
		{"past fifteen beats", now.Add(-16 * time.Minute), time.Minute, DeviceOffline},
		{"slow device still online", now.Add(-20 * time.Minute), 10 * time.Minute, DeviceOnline},
		{"clock ahead", now.Add(time.Minute), 0, DeviceOnline},
	}
	for _, tt := range tests {
		if got := DeviceStateOf(tt.last, tt.every, now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func FuzzParseHeartbeat(f *testing.F) {
	f.Add([]byte(`{"sent_at":"2026-03-03T05:30:00Z","every_s":60,"playing":{"a":"b"},"journal_backlog":1}`))
	f.Add([]byte(`{"sent_at":"2026-03-03T05:30:00Z","last_error":"\u0000"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeartbeat(data)
		if err != nil {
			return
		}
		if h.SentAt.IsZero() || h.Backlog < 0 || h.FreeBytes < 0 || len(h.Playing) > maxHeartbeatPlays {
			t.Fatalf("accepted a heartbeat breaking its rules: %+v", h)
		}
		if e := h.Every(); e < MinHeartbeatEvery || e > MaxHeartbeatEvery {
			t.Fatalf("accepted interval %s", e)
		}
	})
}
