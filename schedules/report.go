package schedules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// PlayStatus says how a playlist entry went on the loudspeakers.
type PlayStatus string

// Play outcomes.
const (
	Played PlayStatus = "played"
	Failed PlayStatus = "failed"
)

// PlayReport is what a device or an operator reports about one entry:
// played from Started to Finished, or failed with a reason. ID is chosen
// by the reporter (a UUID, say) so that a retried report counts once.
type PlayReport struct {
	ID        string     `json:"id"`
	Entry     string     `json:"item"`
	Cluster   string     `json:"cluster"`
	SegmentID string     `json:"segment_id,omitempty"`
	Status    PlayStatus `json:"status"`
	Started   time.Time  `json:"started"`
	Finished  time.Time  `json:"finished,omitzero"`
	Reason    string     `json:"reason,omitempty"`
}

// Limits on play reports from outside.
const (
	MaxPlayReports      = 500
	MaxPlayReportBytes  = 1 << 20
	maxReportIDLen      = 64
	maxReportReasonLen  = 500
	maxReportFieldBytes = 100
)

// ParsePlayReports reads one report object or an array of them, as devices
// post them, and checks each: id of 1–64 characters from [A-Za-z0-9._:-],
// item and cluster present, status played (with finished not before
// started) or failed (with a reason), times within a day of each other.
// Errors name the report by its position and say what to fix.
func ParsePlayReports(data []byte) ([]PlayReport, error) {
	if len(data) > MaxPlayReportBytes {
		return nil, fmt.Errorf("the body is larger than %d bytes: send at most %d reports at once", MaxPlayReportBytes, MaxPlayReports)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("the body is empty: send a play report object or an array of them")
	}
	var out []PlayReport
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var err error
	if data[0] == '[' {
		err = dec.Decode(&out)
	} else {
		var one PlayReport
		err = dec.Decode(&one)
		out = []PlayReport{one}
	}
	if err != nil {
		return nil, fmt.Errorf("the body is not play report JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("the body has data after the JSON value")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no reports in the array")
	}
	if len(out) > MaxPlayReports {
		return nil, fmt.Errorf("%d reports: send at most %d at once", len(out), MaxPlayReports)
	}
	seen := map[string]bool{}
	for i := range out {
		r := &out[i]
		if err := r.check(); err != nil {
			return nil, fmt.Errorf("report %d (id %q): %v", i+1, r.ID, err)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("report %d: id %q appears twice in this body", i+1, r.ID)
		}
		seen[r.ID] = true
	}
	return out, nil
}

func (r *PlayReport) check() error {
	if r.ID == "" || len(r.ID) > maxReportIDLen || strings.Trim(r.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") != "" {
		return fmt.Errorf("id must be 1 to %d characters of letters, digits, '.', '_', ':' or '-' (a UUID works)", maxReportIDLen)
	}
	for _, f := range []struct{ name, v string }{{"item", r.Entry}, {"cluster", r.Cluster}, {"segment_id", r.SegmentID}} {
		if len(f.v) > maxReportFieldBytes || !utf8.ValidString(f.v) || strings.ContainsAny(f.v, "\x00\r\n") {
			return fmt.Errorf("%s must be one line of at most %d bytes", f.name, maxReportFieldBytes)
		}
	}
	if r.Entry == "" {
		return fmt.Errorf("item is missing: give the playlist entry's id")
	}
	if r.Cluster == "" {
		return fmt.Errorf("cluster is missing")
	}
	if r.Started.IsZero() {
		return fmt.Errorf("started is missing: give the time playing began (RFC 3339)")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if !utf8.ValidString(r.Reason) || utf8.RuneCountInString(r.Reason) > maxReportReasonLen {
		return fmt.Errorf("reason must be UTF-8 text of at most %d characters", maxReportReasonLen)
	}
	switch r.Status {
	case Played:
		if r.Finished.IsZero() {
			return fmt.Errorf("finished is missing for a played item")
		}
		if r.Finished.Before(r.Started) {
			return fmt.Errorf("finished (%s) is before started (%s)", r.Finished.Format(time.RFC3339), r.Started.Format(time.RFC3339))
		}
		if r.Finished.Sub(r.Started) > 24*time.Hour {
			return fmt.Errorf("played for more than a day: check started and finished")
		}
	case Failed:
		if r.Reason == "" {
			return fmt.Errorf("reason is missing: say why the item failed to play")
		}
		if !r.Finished.IsZero() && r.Finished.Before(r.Started) {
			return fmt.Errorf("finished is before started")
		}
	default:
		return fmt.Errorf("status %q: say played or failed", r.Status)
	}
	r.Started, r.Finished = r.Started.UTC(), r.Finished.UTC()
	return nil
}
