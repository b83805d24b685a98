package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// A media job can run again after its work was recorded: River loses its
// record of the job's end when the database is down as it ends (its
// completer gives up after a few tries), or the worker is killed between
// the commit of the result and River's record; the job's lease then
// lapses and it is run again with the same arguments. Each media job
// therefore first asks the catalog whether its result is recorded for the
// same input, and if so ends at once without ffmpeg, logging
// FoundDoneMessage and recording Output{Work: WorkFoundDone} as the River
// job's output (metadata "output"; .ci/test-scale counts them).

// FoundDoneMessage is the log message of a job that found its work
// recorded and did nothing.
const FoundDoneMessage = "job found its work done; nothing redone"

// Output is what a media job records as its River job's output
// (river.RecordOutput, the job row's metadata "output").
type Output struct {
	// Work is WorkDone when this run made and recorded the result,
	// WorkFoundDone when it found it recorded for the same input, and
	// WorkNone when there was nothing to make (a withdrawn segment).
	Work string `json:"work"`
	// Warning, on a send_notice job that ended WorkMaybeSent, says why
	// its message may or may not have been delivered.
	Warning string `json:"warning,omitempty"`
}

// The values of Output.Work.
const (
	WorkDone      = "done"
	WorkFoundDone = "found_done"
	WorkNone      = "none"
)

// recordOutput records work as the running River job's output; outside a
// River worker (a direct call) there is nothing to record it on.
func recordOutput(ctx context.Context, work string) {
	if work == "" {
		return
	}
	_ = river.RecordOutput(ctx, Output{Work: work})
}

// foundDone logs that a job found its work recorded; what names the
// record it found.
func (p *Processor) foundDone(kind, segmentID, what string, attrs ...any) string {
	p.log().Info(FoundDoneMessage, append([]any{"kind", kind, "segment", segmentID, "recorded", what}, attrs...)...)
	return WorkFoundDone
}

// RecordedCatalog is a catalog that can say what is recorded of a
// segment's renditions and variants (sqlstore.DB is one); with it,
// translation renditions run again after their result was recorded do
// nothing.
type RecordedCatalog interface {
	Renditions(ctx context.Context, segmentID string) ([]pipeline.Rendition, error)
	SegmentVariants(ctx context.Context, segmentID string) ([]pipeline.Variant, error)
}

// sourceFact is the facts field that names the object a translation's
// rendition was made from (the approved submission's key): a rendition is
// recorded for an input when it names that input.
const sourceFact = "source"

// withSource returns facts (a JSON object, or empty) with sourceFact set
// to key.
func withSource(facts json.RawMessage, key string) json.RawMessage {
	m := map[string]any{}
	if len(facts) > 0 {
		_ = json.Unmarshal(facts, &m)
	}
	m[sourceFact] = key
	out, err := json.Marshal(m)
	if err != nil {
		return facts
	}
	return out
}

// madeFrom reports whether rendition r's facts name key as its source.
func madeFrom(r pipeline.Rendition, key string) bool {
	var f map[string]any
	if json.Unmarshal(r.Facts, &f) != nil {
		return false
	}
	s, ok := f[sourceFact].(string)
	return ok && s == key
}

// hasSource reports whether rendition r's facts name a source at all;
// renditions recorded before they did (legacy ones) have none.
func hasSource(r pipeline.Rendition) bool {
	var f map[string]any
	if json.Unmarshal(r.Facts, &f) != nil {
		return false
	}
	_, ok := f[sourceFact]
	return ok
}

// ApprovalReader is a catalog that can list a translation job's events
// and submissions (sqlstore.DB is one); with it, a translation's
// rendition recorded before renditions named their source is recognised
// as the render of its approved submission (legacyMadeFrom).
type ApprovalReader interface {
	JobEvents(ctx context.Context, id string) ([]translation.Event, error)
	Submissions(ctx context.Context, jobID string) ([]translation.Submission, error)
}

// legacyMadeFrom reports whether rendition r, recorded without a source
// in its facts (before renditions named theirs), was made from source,
// the submission approved in translation job jobID. It is, when all of
// these hold: the job is approved (a job is approved once, and there is
// one job per segment, language and kind, so only its approved
// submission is ever rendered into the language's renditions of that
// kind); source is the job's last submission, the one approved; and r
// was recorded after the approval (no render of anything else can come
// after it). A catalog that cannot tell, or any doubt, answers false: the
// job then renders again, as it did before.
func (p *Processor) legacyMadeFrom(ctx context.Context, r pipeline.Rendition, jobID, source string) (bool, error) {
	return legacyMadeFrom(ctx, p.Catalog, p.log(), r, jobID, source)
}

// legacyMadeFrom is Processor.legacyMadeFrom on catalog, logging to log.
func legacyMadeFrom(ctx context.Context, catalog any, log *slog.Logger, r pipeline.Rendition, jobID, source string) (bool, error) {
	ar, ok := catalog.(ApprovalReader)
	if !ok || jobID == "" || source == "" {
		return false, nil
	}
	evs, err := ar.JobEvents(ctx, jobID)
	if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("events of job %s: %w", jobID, err)
	}
	var approved time.Time
	for _, e := range evs {
		if e.Action == translation.ActionApprove && e.To == translation.StateApproved {
			approved = e.At
		}
	}
	if approved.IsZero() {
		return false, nil
	}
	subs, err := ar.Submissions(ctx, jobID)
	if err != nil {
		return false, fmt.Errorf("submissions of job %s: %w", jobID, err)
	}
	if len(subs) == 0 || subs[len(subs)-1].Key != source || subs[len(subs)-1].At.After(approved) {
		return false, nil
	}
	// Both times are the database's, stored to the second on some
	// engines: a render recorded within the approval's second counts.
	if r.CreatedAt.Before(approved.Truncate(time.Second)) {
		return false, nil
	}
	log.Info("rendition recorded before renditions named their source: recognised as made from the approved submission",
		"segment", r.SegmentID, "language", r.Language, "rendition", r.Name, "job", jobID, "source", source)
	return true, nil
}

// translationRecorded reports whether the rendition named name in lang is
// recorded as made from source, and, when variant is true, the language's
// variant is that rendition. A rendition recorded before renditions named
// their source counts as made from source when legacyMadeFrom proves it
// (jobID is the translation job that approved source). A catalog that
// cannot tell answers false.
func (p *Processor) translationRecorded(ctx context.Context, segmentID, lang, name, jobID, source string, variant bool) (bool, error) {
	return translationRecorded(ctx, p.Catalog, p.log(), segmentID, lang, name, jobID, source, variant)
}

// translationRecorded is Processor.translationRecorded on catalog,
// logging to log.
func translationRecorded(ctx context.Context, catalog any, log *slog.Logger, segmentID, lang, name, jobID, source string, variant bool) (bool, error) {
	rc, ok := catalog.(RecordedCatalog)
	if !ok {
		return false, nil
	}
	rs, err := rc.Renditions(ctx, segmentID)
	if err != nil {
		return false, err
	}
	var got *pipeline.Rendition
	for i, r := range rs {
		if r.Language == lang && r.Name == name && madeFrom(r, source) {
			got = &rs[i]
		}
	}
	if got == nil {
		for i, r := range rs {
			if r.Language != lang || r.Name != name || hasSource(r) {
				continue
			}
			legacy, err := legacyMadeFrom(ctx, catalog, log, r, jobID, source)
			if err != nil {
				return false, err
			}
			if legacy {
				got = &rs[i]
			}
		}
	}
	if got == nil || !variant {
		return got != nil, nil
	}
	vs, err := rc.SegmentVariants(ctx, segmentID)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		if v.Language == lang && v.AudioKey == got.Key && v.SHA256 == got.SHA256 {
			return true, nil
		}
	}
	return false, nil
}

// DefaultSaveWait is how long a job that has made its result waits for
// an unreachable database to record it (see Processor.SaveWait).
const DefaultSaveWait = time.Minute

// saveRecorded runs save, which records a job's result. When the
// database cannot be reached (sqlstore.Unreachable: PostgreSQL restarting,
// a dropped connection) the job keeps its result and tries again, with a
// growing pause, until it is recorded, ctx ends (the job's lease lost:
// see leaseMiddleware) or p.SaveWait has passed; a failed commit may
// still have committed, so before each new try recorded is asked first.
// So a database outage shorter than the job's lease does not throw away
// the ffmpeg work for the job to redo.
func (p *Processor) saveRecorded(ctx context.Context, segmentID, what string, save func() error, recorded func() (bool, error)) error {
	err := save()
	if err == nil || !sqlstore.Unreachable(err) || ctx.Err() != nil {
		return err
	}
	wait := p.SaveWait
	if wait <= 0 {
		wait = DefaultSaveWait
	}
	deadline := time.Now().Add(wait)
	p.log().Warn("database unreachable; keeping the result and recording it again when it is back",
		"segment", segmentID, "result", what, "err", err)
	pause := 250 * time.Millisecond
	for {
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("record %s of %s: the database stayed unreachable for %v: %w", what, segmentID, wait, err)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("record %s of %s: %w (the database was unreachable: %v)", what, segmentID, ctx.Err(), err)
		case <-t.C:
		}
		pause = min(2*pause, 2*time.Second)
		done, rerr := recorded()
		switch {
		case rerr == nil && done:
			p.log().Info("result recorded after the database came back", "segment", segmentID, "result", what)
			return nil
		case rerr != nil && !sqlstore.Unreachable(rerr):
			return rerr
		case rerr != nil:
			err = rerr
			continue
		}
		if err = save(); err == nil {
			p.log().Info("result recorded after the database came back", "segment", segmentID, "result", what)
			return nil
		}
		if !sqlstore.Unreachable(err) {
			return err
		}
	}
}
