package worker

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// ProcessSegmentArgs asks the worker to make a newly ingested segment
// ready to air: its loudspeaker renditions. Queued in the transaction that
// records the segment. Its TV poster and preview and its Vietnamese
// subtitle renditions follow as a RenderExtrasArgs job.
type ProcessSegmentArgs struct {
	SegmentID  string `json:"segment_id"`
	DurationMS int64  `json:"duration_ms"` // sets the job's timeout
	// Priority is the segment's TT39 priority; it orders the media queue
	// (see [ProcessSegmentArgs.InsertOpts]). Empty is normal.
	Priority pipeline.Priority `json:"priority,omitempty"`
}

// Kind names the job kind.
func (ProcessSegmentArgs) Kind() string { return "process_segment" }

// RenderExtrasArgs asks the worker to make a processed segment's poster
// and web preview (TV) and Vietnamese subtitle renditions. Queued in the
// transaction that makes the segment's audio ready to air.
type RenderExtrasArgs struct {
	SegmentID  string `json:"segment_id"`
	DurationMS int64  `json:"duration_ms"` // sets the job's timeout
}

// Kind names the job kind.
func (RenderExtrasArgs) Kind() string { return "render_extras" }

// RenderVoiceoverArgs asks the worker to turn an approved voice-over into
// the segment's loudspeaker variant for a language. Queued in the
// transaction that approves the translation job.
type RenderVoiceoverArgs struct {
	SegmentID  string `json:"segment_id"`
	Language   string `json:"language"`
	SourceKey  string `json:"source_key"` // the translator's submitted audio
	JobID      string `json:"job_id"`
	ApprovedBy int64  `json:"approved_by"`
}

// Kind names the job kind.
func (RenderVoiceoverArgs) Kind() string { return "render_voiceover" }

// RenderSubtitlesArgs asks the worker to make the subtitle renditions of an
// approved subtitle file (WebVTT sidecar, soft-subtitle MP4, burned-in
// MP4) for a language. Queued in the transaction that approves the job.
type RenderSubtitlesArgs struct {
	SegmentID   string `json:"segment_id"`
	Language    string `json:"language"`
	SubtitleKey string `json:"subtitle_key"` // the approved SRT or WebVTT
	JobID       string `json:"job_id"`
}

// Kind names the job kind.
func (RenderSubtitlesArgs) Kind() string { return "render_subtitles" }

// EnqueueTx inserts a job inside the caller's catalog transaction, so the
// job exists exactly when the change that asked for it commits.
func (q *Queue) EnqueueTx(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
	if _, err := q.client.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// RenditionArgs is the job that makes submission s of approved job j the
// segment's variant in j's language: RenderSubtitlesArgs for a subtitle
// job, RenderVoiceoverArgs for a voice-over (approvedBy is recorded on
// the voice-over variant).
func RenditionArgs(j translation.Job, s translation.Submission, approvedBy int64) river.JobArgs {
	if j.Kind == translation.KindSubtitle {
		return RenderSubtitlesArgs{SegmentID: j.SegmentID, Language: j.Language, SubtitleKey: s.Key, JobID: j.ID}
	}
	return RenderVoiceoverArgs{SegmentID: j.SegmentID, Language: j.Language, SourceKey: s.Key, JobID: j.ID, ApprovedBy: approvedBy}
}

// QueueRenditionTx queues the rendition of an approved job inside the
// approving transaction; it makes *Queue a translation.Renditions.
func (q *Queue) QueueRenditionTx(ctx context.Context, tx *sql.Tx, j translation.Job, s translation.Submission, approvedBy int64) error {
	return q.EnqueueTx(ctx, tx, RenditionArgs(j, s, approvedBy))
}

// ReprioritizeTx gives the processing job of segment id that is still
// waiting (available, scheduled, retryable or pending) the River priority
// and the queue of p, inside the caller's transaction: a segment raised to
// priority or emergency after it was queued moves to QueueMediaUrgent and
// its order there, and one lowered to normal goes back in line in
// QueueMedia. A job already running is left alone. Set it as
// sqlstore.DB.PriorityChangedTx.
func (q *Queue) ReprioritizeTx(ctx context.Context, tx *sql.Tx, id string, p pipeline.Priority) error {
	want, queue := queuePriority(p), mediaQueue(p)
	params := river.NewJobListParams().Kinds(ProcessSegmentArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending).
		First(500)
	for {
		res, err := q.client.JobListTx(ctx, tx, params)
		if err != nil {
			return fmt.Errorf("list queued processing jobs: %w", err)
		}
		for _, j := range res.Jobs {
			var a ProcessSegmentArgs
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				return fmt.Errorf("read args of job %d: %w", j.ID, err)
			}
			if a.SegmentID != id || (j.Priority == want && j.Queue == queue) {
				continue
			}
			// River has no API to change a queued job's priority or queue;
			// the columns are what its producers fetch and order by.
			if _, err := tx.ExecContext(ctx, "UPDATE river_job SET priority = ?, queue = ? WHERE id = ? AND state IN ('available', 'scheduled', 'retryable', 'pending')",
				want, queue, j.ID); err != nil {
				return fmt.Errorf("set priority of job %d: %w", j.ID, err)
			}
		}
		if len(res.Jobs) < 500 || res.LastCursor == nil {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}
