package player

import (
	"errors"
	"strings"
	"testing"
)

func TestReadEvents(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []Event
		err    string
	}{
		{"loa's version events", "id: e1\nevent: version\ndata: {\"etag\":\"a\"}\n\n: keep-alive\n\nid: e2\nevent: version\ndata: {\"etag\":\"b\"}\n\n",
			[]Event{{ID: "e1", Type: "version", Data: `{"etag":"a"}`}, {ID: "e2", Type: "version", Data: `{"etag":"b"}`}}, ""},
		{"CRLF and multi-line data", "event: x\r\ndata: one\r\ndata:two\r\n\r\n", []Event{{Type: "x", Data: "one\ntwo"}}, ""},
		{"no data: no event", "event: version\n\n", nil, ""},
		{"cut mid-event: not dispatched", "event: version\ndata: {\"etag\":", nil, ""},
		{"unknown fields ignored", "retry: 5\nfoo\ndata: d\n\n", []Event{{Data: "d"}}, ""},
		{"line too long", "data: " + strings.Repeat("x", maxEventLine+1) + "\n\n", nil, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Event
			err := ReadEvents(strings.NewReader(tt.stream), func(e Event) error { got = append(got, e); return nil })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	stop := errors.New("stop")
	if err := ReadEvents(strings.NewReader("data: a\n\ndata: b\n\n"), func(Event) error { return stop }); err != stop {
		t.Fatalf("fn's error: %v", err)
	}
}

// FuzzReadEvents: any stream is read without a panic, and every event
// handed out has data free of CR (lines are split on it).
func FuzzReadEvents(f *testing.F) {
	f.Add("id: e1\nevent: version\ndata: {\"etag\":\"a\"}\n\n")
	f.Add(": keep-alive\n\n")
	f.Add("data\n\ndata:\r\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		ReadEvents(strings.NewReader(s), func(e Event) error {
			if strings.ContainsRune(e.Data, '\r') && !strings.Contains(s, "\r") {
				t.Fatalf("CR out of nowhere: %q", e.Data)
			}
			return nil
		})
	})
}
