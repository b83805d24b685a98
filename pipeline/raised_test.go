package pipeline

import (
	"maps"
	"testing"
	"time"
)

// TestRaisedTimes: a raise on top of an emergency in force leaves each
// commune it already covered the time it got the alert; only communes
// new to it get the raise's time.
func TestRaisedTimes(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 30, 18, 49, 51, 0, time.UTC)
	t1, t2 := t0.Add(8*time.Second), t0.Add(time.Hour)
	tests := []struct {
		name string
		old  *Emergency
		next Emergency
		want map[string]time.Time
	}{
		{"first raise", nil, Emergency{Targets: []string{"a", "b"}, MarkedAt: t0}, map[string]time.Time{"a": t0, "b": t0}},
		{"first raise, province", nil, Emergency{MarkedAt: t0}, map[string]time.Time{"": t0}},
		{"adding keeps the communes in force",
			&Emergency{Targets: []string{"a", "b"}, MarkedAt: t1, Raised: map[string]time.Time{"a": t0, "b": t1}},
			Emergency{Targets: []string{"a", "b", "c"}, MarkedAt: t2},
			map[string]time.Time{"a": t0, "b": t1, "c": t2}},
		{"narrowing keeps the communes left",
			&Emergency{Targets: []string{"a", "b"}, MarkedAt: t0, Raised: map[string]time.Time{"a": t0, "b": t0}},
			Emergency{Targets: []string{"b"}, MarkedAt: t2},
			map[string]time.Time{"b": t0}},
		{"stored before communes had times: its raise stands for them",
			&Emergency{Targets: []string{"a"}, MarkedAt: t0},
			Emergency{Targets: []string{"a", "c"}, MarkedAt: t2},
			map[string]time.Time{"a": t0, "c": t2}},
		{"widening to the province keeps the communes in force",
			&Emergency{Targets: []string{"a"}, MarkedAt: t0, Raised: map[string]time.Time{"a": t0}},
			Emergency{MarkedAt: t2},
			map[string]time.Time{"": t2, "a": t0}},
		{"province raised again stays as it was",
			&Emergency{MarkedAt: t1, Raised: map[string]time.Time{"": t1, "a": t0}},
			Emergency{MarkedAt: t2},
			map[string]time.Time{"": t1, "a": t0}},
		{"province narrowed to communes keeps their times",
			&Emergency{MarkedAt: t1, Raised: map[string]time.Time{"": t1, "a": t0}},
			Emergency{Targets: []string{"a", "b"}, MarkedAt: t2},
			map[string]time.Time{"a": t0, "b": t1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := RaisedTimes(tt.old, tt.next); !maps.EqualFunc(got, tt.want, time.Time.Equal) {
				t.Errorf("RaisedTimes = %v, want %v", got, tt.want)
			}
		})
	}
}
