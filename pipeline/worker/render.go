package worker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TranslationCatalog is what rendering approved translations needs.
type TranslationCatalog interface {
	SaveTranslated(ctx context.Context, segmentID, lang string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error
}

// subtitleOutputs makes the subtitle renditions of one language: the
// WebVTT sidecar always, and for TV a soft-subtitle MP4 (mov_text with the
// language tag) and a burned-in MP4 rendered with Loa's fonts. Each fails
// alone: one the input does not allow is returned as a failure, the
// others are still made; an error is returned only for what is worth
// retrying (see renditionFailed).
func (p *Processor) subtitleOutputs(ctx context.Context, seg pipeline.Segment, lang string, sub *subtitle.File, original, dir string) ([]output, []pipeline.RenditionFailure, error) {
	var outs []output
	var failures []pipeline.RenditionFailure
	add := func(what string, o output, err error) error {
		if err == nil {
			outs = append(outs, o)
			return nil
		}
		f, err := p.renditionFailed(ctx, seg, lang, what, err)
		if f != nil {
			failures = append(failures, *f)
		}
		return err
	}
	vtt := filepath.Join(dir, "subtitles-"+lang+".vtt")
	err := media.WriteWebVTT(vtt, sub)
	if err := add("subtitles", output{name: "subtitles_vtt", file: "subtitles.vtt", path: vtt, contentType: "text/vtt; charset=utf-8"}, err); err != nil {
		return nil, nil, err
	}
	if seg.Kind != pipeline.KindTV {
		return outs, failures, nil
	}
	soft := filepath.Join(dir, "soft-"+lang+".mp4")
	r, err := p.background().SoftSubtitles(ctx, original, soft, []media.SubtitleTrack{{Lang: lang, File: sub}}, media.SoftSubOptions{TempDir: dir})
	if err := add("soft subtitles", output{name: "soft_subtitles_mp4", file: "soft-subtitles.mp4", path: soft, contentType: "video/mp4", r: &r}, err); err != nil {
		return nil, nil, err
	}
	burned := filepath.Join(dir, "burned-"+lang+".mp4")
	br, err := p.background().BurnSubtitles(ctx, original, burned, sub, media.BurnOptions{Lang: lang, FontsDir: p.FontsDir, TempDir: dir})
	if err := add("burned-in subtitles", output{name: "burned_subtitles_mp4", file: "burned-subtitles.mp4", path: burned, contentType: "video/mp4", r: &br}, err); err != nil {
		return nil, nil, err
	}
	return outs, failures, nil
}

// readSubtitle fetches and parses a stored subtitle file.
func (p *Processor) readSubtitle(ctx context.Context, key string) (*subtitle.File, error) {
	rc, err := p.Objects.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read subtitles %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, subtitle.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read subtitles %s: %w", key, err)
	}
	f, err := subtitle.Parse(data)
	if err != nil {
		return nil, &media.InputError{Err: err}
	}
	return f, nil
}

// showable returns sub without the cues that start at or after the end
// of the media (length; 0 when not known: nothing is left out) and their
// positions, with the ends of cues that run past the media cut at its
// end, so no subtitle track outlasts the picture. A faithful translation
// of a source accepted before the upload check may keep such cues
// (translation.SubtitleCheck lets it). Cues no player shows as written
// (brokenCues) are not left out here: they stop the render.
func showable(sub *subtitle.File, length time.Duration) (*subtitle.File, []int) {
	var dropped []int
	out := &subtitle.File{Format: sub.Format}
	for _, c := range sub.Cues {
		if length > 0 && c.Start >= length {
			dropped = append(dropped, c.Index)
			continue
		}
		if length > 0 && c.End > length {
			c.End = length
		}
		out.Cues = append(out.Cues, c)
	}
	return out, dropped
}

// brokenCues are the cues of an approved translation that no player
// shows as written: one that ends before it starts (left out), one with
// no text, one that starts before the cue before it (WebVTT forbids it;
// a burn-in stacks them) or before it ends. The submission check accepts
// them only when the Vietnamese source has the same problem at that cue
// (a source accepted before the upload check), and that source's own
// renditions fail for it (checkSource); so does the translation's, with
// each finding's rule, cue and line: an approved translation is rendered
// whole or not at all. A cue merely shorter than the source allows
// (subtitle.MinSourceCue) still shows, and is rendered.
func brokenCues(sub *subtitle.File) []subtitle.Finding {
	var out []subtitle.Finding
	for _, f := range subtitle.CheckSource(sub) {
		if f.Key != subtitle.KeyTooShortCue {
			out = append(out, f)
		}
	}
	return out
}

// SourceRemedy is what the producer of a segment whose Vietnamese
// subtitle file breaks the rules its translations keep is told to do: a
// segment's subtitle file is replaced only by a new upload, and the same
// media uploaded again while the segment stands is a duplicate whose
// subtitles are not used.
const SourceRemedy = "the producer should correct the file, withdraw this segment and upload the media again with the corrected file (uploaded again without withdrawing, it is a duplicate whose subtitles are not used)"

// checkSource holds a producer's subtitle file to subtitle.CheckSource,
// and its cues to the media's length (length; 0: not known), as the upload
// does; a file accepted before those checks fails here with the same
// reasons, each with its line, instead of deep in ffmpeg. What to do
// comes first, so a reason cut to its stored length keeps it.
func checkSource(sub *subtitle.File, length time.Duration) error {
	fs := subtitle.CheckSource(sub)
	for _, f := range subtitle.CheckMediaEnd(sub, length, subtitle.DefaultTolerance, pipeline.SourceMediaRemedy) {
		if f.Severity == subtitle.Error {
			fs = append(fs, f)
		}
	}
	if len(fs) == 0 {
		return nil
	}
	return &media.InputError{Err: fmt.Errorf("the subtitle file breaks %d rule(s) its translations must keep; %s: %s",
		len(fs), SourceRemedy, findingList(fs))}
}

// findingList writes findings one after the other, each with its line
// and cue.
func findingList(fs []subtitle.Finding) string {
	msgs := make([]string, len(fs))
	for i, f := range fs {
		msgs[i] = f.String()
	}
	return strings.Join(msgs, "; ")
}

// The renditions whose record says a translation's render is recorded:
// the WebVTT sidecar of a subtitle file, the loudspeaker MP3 (the
// language's variant) of a voice-over.
const (
	subtitlesRecordedAs = "subtitles_vtt"
	voiceoverRecordedAs = "loudspeaker_mp3"
)

// RenderSubtitles makes the renditions of an approved subtitle file. When
// the language's renditions are recorded as made from that file already
// (a re-run after River lost its record of the first run's end) it does
// nothing and logs FoundDoneMessage; another file is rendered.
func (p *Processor) RenderSubtitles(ctx context.Context, a RenderSubtitlesArgs) error {
	_, err := p.renderSubtitles(ctx, a)
	return err
}

func (p *Processor) renderSubtitles(ctx context.Context, a RenderSubtitlesArgs) (string, error) {
	recorded := func() (bool, error) {
		return p.translationRecorded(ctx, a.SegmentID, a.Language, subtitlesRecordedAs, a.JobID, a.SubtitleKey, false)
	}
	return p.renderTranslation(ctx, RenderSubtitlesArgs{}.Kind(), a.SegmentID, a.Language, a.JobID, "subtitles", a.SubtitleKey, recorded, func(seg pipeline.Segment, dir, original string) ([]output, *output, error) {
		sub, err := p.readSubtitle(ctx, a.SubtitleKey)
		if err != nil {
			return nil, nil, err
		}
		if fs := brokenCues(sub); len(fs) > 0 {
			return nil, nil, &media.InputError{Err: fmt.Errorf("the approved subtitles keep %d problem(s) of the Vietnamese source that players cannot show as written, "+
				"so none is rendered (whole or not at all); the producer should withdraw the segment and upload the media again with the source corrected "+
				"(the new job starts from this translation in translation memory): %s", len(fs), findingList(fs))}
		}
		sub, dropped := showable(sub, time.Duration(seg.Probe.DurationMS)*time.Millisecond)
		if len(dropped) > 0 {
			p.log().Warn("approved translation has cues no player shows; rendered without them",
				"segment", seg.ID, "language", a.Language, "cues", dropped)
		}
		if len(sub.Cues) == 0 {
			return nil, nil, &media.InputError{Err: errors.New("the approved subtitle file has no cue a player can show")}
		}
		outs, failures, err := p.subtitleOutputs(ctx, seg, a.Language, sub, original, dir)
		if err == nil && len(failures) > 0 {
			// An approved translation is rendered whole or not at all:
			// the reviewer approved all of it.
			err = &media.InputError{Err: errors.New(failures[0].String())}
		}
		return outs, nil, err
	}, nil)
}

// RenderVoiceover normalizes an approved voice-over into the loudspeaker
// renditions of its language and makes it the segment's variant there.
// When that variant is recorded as made from the same submission already
// (a re-run after River lost its record of the first run's end) it does
// nothing and logs FoundDoneMessage; another submission is rendered.
func (p *Processor) RenderVoiceover(ctx context.Context, a RenderVoiceoverArgs) error {
	_, err := p.renderVoiceover(ctx, a)
	return err
}

func (p *Processor) renderVoiceover(ctx context.Context, a RenderVoiceoverArgs) (string, error) {
	approvedBy := a.ApprovedBy
	recorded := func() (bool, error) {
		return p.translationRecorded(ctx, a.SegmentID, a.Language, voiceoverRecordedAs, a.JobID, a.SourceKey, true)
	}
	return p.renderTranslation(ctx, RenderVoiceoverArgs{}.Kind(), a.SegmentID, a.Language, a.JobID, "voice-over", a.SourceKey, recorded, func(seg pipeline.Segment, dir, _ string) ([]output, *output, error) {
		src := filepath.Join(dir, "voiceover")
		if err := p.download(ctx, a.SourceKey, src); err != nil {
			return nil, nil, err
		}
		mp3, opus := filepath.Join(dir, "vo.mp3"), filepath.Join(dir, "vo.opus")
		res, err := p.runnerFor(seg.Priority).Loudspeaker(ctx, src, mp3, opus, media.LoudspeakerOptions{MP3BitRate: p.MP3BitRate, OpusBitRate: p.OpusBitRate})
		if err != nil {
			return nil, nil, err
		}
		// Each rendition's facts carry its own measured loudness and true peak.
		mp3Loud, _ := json.Marshal(res.Loudness.Of(res.MP3))
		opusLoud, _ := json.Marshal(res.Loudness.Of(res.Opus))
		outs := []output{
			{name: "loudspeaker_mp3", file: "loudspeaker.mp3", path: mp3, contentType: "audio/mpeg", r: res.MP3, facts: mp3Loud},
			{name: "loudspeaker_opus", file: "loudspeaker.opus", path: opus, contentType: "audio/ogg", r: res.Opus, facts: opusLoud},
		}
		return outs, &outs[0], nil
	}, &approvedBy)
}

// renderTranslation runs make in a private folder (with the original
// downloaded when the segment is TV), stores what it made under the
// language's fixed keys and records it, each rendition's facts naming
// source (the approved submission it is made from); variant names the
// output that becomes the language's variant, approved by approvedBy.
// jobID is the approved job and what names the translation
// ("voice-over") when a failure is recorded. When recorded says the
// result for source is recorded already, nothing is made (kind names the
// job in the log); when an earlier run stored the outputs for the same
// submission and settings but did not record them, they are recorded
// without being made again (see reuse.go). It returns what the run did
// (Output.Work).
func (p *Processor) renderTranslation(ctx context.Context, kind, segmentID, lang, jobID, what, source string, recorded func() (bool, error),
	make func(seg pipeline.Segment, dir, original string) ([]output, *output, error), approvedBy *int64) (string, error) {
	seg, err := p.Catalog.Segment(ctx, segmentID)
	if err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
			return "", fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return "", err
	}
	if seg.State == pipeline.StateWithdrawn {
		return WorkNone, nil
	}
	done, err := recorded()
	if err != nil {
		return "", fmt.Errorf("%s rendition of %s: %w", lang, seg.ID, err)
	}
	if done {
		return p.foundDone(kind, seg.ID, what+" renditions made from this submission", "language", lang, "source", source), nil
	}
	failed, err := p.renderFailedBefore(ctx, jobID)
	if err != nil {
		return "", fmt.Errorf("%s rendition of %s: %w", lang, seg.ID, err)
	}
	if failed {
		return p.foundDone(kind, seg.ID, "the approved "+what+" could not be rendered (recorded on the job)", "language", lang, "job", jobID), nil
	}
	input, settings := p.translationInput(ctx, seg, source), p.renderSettings()
	work := WorkDone
	var rs []pipeline.Rendition
	var v *pipeline.Variant
	variantName := ""
	if rec := p.reusable(ctx, seg.ID, lang, kind, input, settings); rec != nil {
		rs, variantName, work = rec.Renditions, rec.Variant, WorkReused
	} else {
		rs, variantName, err = p.makeTranslation(ctx, seg, lang, jobID, what, source, make)
		if err != nil {
			return "", err
		}
		p.storeMade(ctx, seg.ID, lang, madeRecord{Kind: kind, Input: input, Settings: settings, Renditions: rs, Variant: variantName})
	}
	for _, r := range rs {
		if variantName != "" && r.Name == variantName {
			v = &pipeline.Variant{SegmentID: seg.ID, Language: lang, AudioKey: r.Key, DurationMS: r.DurationMS,
				SHA256: r.SHA256, Size: r.Size, ApprovedBy: approvedBy}
		}
	}
	var then func(*sql.Tx) error
	if p.OnVariantReady != nil && v != nil {
		then = func(tx *sql.Tx) error { return p.OnVariantReady(ctx, tx, seg, lang) }
	}
	tc, ok := p.Catalog.(TranslationCatalog)
	if !ok {
		return "", errors.New("render translation: the catalog cannot record translations")
	}
	save := func() error { return tc.SaveTranslated(ctx, seg.ID, lang, rs, v, then) }
	if err := p.saveRecorded(ctx, seg.ID, lang+" "+what, save, recorded); err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeConflict {
			return WorkNone, p.withdrawnMeanwhile(ctx, seg.ID)
		}
		return "", err
	}
	p.dropMade(ctx, seg.ID, lang, kind, input, settings)
	p.log().Info("translation rendered", "segment", seg.ID, "language", lang, "renditions", len(rs), "variant", v != nil, "reused", work == WorkReused)
	return work, nil
}

// translationInput is what a translation's renditions are made from: the
// approved submission source and, for TV, the segment's original, by
// SHA-256 ("" when the submission cannot be read: then nothing is
// reused).
func (p *Processor) translationInput(ctx context.Context, seg pipeline.Segment, source string) string {
	sum, _, err := p.objectSum(ctx, source)
	if err != nil {
		return ""
	}
	original := "none"
	if seg.Kind == pipeline.KindTV {
		original = seg.SHA256
	}
	return inputSums("source", sum, "original", original)
}

// makeTranslation runs make in a private folder (with the original
// downloaded when the segment is TV) and stores what it made under the
// language's fixed keys, each rendition's facts naming source; variant is
// the name of the rendition that becomes the language's variant ("" for
// none). A failure of the input is recorded (translationFailed).
func (p *Processor) makeTranslation(ctx context.Context, seg pipeline.Segment, lang, jobID, what, source string,
	make func(seg pipeline.Segment, dir, original string) ([]output, *output, error)) (rs []pipeline.Rendition, variant string, err error) {
	dir, err := p.workDir()
	if err != nil {
		return nil, "", err
	}
	defer removeDir(dir)
	original := ""
	if seg.Kind == pipeline.KindTV {
		original = filepath.Join(dir, "original")
		if err := p.download(ctx, seg.OriginalKey, original); err != nil {
			return nil, "", err
		}
	}
	outs, variantOut, err := make(seg, dir, original)
	if err != nil {
		return nil, "", p.translationFailed(ctx, seg, lang, jobID, what, err)
	}
	for _, o := range outs {
		r, err := p.store(ctx, seg.ID, lang, o)
		if err != nil {
			return nil, "", err
		}
		r.Facts = withSource(r.Facts, source)
		rs = append(rs, r)
	}
	if variantOut != nil {
		variant = variantOut.name
	}
	return rs, variant, nil
}

// JobEventsReader is a catalog that can list a translation job's events
// (sqlstore.DB.JobEvents); with it, an approved translation that could
// not be rendered is not rendered again when its River job runs again.
type JobEventsReader interface {
	JobEvents(ctx context.Context, id string) ([]translation.Event, error)
}

// renderFailedBefore reports whether job jobID carries a render_failed
// event with no rerender after it (translation.RenderFailed): its
// approved translation (a job is approved once, so one submission) was
// found not renderable, for good (translationFailed), and nobody has
// asked for it again since.
func (p *Processor) renderFailedBefore(ctx context.Context, jobID string) (bool, error) {
	r, ok := p.Catalog.(JobEventsReader)
	if !ok || jobID == "" {
		return false, nil
	}
	evs, err := r.JobEvents(ctx, jobID)
	if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return translation.RenderFailed(evs), nil
}

// TranslationFailureRecorder is a catalog that can record, where the
// job's and the segment's people see it, that an approved translation
// cannot be rendered (sqlstore.DB.RecordTranslationFailed).
type TranslationFailureRecorder interface {
	RecordTranslationFailed(ctx context.Context, segmentID, jobID string, f pipeline.RenditionFailure) error
}

// translationFailed keeps a failure of an approved translation's media
// visible: when permanent it is recorded on the job and the segment (if
// the catalog can), logged, and not retried.
func (p *Processor) translationFailed(ctx context.Context, seg pipeline.Segment, lang, jobID, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !media.IsInputError(err) {
		return fmt.Errorf("%s rendition of %s: %w", lang, seg.ID, err)
	}
	p.log().Error("approved translation cannot be rendered", "segment", seg.ID, "language", lang, "job", jobID, "err", err)
	if rec, ok := p.Catalog.(TranslationFailureRecorder); ok {
		reason := err.Error()
		if len(reason) > maxReasonBytes {
			reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
		}
		f := pipeline.RenditionFailure{Language: lang, What: what, Reason: reason}
		if rerr := rec.RecordTranslationFailed(ctx, seg.ID, jobID, f); rerr != nil {
			// Not recorded yet: let River retry, so the failure is not
			// lost in the log alone.
			return fmt.Errorf("%s rendition of %s failed (%v) and could not be recorded: %w", lang, seg.ID, err, rerr)
		}
	}
	return fmt.Errorf("%w: %s rendition of %s: %v", ErrPermanent, lang, seg.ID, err)
}

type renderSubtitlesWorker struct {
	river.WorkerDefaults[RenderSubtitlesArgs]
	p *Processor
}

func (w *renderSubtitlesWorker) Work(ctx context.Context, job *river.Job[RenderSubtitlesArgs]) error {
	work, err := w.p.renderSubtitles(ctx, job.Args)
	if err == nil {
		recordOutput(ctx, work)
	}
	return cancelPermanent(err)
}

type renderVoiceoverWorker struct {
	river.WorkerDefaults[RenderVoiceoverArgs]
	p *Processor
}

func (w *renderVoiceoverWorker) Work(ctx context.Context, job *river.Job[RenderVoiceoverArgs]) error {
	work, err := w.p.renderVoiceover(ctx, job.Args)
	if err == nil {
		recordOutput(ctx, work)
	}
	return cancelPermanent(err)
}

// cancelPermanent stops River from retrying what cannot succeed.
func cancelPermanent(err error) error {
	if errors.Is(err, ErrPermanent) {
		return river.JobCancel(err)
	}
	return err
}

// InsertOpts sends subtitle rendering to the media queue.
func (RenderSubtitlesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMedia, MaxAttempts: 5}
}

// InsertOpts sends voice-over rendering to the media queue.
func (RenderVoiceoverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMedia, MaxAttempts: 5}
}
