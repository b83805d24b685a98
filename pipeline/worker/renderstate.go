package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline/translation"
)

// RenderLookup tells the translators' desk what became of an approved
// job's render (it is a translation.RenderStates): made when Catalog
// records the renditions made from the approved submission, as the render
// job itself checks before it renders; otherwise queued or running while
// a render job for the translation job is live in Queue's River tables;
// otherwise lost — River discarded the job after its attempts (the store
// was down all that time, so not even a render_failed event could be
// recorded), it was cancelled, or River's cleaner removed it.
type RenderLookup struct {
	Queue *Queue
	// Catalog is the catalog the render jobs record into (sqlstore.DB);
	// one that is not a RecordedCatalog never reads as made.
	Catalog RecordedCatalog
	Log     *slog.Logger
}

// liveStates are the River states of a job that will still run.
var liveStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStatePending}

// RenderState says what became of the render of submission s of approved
// job j (translation.RenderMade, RenderQueued, RenderRunning or
// RenderLost). An error is the catalog's or the queue's.
func (l RenderLookup) RenderState(ctx context.Context, j translation.Job, s translation.Submission) (translation.RenderState, error) {
	args := RenditionArgs(j, s, 0)
	name, variant := voiceoverRecordedAs, true
	if j.Kind == translation.KindSubtitle {
		name, variant = subtitlesRecordedAs, false
	}
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	made, err := translationRecorded(ctx, l.Catalog, log, j.SegmentID, j.Language, name, j.ID, s.Key, variant)
	if err != nil {
		return "", fmt.Errorf("renditions of job %s: %w", j.ID, err)
	}
	if made {
		return translation.RenderMade, nil
	}
	// The job's ID is in the arguments of every render job for it; the
	// JSON operator reads them on SQLite and PostgreSQL alike.
	params := river.NewJobListParams().Kinds(args.Kind()).States(liveStates...).
		Where("args ->> 'job_id' = @job_id", river.NamedArgs{"job_id": j.ID}).First(10)
	res, err := l.Queue.client.JobList(ctx, params)
	if err != nil {
		return "", fmt.Errorf("render jobs of job %s: %w", j.ID, err)
	}
	st := translation.RenderLost
	for _, rj := range res.Jobs {
		if rj.State == rivertype.JobStateRunning {
			return translation.RenderRunning, nil
		}
		st = translation.RenderQueued
	}
	return st, nil
}
