package worker

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/pipeline"
)

// ProcessCatalog is what processing needs from the metadata store.
type ProcessCatalog interface {
	Segment(ctx context.Context, id string) (pipeline.Segment, error)
	SetProgress(ctx context.Context, id, step string, fraction float64) error
	SaveProcessed(ctx context.Context, id string, rs []pipeline.Rendition, v *pipeline.Variant, then func(*sql.Tx) error) error
	// SaveRenditions records more renditions of a processed segment
	// (RenderExtras) and ends its pipeline.StepRenditions step; then runs
	// in the same transaction.
	SaveRenditions(ctx context.Context, id string, rs []pipeline.Rendition, then func(*sql.Tx) error) error
	// MarkRenditionsPendingTx shows, in SaveProcessed's transaction, that
	// the segment's other renditions follow (pipeline.StepRenditions).
	MarkRenditionsPendingTx(ctx context.Context, tx *sql.Tx, id string) error
	MarkProcessFailed(ctx context.Context, id, reason string) error
	// RecordRenditionFailuresTx records, in SaveRenditions' transaction,
	// the renditions that could not be made.
	RecordRenditionFailuresTx(ctx context.Context, tx *sql.Tx, id string, fs []pipeline.RenditionFailure) error
}

// ProcessObjects is what processing needs from the object store.
type ProcessObjects interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error)
}

// Processor turns a segment's original into its renditions.
type Processor struct {
	Catalog ProcessCatalog
	Objects ProcessObjects
	Runner  *media.Runner
	// Background runs the ffmpeg work no emergency waits for (normal
	// segments' processing; every segment's posters, previews and
	// subtitle renditions) at a lower OS priority, with process slots of
	// its own, so a priority or emergency segment's audio made meanwhile
	// by Runner gets the CPU first. [New] sets it to
	// Runner.Niced(BackgroundNice) when nil; without it Runner runs all.
	Background *media.Runner
	// TempDir is where a job's private working folder is made; each
	// folder is named after the process so a restarted worker can remove
	// what a killed one left.
	TempDir string
	// MP3BitRate and OpusBitRate set the loudspeaker renditions (bit/s).
	MP3BitRate, OpusBitRate int
	// OnProcessed runs in the transaction that records the result: it
	// opens translation jobs and asks for schedule rebuilds.
	OnProcessed func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment) error
	// OnVariantReady runs in the transaction that makes a translated
	// variant ready to air (to ask for schedule rebuilds).
	OnVariantReady func(ctx context.Context, tx *sql.Tx, seg pipeline.Segment, lang string) error
	// FontsDir holds the fonts burned-in subtitles may use (see
	// media.PrepareFonts); Thái needs a Tai Viet font there.
	FontsDir string
	// Enqueue inserts a job in the transaction that makes a segment's
	// audio ready to air, for its poster, preview and subtitle renditions
	// (RenderExtrasArgs). [New] sets it to the Worker's EnqueueTx when it
	// is nil; a Processor without it makes them in Process, right after
	// the audio is recorded.
	Enqueue func(ctx context.Context, tx *sql.Tx, args river.JobArgs) error
	// Withdrawal, when set, removes what a job stored for a segment
	// withdrawn while it ran (see Withdrawal.Move); [New] sets it to the
	// Config's when nil.
	Withdrawal *Withdrawal
	// SaveWait is how long a job that has made its result waits for an
	// unreachable database to record it, while its lease holds (default
	// DefaultSaveWait; see saveRecorded).
	SaveWait time.Duration
	Log      *slog.Logger
}

// renditionKey is where a rendition lives: fixed per segment, language
// and name, so running processing again overwrites instead of doubling.
func renditionKey(segmentID, lang, file string) string {
	return "segments/" + segmentID + "/renditions/" + lang + "/" + file
}

// RenditionPrefix is the key prefix of every processed object; the orphan
// sweep looks only there.
const RenditionPrefix = "segments/"

// Process makes a segment ready to air: it measures nothing the upload
// already measured, makes the loudspeaker renditions (MP3 and Opus from
// one ffmpeg run), stores them and records the segment processed with its
// Vietnamese variant. The poster, preview and subtitle renditions follow
// in a job of their own (RenderExtras), queued in the same transaction,
// so they cannot hold back the audio. A permanent problem with the media
// is recorded on the segment and returned wrapped in ErrPermanent; other
// errors are worth retrying.
//
// A segment whose processing is recorded already (processed, or failed
// for good) is left alone: the job is a re-run after River lost its
// record of the first run's end, and it logs FoundDoneMessage. A
// segment's original never changes, so its state is the record of the
// work for this input. Renditions an earlier run stored but could not
// record (the database away longer than its lease) are recorded without
// being made again when they are provably what this run would make (see
// reuse.go).
func (p *Processor) Process(ctx context.Context, segmentID string) error {
	_, err := p.process(ctx, segmentID)
	return err
}

// process is Process; it also returns what the run did (Output.Work).
func (p *Processor) process(ctx context.Context, segmentID string) (string, error) {
	seg, err := p.Catalog.Segment(ctx, segmentID)
	if err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
			return "", fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		return "", err
	}
	switch seg.State {
	case pipeline.StateWithdrawn:
		return WorkNone, nil
	case pipeline.StateProcessed:
		return p.foundDone(ProcessSegmentArgs{}.Kind(), seg.ID, "segment processed"), nil
	case pipeline.StateFailed:
		return p.foundDone(ProcessSegmentArgs{}.Kind(), seg.ID, "processing failed for good", "reason", seg.ProcessError), nil
	}
	kind, lang := ProcessSegmentArgs{}.Kind(), pipeline.LangVietnamese
	input, settings := inputSums("original", seg.SHA256), p.renderSettings()
	work, laps := WorkDone, newLaps()
	var rs []pipeline.Rendition
	var attrs []any
	if rec := p.reusable(ctx, seg.ID, lang, kind, input, settings); rec != nil {
		rs, work, attrs = rec.Renditions, WorkReused, []any{"reused", true}
	} else {
		if rs, attrs, err = p.makeLoudspeaker(ctx, seg, laps); err != nil {
			return "", err
		}
		p.storeMade(ctx, seg.ID, lang, madeRecord{Kind: kind, Input: input, Settings: settings, Renditions: rs})
	}
	var variant *pipeline.Variant
	if containsLang(seg.Languages, pipeline.LangVietnamese) {
		mp3r := rs[0]
		variant = &pipeline.Variant{SegmentID: seg.ID, Language: pipeline.LangVietnamese, AudioKey: mp3r.Key,
			DurationMS: mp3r.DurationMS, SHA256: mp3r.SHA256, Size: mp3r.Size}
	}
	// Only TV has extras: a radio segment has no picture to show subtitles
	// on, so its Vietnamese file is kept as the transcript voice-over
	// translators read, and no subtitle rendition is made of it.
	extras := seg.Kind == pipeline.KindTV
	then := func(tx *sql.Tx) error {
		if p.OnProcessed != nil {
			if err := p.OnProcessed(ctx, tx, seg); err != nil {
				return err
			}
		}
		if extras && p.Enqueue != nil {
			if err := p.Catalog.MarkRenditionsPendingTx(ctx, tx, seg.ID); err != nil {
				return err
			}
			return p.Enqueue(ctx, tx, RenderExtrasArgs{SegmentID: seg.ID, DurationMS: seg.Probe.DurationMS})
		}
		return nil
	}
	save := func() error { return p.Catalog.SaveProcessed(ctx, seg.ID, rs, variant, then) }
	recorded := func() (bool, error) {
		now, err := p.Catalog.Segment(ctx, seg.ID)
		return now.State == pipeline.StateProcessed, err
	}
	if err := p.saveRecorded(ctx, seg.ID, "processing", save, recorded); err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeConflict {
			return WorkNone, p.withdrawnMeanwhile(ctx, seg.ID)
		}
		return "", err
	}
	laps.lap("catalog")
	p.dropMade(ctx, seg.ID, lang, kind, input, settings)
	p.log().Info("segment processed", append(append([]any{"segment", seg.ID, "renditions", len(rs)}, attrs...), laps.list...)...)
	if extras && p.Enqueue == nil {
		if _, err := p.renderExtras(ctx, seg.ID, false); err != nil {
			return "", err
		}
	}
	return work, nil
}

// makeLoudspeaker makes and stores seg's loudspeaker renditions (MP3 and
// Opus from one ffmpeg run), recording each step's progress and time in
// laps; attrs are what the log line of the result says of it.
func (p *Processor) makeLoudspeaker(ctx context.Context, seg pipeline.Segment, laps *laps) (rs []pipeline.Rendition, attrs []any, err error) {
	dir, err := p.workDir()
	if err != nil {
		return nil, nil, err
	}
	defer removeDir(dir)

	step := func(name string, done float64) {
		if err := p.Catalog.SetProgress(ctx, seg.ID, name, done); err != nil {
			p.log().Warn("record progress", "segment", seg.ID, "err", err)
		}
	}
	step("download", 0)
	original := filepath.Join(dir, "original")
	if err := p.download(ctx, seg.OriginalKey, original); err != nil {
		return nil, nil, err
	}
	laps.lap("download")
	// Each step is recorded as it starts, so a failure is shown at the
	// step that failed (a measuring pass reports no progress).
	step("loudspeaker", 0.1)
	throttled := throttle(func(pr media.Progress) { step("loudspeaker", 0.1+0.8*pr.Fraction()) })
	mp3, opus := filepath.Join(dir, "loudspeaker.mp3"), filepath.Join(dir, "loudspeaker.opus")
	res, err := p.runnerFor(seg.Priority).Loudspeaker(ctx, original, mp3, opus, media.LoudspeakerOptions{
		MP3BitRate: p.MP3BitRate, OpusBitRate: p.OpusBitRate, Progress: throttled,
		// Measured at upload, in the decode that validated it; nil for an
		// older segment, which is then measured here.
		Measured: seg.Loudness,
	})
	if err != nil {
		return nil, nil, p.fail(ctx, seg, "loudspeaker renditions", err)
	}
	laps.lap("loudspeaker")
	// Each rendition's facts carry its own measured loudness and true peak.
	mp3Loud, _ := json.Marshal(res.Loudness.Of(res.MP3))
	opusLoud, _ := json.Marshal(res.Loudness.Of(res.Opus))
	outs := []output{
		{name: "loudspeaker_mp3", file: "loudspeaker.mp3", path: mp3, contentType: "audio/mpeg", r: res.MP3, facts: mp3Loud},
		{name: "loudspeaker_opus", file: "loudspeaker.opus", path: opus, contentType: "audio/ogg", r: res.Opus, facts: opusLoud}}

	step("store", 0.95)
	for _, o := range outs {
		r, err := p.store(ctx, seg.ID, pipeline.LangVietnamese, o)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, r)
	}
	laps.lap("store")
	return rs, []any{"loudness_in", res.Loudness.InputI, "loudness_out", res.Loudness.OutputI,
		"loudness_from_upload", seg.Loudness != nil}, nil
}

// RenderExtras makes a processed TV segment's poster and web preview and
// its Vietnamese subtitle renditions (when the producer sent a subtitle
// file), after its audio is ready to air. A radio segment gets none: its
// subtitle file is the transcript voice-over translators read, and a
// WebVTT of it would have no picture to go with. A rendition its input
// does not allow fails alone, with its reason recorded on the segment;
// other errors (the store, a timeout) are returned for River to retry. A
// segment withdrawn, or not processed, is left alone. So is one whose
// renditions are no longer pending (its step is not
// pipeline.StepRenditions): they are recorded, and the job is a re-run
// after River lost its record of the first run's end (FoundDoneMessage
// is logged). The segment's original and subtitle file never change, so
// the step is the record of the work for this input.
func (p *Processor) RenderExtras(ctx context.Context, segmentID string) error {
	_, err := p.renderExtras(ctx, segmentID, true)
	return err
}

// renderExtras is RenderExtras; it also returns what the run did
// (Output.Work). Process calls it with pendingOnly false, to make the
// extras of a segment it has just processed without a queue.
func (p *Processor) renderExtras(ctx context.Context, segmentID string, pendingOnly bool) (string, error) {
	seg, err := p.Catalog.Segment(ctx, segmentID)
	if pipeline.ErrorCode(err) == pipeline.CodeNotFound {
		return WorkNone, nil
	}
	if err != nil {
		return "", err
	}
	if seg.State != pipeline.StateProcessed {
		return WorkNone, nil
	}
	if pendingOnly && seg.ProcessStep != pipeline.StepRenditions {
		return p.foundDone(RenderExtrasArgs{}.Kind(), seg.ID, "renditions no longer pending"), nil
	}
	kind, lang := RenderExtrasArgs{}.Kind(), pipeline.LangVietnamese
	input, settings := p.extrasInput(ctx, seg), p.renderSettings()
	work, laps := WorkDone, newLaps()
	var rs []pipeline.Rendition
	var failures []pipeline.RenditionFailure
	if rec := p.reusable(ctx, seg.ID, lang, kind, input, settings); rec != nil {
		rs, failures, work = rec.Renditions, rec.Failures, WorkReused
	} else {
		if rs, failures, err = p.makeExtras(ctx, seg, laps); err != nil {
			return "", err
		}
		p.storeMade(ctx, seg.ID, lang, madeRecord{Kind: kind, Input: input, Settings: settings, Renditions: rs, Failures: failures})
	}
	then := func(tx *sql.Tx) error {
		return p.Catalog.RecordRenditionFailuresTx(ctx, tx, seg.ID, failures)
	}
	save := func() error { return p.Catalog.SaveRenditions(ctx, seg.ID, rs, then) }
	recorded := func() (bool, error) {
		now, err := p.Catalog.Segment(ctx, seg.ID)
		// Without a pending step to clear (pendingOnly false) the save
		// is simply made again: it replaces the same rows.
		return pendingOnly && now.State == pipeline.StateProcessed && now.ProcessStep != pipeline.StepRenditions, err
	}
	if err := p.saveRecorded(ctx, seg.ID, "renditions", save, recorded); err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeConflict {
			return WorkNone, p.withdrawnMeanwhile(ctx, seg.ID)
		}
		return "", err
	}
	laps.lap("catalog")
	p.dropMade(ctx, seg.ID, lang, kind, input, settings)
	p.log().Info("segment renditions made", append([]any{"segment", seg.ID, "renditions", len(rs),
		"failed_renditions", len(failures), "reused", work == WorkReused}, laps.list...)...)
	return work, nil
}

// extrasInput is what a TV segment's extras are made from: its original
// and its subtitle file, by SHA-256 ("" when the subtitle file cannot be
// read: then nothing is reused).
func (p *Processor) extrasInput(ctx context.Context, seg pipeline.Segment) string {
	sub := "none"
	if seg.SubtitleKey != "" {
		sum, _, err := p.objectSum(ctx, seg.SubtitleKey)
		if err != nil {
			return ""
		}
		sub = sum
	}
	return inputSums("original", seg.SHA256, "subtitles", sub)
}

// makeExtras makes and stores seg's poster, web preview and Vietnamese
// subtitle renditions, each step's time in laps; failures are the
// renditions the input does not allow.
func (p *Processor) makeExtras(ctx context.Context, seg pipeline.Segment, laps *laps) (rs []pipeline.Rendition, failures []pipeline.RenditionFailure, err error) {
	dir, err := p.workDir()
	if err != nil {
		return nil, nil, err
	}
	defer removeDir(dir)
	original := filepath.Join(dir, "original")
	if err := p.download(ctx, seg.OriginalKey, original); err != nil {
		return nil, nil, err
	}
	laps.lap("download")
	var outs []output
	keep := func(what string, err error) error {
		f, err := p.renditionFailed(ctx, seg, pipeline.LangVietnamese, what, err)
		if f != nil {
			failures = append(failures, *f)
		}
		return err
	}
	if seg.Kind == pipeline.KindTV {
		poster := filepath.Join(dir, "poster.jpg")
		r, err := p.background().Poster(ctx, original, poster, media.PosterOptions{})
		if err == nil {
			outs = append(outs, output{name: "poster_jpg", file: "poster.jpg", path: poster, contentType: "image/jpeg", r: &r})
		} else if err := keep("poster", err); err != nil {
			return nil, nil, err
		}
		laps.lap("poster")
		preview := filepath.Join(dir, "preview.mp4")
		r, err = p.background().WebPreview(ctx, original, preview, media.PreviewOptions{})
		if err == nil {
			outs = append(outs, output{name: "preview_mp4", file: "preview.mp4", path: preview, contentType: "video/mp4", r: &r})
		} else if err := keep("web preview", err); err != nil {
			return nil, nil, err
		}
		laps.lap("preview")
	}
	if seg.SubtitleKey != "" && seg.Kind == pipeline.KindTV {
		sub, err := p.readSubtitle(ctx, seg.SubtitleKey)
		if err == nil {
			err = checkSource(sub, time.Duration(seg.Probe.DurationMS)*time.Millisecond)
		}
		if err == nil {
			// Cues that end a little after the media (the upload's
			// tolerance) are cut at its end.
			sub, _ = showable(sub, time.Duration(seg.Probe.DurationMS)*time.Millisecond)
		}
		if err != nil {
			if err := keep("subtitles", err); err != nil {
				return nil, nil, err
			}
		} else {
			subs, fails, err := p.subtitleOutputs(ctx, seg, pipeline.LangVietnamese, sub, original, dir)
			if err != nil {
				return nil, nil, err
			}
			outs = append(outs, subs...)
			failures = append(failures, fails...)
		}
		laps.lap("subtitles")
	}
	for _, o := range outs {
		r, err := p.store(ctx, seg.ID, pipeline.LangVietnamese, o)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, r)
	}
	laps.lap("store")
	return rs, failures, nil
}

// laps collects each step's time for a job's final log line, so an
// operator can see where a slow segment spent it.
type laps struct {
	list []any
	last time.Time
}

func newLaps() *laps { return &laps{last: time.Now()} }

// lap records the time since the previous lap as name_ms.
func (l *laps) lap(name string) {
	now := time.Now()
	l.list = append(l.list, name+"_ms", now.Sub(l.last).Milliseconds())
	l.last = now
}

// ErrPermanent marks a processing failure that retrying cannot fix: the
// Processor has recorded it, and the job is cancelled, not retried.
var ErrPermanent = errors.New("permanent processing failure")

// fail decides whether an error is the input's fault (a *media.InputError:
// recorded on the segment at once, not retried) or the machine's (the
// object store, a timeout, a cancelled run: returned for River to retry).
func (p *Processor) fail(ctx context.Context, seg pipeline.Segment, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s of %s: %w", what, seg.ID, ctx.Err())
	}
	if !media.IsInputError(err) {
		return fmt.Errorf("%s of %s: %w", what, seg.ID, err)
	}
	reason := fmt.Sprintf("%s failed: %v", what, err)
	if len(reason) > 2000 {
		reason = reason[:2000]
	}
	if merr := p.Catalog.MarkProcessFailed(ctx, seg.ID, reason); merr != nil {
		return fmt.Errorf("%s of %s: %w (and recording the failure: %v)", what, seg.ID, err, merr)
	}
	return fmt.Errorf("%w: %s of %s: %v", ErrPermanent, what, seg.ID, err)
}

// maxReasonBytes bounds the reason kept for a rendition or translation
// that could not be made: room for what to do and a few findings, each
// with its rule, cue and line.
const maxReasonBytes = 1200

// renditionFailed sorts the error of one rendition: the input's fault
// (a *media.InputError) becomes a failure of that rendition alone,
// returned to be recorded; anything else (the store, a timeout, a
// cancelled run) is returned as an error, for River to retry the job.
func (p *Processor) renditionFailed(ctx context.Context, seg pipeline.Segment, lang, what string, err error) (*pipeline.RenditionFailure, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s of %s: %w", what, seg.ID, ctx.Err())
	}
	if !media.IsInputError(err) {
		return nil, fmt.Errorf("%s of %s: %w", what, seg.ID, err)
	}
	p.log().Warn("rendition failed", "segment", seg.ID, "language", lang, "rendition", what, "err", err)
	reason := err.Error()
	if len(reason) > maxReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxReasonBytes], "")
	}
	return &pipeline.RenditionFailure{Language: lang, What: what, Reason: reason}, nil
}

type output struct {
	name, file, path, contentType string
	r                             *media.Rendition
	facts                         []byte
}

// store uploads one output under its fixed key, hashing it on the way.
func (p *Processor) store(ctx context.Context, segmentID, lang string, o output) (pipeline.Rendition, error) {
	f, err := os.Open(o.path)
	if err != nil {
		return pipeline.Rendition{}, fmt.Errorf("store %s: %w", o.name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return pipeline.Rendition{}, fmt.Errorf("store %s: %w", o.name, err)
	}
	h := sha256.New()
	key := renditionKey(segmentID, lang, o.file)
	if _, err := p.Objects.Put(ctx, key, io.TeeReader(f, h), st.Size(), o.contentType); err != nil {
		return pipeline.Rendition{}, fmt.Errorf("store %s of %s: %w", o.name, segmentID, err)
	}
	r := pipeline.Rendition{SegmentID: segmentID, Language: lang, Name: o.name, Key: key, ContentType: o.contentType,
		Size: st.Size(), SHA256: hex.EncodeToString(h.Sum(nil)), Facts: o.facts}
	if o.r != nil {
		if !strings.HasPrefix(o.contentType, "image/") {
			r.DurationMS = o.r.Duration.Milliseconds()
		}
		if r.Facts == nil {
			facts := map[string]any{"format": o.r.FormatName, "bit_rate": o.r.BitRate}
			if o.r.Audio != nil {
				facts["channels"], facts["sample_rate"] = o.r.Audio.Channels, o.r.Audio.SampleRate
			}
			if o.r.Video != nil {
				facts["width"], facts["height"] = o.r.Video.Width, o.r.Video.Height
			}
			r.Facts, _ = json.Marshal(facts)
		}
	}
	return r, nil
}

func (p *Processor) download(ctx context.Context, key, path string) error {
	rc, err := p.Objects.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("download %s: %w", key, err)
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("download %s: %w", key, err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("download %s: %w", key, err)
	}
	return f.Close()
}

// workDir makes this job's private folder, named "<pid>-<random>".
func (p *Processor) workDir() (string, error) {
	base := p.TempDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", fmt.Errorf("work folder: %w", err)
	}
	dir, err := os.MkdirTemp(base, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("work folder: %w", err)
	}
	return dir, nil
}

// CleanTemp removes the work folders of processes that no longer run,
// such as a worker killed in the middle of a job.
func CleanTemp(base string) (int, error) {
	entries, err := os.ReadDir(base)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("clean temp: %w", err)
	}
	n := 0
	for _, e := range entries {
		pidText, _, ok := strings.Cut(e.Name(), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(base, e.Name())); err != nil {
			return n, fmt.Errorf("clean temp: %w", err)
		}
		n++
	}
	return n, nil
}

// removeDir removes a work folder; a failure is only logged by callers'
// deferred cleanup, and CleanTemp catches what is left.
func removeDir(dir string) { _ = os.RemoveAll(dir) }

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func containsLang(langs []string, l string) bool {
	for _, x := range langs {
		if x == l {
			return true
		}
	}
	return false
}

// throttle calls f at most every two seconds (and always for the end), so
// progress does not flood the single database connection.
func throttle(f func(media.Progress)) func(media.Progress) {
	var mu sync.Mutex
	var last time.Time
	return func(pr media.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if pr.Done || time.Since(last) >= 2*time.Second {
			last = time.Now()
			f(pr)
		}
	}
}

// BackgroundNice is the niceness of the ffmpeg work [Processor.Background]
// runs when [New] makes it.
const BackgroundNice = 10

// runnerFor is the Runner of the loudspeaker audio of a segment of TT39
// priority prio: Runner for priority and emergency segments, the
// background one for the rest.
func (p *Processor) runnerFor(prio pipeline.Priority) *media.Runner {
	if prio == pipeline.PriorityEmergency || prio == pipeline.PriorityPriority {
		return p.Runner
	}
	return p.background()
}

// background is the Runner of work no emergency waits for.
func (p *Processor) background() *media.Runner {
	if p.Background != nil {
		return p.Background
	}
	return p.Runner
}

func (p *Processor) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

// processWorker runs ProcessSegmentArgs jobs.
type processWorker struct {
	river.WorkerDefaults[ProcessSegmentArgs]
	p *Processor
}

// Timeout gives processing time in proportion to the segment's length:
// a loudness pass and the encode each read the whole file. A worker that
// dies is noticed by its job's lease (liveness.go), not by this timeout,
// so it can be as long as the segment needs.
func (w *processWorker) Timeout(job *river.Job[ProcessSegmentArgs]) time.Duration {
	return mediaTimeout(job.Args.DurationMS)
}

// mediaTimeout is the time a media job may take for a segment of
// durationMS: 10 minutes plus 4 times its length.
func mediaTimeout(durationMS int64) time.Duration {
	return 10*time.Minute + 4*time.Duration(durationMS)*time.Millisecond
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessSegmentArgs]) error {
	work, err := w.p.process(ctx, job.Args.SegmentID)
	if err == nil {
		recordOutput(ctx, work)
	}
	if errors.Is(err, ErrPermanent) {
		w.p.log().Warn("segment processing failed for good", "segment", job.Args.SegmentID, "err", err)
	}
	err = cancelPermanent(err)
	if err != nil && job.Attempt >= job.MaxAttempts {
		_ = w.p.Catalog.MarkProcessFailed(ctx, job.Args.SegmentID, "processing gave up after "+strconv.Itoa(job.Attempt)+" attempts: "+err.Error())
	}
	return err
}

// InsertOpts sends processing to a media queue, so heavy ffmpeg work does
// not hold up light jobs: a priority or emergency segment's to
// QueueMediaUrgent, whose slot no normal job can hold, the rest to
// QueueMedia. Each queue is ordered by the segment's TT39 priority: River
// hands out priority 1 before 2 before 3 whatever the order they were
// queued in, so an emergency waits for no TV segment at all and for no
// priority segment that has not started yet.
func (a ProcessSegmentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: mediaQueue(a.Priority), MaxAttempts: 5, Priority: queuePriority(a.Priority),
		UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// mediaQueue is the queue of the processing job of a segment of TT39
// priority p.
func mediaQueue(p pipeline.Priority) string {
	if p == pipeline.PriorityEmergency || p == pipeline.PriorityPriority {
		return QueueMediaUrgent
	}
	return QueueMedia
}

// queuePriority maps a TT39 priority to River's (1 is first, 4 last).
func queuePriority(p pipeline.Priority) int {
	switch p {
	case pipeline.PriorityEmergency:
		return 1
	case pipeline.PriorityPriority:
		return 2
	default:
		return 3
	}
}

// renderExtrasWorker runs RenderExtrasArgs jobs.
type renderExtrasWorker struct {
	river.WorkerDefaults[RenderExtrasArgs]
	p *Processor
}

// Timeout gives the renditions time in proportion to the segment's
// length: the preview and the subtitle MP4s each read the whole file.
func (w *renderExtrasWorker) Timeout(job *river.Job[RenderExtrasArgs]) time.Duration {
	return mediaTimeout(job.Args.DurationMS)
}

func (w *renderExtrasWorker) Work(ctx context.Context, job *river.Job[RenderExtrasArgs]) error {
	work, err := w.p.renderExtras(ctx, job.Args.SegmentID, true)
	if err == nil {
		recordOutput(ctx, work)
	}
	if err != nil && job.Attempt >= job.MaxAttempts {
		// The audio airs anyway; say on the segment what is missing and
		// why, and end its renditions step.
		w.p.log().Error("segment renditions gave up", "segment", job.Args.SegmentID, "attempts", job.Attempt, "err", err)
		f := []pipeline.RenditionFailure{{Language: pipeline.LangVietnamese, What: "poster, preview and subtitles",
			Reason: "gave up after " + strconv.Itoa(job.Attempt) + " attempts: " + err.Error()}}
		if rerr := w.p.Catalog.SaveRenditions(ctx, job.Args.SegmentID, nil, func(tx *sql.Tx) error {
			return w.p.Catalog.RecordRenditionFailuresTx(ctx, tx, job.Args.SegmentID, f)
		}); rerr != nil {
			w.p.log().Error("record renditions given up", "segment", job.Args.SegmentID, "err", rerr)
		}
	}
	return err
}

// InsertOpts sends a segment's poster, preview and subtitle renditions to
// the media queue behind every segment's loudspeaker audio (River
// priority 4: after emergency 1, priority 2 and normal 3).
func (a RenderExtrasArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMedia, MaxAttempts: 5, Priority: extrasPriority,
		UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// extrasPriority is the River priority of RenderExtrasArgs jobs.
const extrasPriority = 4

// QueueMedia is the queue of ffmpeg work: normal segments' processing and
// every segment's extras (posters, previews, subtitle renditions).
const QueueMedia = "media"

// QueueMediaUrgent is the queue of priority and emergency segments'
// loudspeaker processing, with slots of its own (Config.UrgentWorkers), so
// a long TV job running in QueueMedia cannot hold an emergency back.
const QueueMediaUrgent = "media_urgent"
