package translation

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/pipeline"
)

// OpenOptions says which jobs a processed segment gets and by when they
// are due.
type OpenOptions struct {
	// Languages are the target languages jobs are opened for, among the
	// segment's own; default Thái and Mông.
	Languages []string
	// Deadline is the time allowed for a normal segment; Priority and
	// Emergency are tighter, for those priorities (Thông tư 39/2020).
	Deadline, PriorityDeadline, EmergencyDeadline time.Duration
}

// DefaultOpenOptions: Thái and Mông; 72 h for normal segments, 24 h for
// priority, 4 h for emergency.
func DefaultOpenOptions() OpenOptions {
	return OpenOptions{
		Languages:         []string{pipeline.LangThai, pipeline.LangHmong},
		Deadline:          72 * time.Hour,
		PriorityDeadline:  24 * time.Hour,
		EmergencyDeadline: 4 * time.Hour,
	}
}

// withDefaults fills zero fields from DefaultOpenOptions.
func (o OpenOptions) withDefaults() OpenOptions {
	d := DefaultOpenOptions()
	if o.Languages == nil {
		o.Languages = d.Languages
	}
	if o.Deadline <= 0 {
		o.Deadline = d.Deadline
	}
	if o.PriorityDeadline <= 0 {
		o.PriorityDeadline = min(d.PriorityDeadline, o.Deadline)
	}
	if o.EmergencyDeadline <= 0 {
		o.EmergencyDeadline = min(d.EmergencyDeadline, o.PriorityDeadline)
	}
	return o
}

// DeadlineFor is how long a segment of priority p gives its translators.
func (o OpenOptions) DeadlineFor(p pipeline.Priority) time.Duration {
	o = o.withDefaults()
	switch p {
	case pipeline.PriorityEmergency:
		return o.EmergencyDeadline
	case pipeline.PriorityPriority:
		return o.PriorityDeadline
	}
	return o.Deadline
}

// Plan returns the jobs a processed segment needs at now: for each target
// language among the segment's, a voice-over (radio and TV alike, since
// loudspeakers play audio) and, for TV with a Vietnamese subtitle file, a
// subtitle job. Jobs are open and due by the priority's deadline.
func Plan(seg pipeline.Segment, o OpenOptions, now time.Time) []Job {
	o = o.withDefaults()
	deadline := now.Add(o.DeadlineFor(seg.Priority))
	var out []Job
	for _, lang := range o.Languages {
		if lang == pipeline.LangVietnamese || !slices.Contains(seg.Languages, lang) {
			continue
		}
		kinds := []Kind{KindVoiceover}
		if seg.Kind == pipeline.KindTV && seg.SubtitleKey != "" {
			kinds = []Kind{KindSubtitle, KindVoiceover}
		}
		for _, k := range kinds {
			out = append(out, Job{
				ID: uuid.Must(uuid.NewV7()).String(), SegmentID: seg.ID, Language: lang, Kind: k, State: StateOpen,
				Deadline: deadline, Priority: string(seg.Priority), Title: seg.Title, CreatedAt: now, UpdatedAt: now,
			})
		}
	}
	return out
}
