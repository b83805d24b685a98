package player

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestartAfterKill: a play the journal has open (the player was
// killed mid-item, or the power cut) is closed as interrupted when the
// player starts again, and its item plays again: a scheduled item from
// the offset the schedule's clock says, an emergency interrupt from its
// start (a warning is heard whole). The closing record's reason, which
// the play report carries to the server, says which.
func TestRestartAfterKill(t *testing.T) {
	b := newTestBundle()
	a, e := b.media("a"), b.media("e")
	b.playlist(t, "trung-tam",
		seg(1, 10*time.Minute, 2*time.Minute, a),
		interrupt(t0.Add(20*time.Minute), 40*time.Second, e),
	)
	p := mustPlan(t, b)
	item, em := &p.Programme["trung-tam"][0], &p.Interrupts["trung-tam"][0]
	tests := []struct {
		name      string
		it        *Item
		began     time.Duration // when the killed play began, from t0
		restart   time.Duration // when the player starts again, from t0
		reason    string
		emergency bool
		offset    time.Duration // where the item plays again
	}{
		{"scheduled item resumes at the schedule's offset", item, 10 * time.Minute, 10*time.Minute + 15*time.Second,
			"it resumes where the schedule is", false, 15 * time.Second},
		{"emergency interrupt plays again from its start", em, 20 * time.Minute, 20*time.Minute + 15*time.Second,
			"the emergency plays again from its start", true, 0},
		{"emergency interrupt nearly over plays again from its start", em, 20 * time.Minute, 20*time.Minute + 39*time.Second,
			"the emergency plays again from its start", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), JournalLog)
			j := openJournal(t, path)
			began := t0.Add(tt.began)
			// The runner's own record of the play, left open.
			if _, err := j.Append(recordOf(Started, "play-1", tt.it, Step{Item: tt.it, At: began}, began)); err != nil {
				t.Fatal(err)
			}
			j.Close()

			j = openJournal(t, path)
			restart := t0.Add(tt.restart)
			if err := CloseOpenPlays(j, restart, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			if open := j.Open(); len(open) != 0 {
				t.Fatalf("%d plays still open after the restart", len(open))
			}
			recs := j.Records(0)
			last := recs[len(recs)-1]
			if last.Kind != Interrupted || last.Play != "play-1" || last.Emergency != tt.emergency ||
				!last.Started.Equal(began) || !last.At.Equal(restart) || !strings.HasSuffix(last.Reason, tt.reason) {
				t.Fatalf("closing record %+v; want interrupted, emergency %v, reason ending %q", last, tt.emergency, tt.reason)
			}
			if rep := last.Report(); rep.Status != "failed" || rep.Reason != last.Reason {
				t.Errorf("play report %+v", rep)
			}
			done := j.Done()
			st, ok := p.Next("trung-tam", restart, func(it *Item) bool { return done[it.Key()] })
			if !ok || st.Item.Key() != tt.it.Key() || st.Offset != tt.offset || !st.At.Equal(restart) {
				t.Fatalf("after the restart: %+v ok=%v; want %s from %s at once", st, ok, tt.it.ID, tt.offset)
			}
		})
	}
}
