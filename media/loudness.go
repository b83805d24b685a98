package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sonla-cchc/loa/pipeline"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrNotLinear means the input cannot be normalized linearly (by one
// gain): its loudness range is over what the target allows, where
// loudnorm would fall back to dynamic (compressing) mode; no output is
// left.
var ErrNotLinear = errors.New("cannot normalize linearly")

// ErrTooQuiet means the input has no audio above loudnorm's gate (silence),
// so it cannot be normalized.
var ErrTooQuiet = errors.New("audio too quiet to normalize")

// LoudnessTarget is an EBU R128 loudness target for [Runner.Normalize].
type LoudnessTarget struct {
	IntegratedLUFS float64 // integrated loudness, LUFS (-70 to -5)
	TruePeakDBTP   float64 // true-peak ceiling, dBTP (-9 to 0)
	LRA            float64 // loudness range allowed, LU (1 to 50); linear mode needs the input's LRA under it
}

// LoudspeakerLoudness is the target for commune loudspeakers: loud and
// clear outdoors, -16 LUFS with a -1.5 dBTP ceiling.
func LoudspeakerLoudness() LoudnessTarget {
	return LoudnessTarget{IntegratedLUFS: -16, TruePeakDBTP: -1.5, LRA: 20}
}

// BroadcastLoudness is the EBU R128 broadcast target: -23 LUFS, -1 dBTP.
func BroadcastLoudness() LoudnessTarget {
	return LoudnessTarget{IntegratedLUFS: -23, TruePeakDBTP: -1, LRA: 20}
}

// check reports an out-of-range target.
func (t LoudnessTarget) check() error {
	if t.IntegratedLUFS < -70 || t.IntegratedLUFS > -5 || t.TruePeakDBTP < -9 || t.TruePeakDBTP > 0 || t.LRA < 1 || t.LRA > 50 {
		return fmt.Errorf("loudness target %+v out of range (I -70..-5 LUFS, TP -9..0 dBTP, LRA 1..50 LU)", t)
	}
	return nil
}

// Loudness is what two-pass normalization measured.
type Loudness struct {
	InputI    float64 // integrated loudness of the input, LUFS
	InputTP   float64 // true peak of the input, dBTP
	InputLRA  float64 // loudness range of the input, LU
	OutputI   float64 // integrated loudness of the (first) written file, LUFS, measured from it
	OutputTP  float64 // true peak of the (first) written file, dBTP, measured from it
	OutputLRA float64 // loudness range of the output, LU
	GainDB    float64 // total gain applied
	Limited   bool    // a peak limiter ran before the gain: the target was not reachable under the ceiling by gain alone
}

// loudnormStats is loudnorm's print_format=json block.
type loudnormStats struct {
	InputI, InputTP, InputLRA, InputThresh float64
	OutputI, OutputTP, OutputLRA           float64
	NormalizationType                      string
	TargetOffset                           float64
}

// loudnormCollector picks loudnorm's JSON block out of ffmpeg's stderr.
type loudnormCollector struct {
	// marker is what the line before the block contains: the filter's
	// log name ("Parsed_loudnorm" unless the filter is named).
	marker string
	in     bool
	lines  []string
	done   bool
}

// line is a Job.Stderr callback.
func (c *loudnormCollector) line(l string) {
	marker := c.marker
	if marker == "" {
		marker = "Parsed_loudnorm"
	}
	switch {
	case c.done:
	case strings.Contains(l, marker):
		c.in, c.lines = true, c.lines[:0]
	case c.in:
		c.lines = append(c.lines, l)
		if strings.TrimSpace(l) == "}" {
			c.in, c.done = false, true
		}
	}
}

// stats decodes the collected block.
func (c *loudnormCollector) stats() (loudnormStats, error) {
	if !c.done {
		return loudnormStats{}, errors.New("loudnorm printed no JSON statistics")
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(strings.Join(c.lines, "\n")), &raw); err != nil {
		return loudnormStats{}, fmt.Errorf("decode loudnorm JSON: %w", err)
	}
	num := func(k string) float64 {
		f, err := strconv.ParseFloat(strings.TrimSpace(raw[k]), 64)
		if err != nil || math.IsNaN(f) {
			return math.Inf(-1)
		}
		return f
	}
	return loudnormStats{
		InputI: num("input_i"), InputTP: num("input_tp"), InputLRA: num("input_lra"), InputThresh: num("input_thresh"),
		OutputI: num("output_i"), OutputTP: num("output_tp"), OutputLRA: num("output_lra"),
		NormalizationType: raw["normalization_type"], TargetOffset: num("target_offset"),
	}, nil
}

// LoudnessMeasurement is the domain's [pipeline.LoudnessMeasurement]:
// the EBU R128 analysis of the mono downmix ([MonoDownmix]) that the
// upload scan ([ScanAudio]) makes and processing reuses
// ([LoudspeakerOptions.Measured]).
type LoudnessMeasurement = pipeline.LoudnessMeasurement

// measurement returns the input side of first-pass statistics.
func (s loudnormStats) measurement() LoudnessMeasurement {
	return LoudnessMeasurement{IntegratedLUFS: s.InputI, TruePeakDBTP: s.InputTP, LRA: s.InputLRA,
		ThresholdLUFS: s.InputThresh, TargetOffsetLU: s.TargetOffset}
}

// statsOf is a measurement as loudnorm's first-pass statistics.
func statsOf(m LoudnessMeasurement) loudnormStats {
	return loudnormStats{InputI: m.IntegratedLUFS, InputTP: m.TruePeakDBTP, InputLRA: m.LRA,
		InputThresh: m.ThresholdLUFS, TargetOffset: m.TargetOffsetLU}
}

// ebur128Measure is the filter every measuring pass ends with: ffmpeg's
// EBU R128 meter (integrated loudness, its gate, loudness range and the
// true peak, 4× oversampled to 192 kHz), which works at 48 kHz. It
// measures the BS.1770 figures loudnorm's first pass prints for about a
// quarter of the CPU: loudnorm resamples the whole signal to 192 kHz and
// runs its dynamic normalizer over it there, for a prediction linear mode
// does not use. framelog=verbose keeps the per-100-ms lines out of the
// info log.
const ebur128Measure = "ebur128=peak=true:framelog=verbose"

// ff formats a generated number for a filter graph.
func ff(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// normPlan is the pass-2 filter chain decided from measurements.
type normPlan struct {
	chain    string        // complete filter chain (pre-processing, limiter, gain), generated numbers only
	input    loudnormStats // the input's measurement
	measured loudnormStats // what the gain is applied to: the limited signal's measurement when limited, else the input's
	gainDB   float64
	limited  bool
	// outputTP is the true peak of the signal the encoders get (dBTP):
	// the measured one moved by the gain.
	outputTP float64
}

// Limiter headroom below the true-peak ceiling, for inter-sample peaks.
const limiterHeadroomDB = 0.5

// limiterRate is the sample rate of the limited signal (Hz), pinned on
// both sides of the limiter so that the signal measured is the one pass 2
// encodes: unpinned, ffmpeg's format negotiation runs the limiter at the
// rate of the filter after it (the measuring filter's rate when
// measuring, and in pass 2 the input's). The limited signals then
// differed by 0.5 LU and 3.5 dB of true peak on inputs with inter-sample
// peaks.
const limiterRate = 48000

// limiterOversample is how many times limiterRate the limiter itself runs
// at. alimiter limits samples; at 48 kHz the peaks between them passed
// its limit by 0.45 dB on 10 minutes of AAC-coded speech (a TV clip's
// sound), more than limiterCrestMarginDB allows for, so the first
// pre-gain fell short and the limited signal was measured again. At twice
// the rate the samples show those peaks (the overs left are 0.1 dB, as
// on WAV and MP3 speech), for about a third more limiter time.
const limiterOversample = 2

// limiterChain is the limiter stage: the signal taken to the limiter's
// rate, raised by gainDB into alimiter limiting at limitDB (dBFS), and
// brought back to limiterRate.
func limiterChain(gainDB, limitDB float64) string {
	return fmt.Sprintf("aresample=%d,volume=%sdB,alimiter=limit=%s:level=false:latency=true,aresample=%d,aformat=sample_rates=%[4]d",
		limiterRate*limiterOversample, ff(gainDB), strconv.FormatFloat(math.Pow(10, limitDB/20), 'f', 4, 64), limiterRate)
}

// limiterShortLU is how far under the target (LU) the loudness linear
// loudnorm can reach from the limited signal may stay; further short, the
// pre-gain is raised and the limited signal measured again.
const limiterShortLU = 0.3

// limiterAimLU is how far past limiterShortLU a refinement aims (LU).
const limiterAimLU = 0.15

// limiterCrestPerDB is how much a peak limiter lowers a signal's crest
// factor (true peak over integrated loudness, dB) per dB it is driven
// past its limit, at least, in the range loudspeaker inputs need: about
// 0.7 for the first dB or so on speech and music, falling to 0.6 at 11 dB
// (espeak-ng speech, plucked chords). The first pre-gain is chosen with
// it, so that one measurement of the limited signal usually does.
const limiterCrestPerDB = 0.6

// limiterCrestMarginDB is how far under what the target allows the first
// pre-gain aims the limited signal's crest factor (dB): the aim past the
// target (limiterAimLU) plus what the limiter's output peaks exceed its
// limit by between samples: 0.1 dB on speech from WAV or MP3. AAC-coded
// speech exceeds it by 0.45 dB, and those overs grow as the limiter is
// driven harder; it may take a second measurement.
const limiterCrestMarginDB = limiterAimLU + 0.1

// planNormalize runs the measuring pass(es) and returns the pass-2 chain. pre
// is a fixed chain run before everything (e.g. a mono downmix), or "".
// known, when not nil, is a measurement of input after pre made before (at
// upload): the first measuring pass is skipped. Only when gain alone would
// pass the true-peak ceiling is the limited signal measured again
// ([Runner.measureLimited]), once unless limiting takes more than
// limiterCrestPerDB predicts.
func (r *Runner) planNormalize(ctx context.Context, input, pre string, t LoudnessTarget, known *LoudnessMeasurement) (normPlan, error) {
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, ",")
	}
	var (
		first loudnormStats
		err   error
	)
	if known != nil && known.Valid() {
		first = statsOf(*known)
	} else if first, err = r.measure(ctx, input, pre); err != nil {
		return normPlan{}, err
	}
	if math.IsInf(first.InputI, -1) || first.InputI <= -70 || first.InputThresh <= -70 {
		return normPlan{}, inputError(fmt.Errorf("%w: integrated loudness %s LUFS", ErrTooQuiet, ff(first.InputI)))
	}
	plan := normPlan{input: first}
	measured, lim := first, ""
	gain := t.IntegratedLUFS - first.InputI
	limitDB := t.TruePeakDBTP - limiterHeadroomDB
	if first.InputTP+gain > t.TruePeakDBTP {
		// Gain alone would push peaks over the ceiling: raise the level
		// into a limiter, measure the limited signal, and let loudnorm
		// finish linearly. The limited signal's peaks sit at the limit, so
		// what loudnorm can reach is set by its crest factor; drive the
		// limiter as far past its limit as lowers the crest factor to what
		// the target allows, at the least reduction per dB driven
		// (limiterCrestPerDB). Too far only limits a little more than
		// needed: loudnorm then turns down, linearly.
		crest := first.InputTP - first.InputI
		allowed := t.TruePeakDBTP - t.IntegratedLUFS - limiterCrestMarginDB
		drive := (crest - allowed) / limiterCrestPerDB
		gain = max(gain, limitDB-first.InputTP+drive)
	}
	// Refine the pre-gain when limiting ate too much loudness. The
	// loudness reached grows slower than the pre-gain, and ever slower the
	// harder the limiter is driven, so each step follows the slope between
	// the last two points. The first step has one measured point only; the
	// other is the gain at which the peaks just touch the limiter (nothing
	// taken yet), and the slope at the measured point is taken as half of
	// the slope between them: on speech the curve bends that much.
	prevGain := limitDB - first.InputTP
	prevReach := first.InputI + prevGain + limiterHeadroomDB - 0.05
	for attempt := 0; first.InputTP+gain > t.TruePeakDBTP && attempt < 3; attempt++ {
		plan.limited = true
		lim = limiterChain(gain, limitDB)
		measured, err = r.measureLimited(ctx, input, join(pre, lim))
		if err != nil {
			return normPlan{}, err
		}
		reach := linearReach(measured, t)
		short := t.IntegratedLUFS - reach
		if short < limiterShortLU {
			break
		}
		slope := 1.0
		if gain-prevGain > 0.5 {
			slope = (reach - prevReach) / (gain - prevGain)
			if attempt == 0 {
				slope /= 2
			}
			slope = min(1, max(0.25, slope))
		}
		prevGain, prevReach = gain, reach
		// Aim a little past the tolerance: landing just short of it costs
		// another pass over the file.
		gain += (short + limiterAimLU) / slope
	}
	effective := linearReach(measured, t)
	plan.gainDB = effective - first.InputI
	plan.measured = measured
	// Linear normalization is one gain: what loudnorm's second pass does
	// in linear mode, which also meters its input and output (a third of
	// the encoding pass's CPU, for figures the check of the written files
	// measures anyway: checkOutputs).
	post := effective - measured.InputI
	plan.chain = join(pre, lim, "volume="+ff(post)+"dB")
	// The gain moves the (measured) true peak with it.
	plan.outputTP = measured.InputTP + post
	return plan, nil
}

// linearReach is the loudest integrated level loudnorm can reach linearly
// from measured without passing the true-peak ceiling: the target, or less.
func linearReach(m loudnormStats, t LoudnessTarget) float64 {
	return min(t.IntegratedLUFS, m.InputI+(t.TruePeakDBTP-m.InputTP)-0.05)
}

// measure measures the first audio stream after the chain pre ("" for
// none) with the ebur128 filter (step "loudness_measure"), as the upload
// scan does. An input with nothing above the gate measures -inf.
func (r *Runner) measure(ctx context.Context, input, pre string) (loudnormStats, error) {
	chain := ebur128Measure
	if pre != "" {
		chain = pre + "," + chain
	}
	s, err := r.ebur128Pass(ctx, "loudness_measure", input, chain)
	if errors.Is(err, errNothingGated) {
		return loudnormStats{InputI: math.Inf(-1), InputTP: math.Inf(-1), InputThresh: math.Inf(-1)}, nil
	}
	if err != nil {
		return loudnormStats{}, fmt.Errorf("measure loudness: %w", err)
	}
	return s, nil
}

// measureLimited measures the limited signal chain makes of the first
// audio stream with the ebur128 filter (step "limit_measure"): integrated
// loudness, its gating threshold, the loudness range and the true peak
// (4× oversampled), at the limiter's rate, which a loudnorm pass would
// first resample to 192 kHz.
func (r *Runner) measureLimited(ctx context.Context, input, chain string) (loudnormStats, error) {
	s, err := r.ebur128Pass(ctx, "limit_measure", input, chain+","+ebur128Measure)
	if err != nil {
		return loudnormStats{}, fmt.Errorf("measure limited loudness: %w", err)
	}
	return s, nil
}

// ebur128Pass runs chain (ending with an ebur128 filter that reports a
// peak) over the first audio stream, observed as step, and returns the
// filter's summary as first-pass statistics. The logged peak is rounded
// to 0.1 dB, so half of that is added. The error wraps errNothingGated
// when no audio was above the gate.
func (r *Runner) ebur128Pass(ctx context.Context, step, input, chain string) (loudnormStats, error) {
	in, err := inputArgs(input)
	if err != nil {
		return loudnormStats{}, err
	}
	c := ebur128Collector{peak: true}
	args := append(in, "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", chain, "-f", "null", "-")
	if err := r.Run(ctx, Job{Step: step, Args: args, LogLevel: "info", Stderr: c.line}); err != nil {
		return loudnormStats{}, err
	}
	sum, err := c.summary()
	if err != nil {
		return loudnormStats{}, err
	}
	return sum.stats(), nil
}

// NormalizeOptions configures [Runner.Normalize].
type NormalizeOptions struct {
	Target     LoudnessTarget // zero value: BroadcastLoudness()
	SampleRate int            // output sample rate; default 48000 (loudnorm itself works at 192 kHz)
	Mono       bool           // downmix to mono before measuring and normalizing
	Progress   func(Progress) // optional, for the final pass
}

// Normalize writes the first audio stream of input to output (a local path;
// the codec follows its extension, e.g. .wav, .flac, .m4a) normalized to
// opt.Target by two-pass EBU R128 normalization in linear mode (one gain
// from the measurement). When gain alone would exceed the true-peak
// ceiling, a peak limiter runs before the gain. The written file is
// measured, and re-limited when over the ceiling (checkOutputs). The
// output is removed on any error, including [ErrNotLinear].
func (r *Runner) Normalize(ctx context.Context, input, output string, opt NormalizeOptions) (Loudness, error) {
	name := displayName(input)
	if opt.Target == (LoudnessTarget{}) {
		opt.Target = BroadcastLoudness()
	}
	if opt.SampleRate <= 0 {
		opt.SampleRate = 48000
	}
	pre := ""
	if opt.Mono {
		pre = MonoDownmix
	}
	outs := []encodeOutput{{path: output, label: "out", args: []string{"-map_metadata", "-1", "-ar", strconv.Itoa(opt.SampleRate)}}}
	l, _, err := r.normalizeTo(ctx, "normalize", input, pre, opt.Target, opt.Target.TruePeakDBTP, nil, opt.Progress, outs)
	if err != nil {
		return Loudness{}, fmt.Errorf("normalize %s: %w", name, err)
	}
	return l, nil
}

// encodeOutput is one file a normalizing pass writes.
type encodeOutput struct {
	path  string   // local file
	label string   // the graph's name for its stream ("mp3", "opus"); letters only
	args  []string // encoder and muxer arguments, before the file name
	// underDB, when over 0, gives this file its own peak limiter after the
	// shared chain, limiting at the plan's true-peak ceiling lowered by
	// underDB (dB): for an encoder that overshoots its input's peaks by
	// more than the others (Opus), so that its file lands under the
	// ceiling without lowering the others'.
	underDB float64
}

// encodeArgs is the output side of a pass that writes outs from the
// first audio stream through plan's chain (split when there are
// several), under the true-peak ceiling plan was made for (dBTP).
func encodeArgs(plan normPlan, ceiling float64, outs []encodeOutput) []string {
	graph := "[0:a:0]" + plan.chain
	if len(outs) == 1 {
		graph += ownLimiter(plan, ceiling, outs[0]) + "[" + outs[0].label + "]"
	} else {
		graph += fmt.Sprintf(",asplit=%d", len(outs))
		for _, o := range outs {
			graph += "[" + o.label + "_in]"
		}
		for _, o := range outs {
			own := strings.TrimPrefix(ownLimiter(plan, ceiling, o), ",")
			if own == "" {
				own = "anull"
			}
			graph += ";[" + o.label + "_in]" + own + "[" + o.label + "]"
		}
	}
	args := []string{"-filter_complex", graph}
	for _, o := range outs {
		args = append(append(append(args, "-map", "["+o.label+"]"), o.args...), fileOutput(o.path))
	}
	return args
}

// ownLimiterGainDB is the gain (dB) into an output's own limiter
// (encodeOutput.underDB): driving it this much harder puts back part of
// the loudness the further limiting takes (on ordinary espeak-ng speech
// limited 0.4 to 1 dB further, Opus at -16.5 to -16.9 LUFS instead of
// -16.6 to -17.1) at the same peaks.
const ownLimiterGainDB = 0.5

// ownLimiter is the filters (",..." or "") that limit o's stream alone
// (encodeOutput.underDB) at ceiling lowered by o.underDB: none when
// plan's signal already peaks under that. The limiter runs oversampled,
// as the shared one does (limiterChain).
func ownLimiter(plan normPlan, ceiling float64, o encodeOutput) string {
	limit := ceiling - o.underDB
	if o.underDB <= 0 || plan.outputTP <= limit {
		return ""
	}
	return "," + limiterChain(ownLimiterGainDB, limit)
}

// OutputLevel is a written file's loudness, measured from the file itself
// by the ebur128 filter (at 48 kHz, true peak 4× oversampled).
type OutputLevel struct {
	IntegratedLUFS float64 `json:"integrated_lufs"` // LUFS
	TruePeakDBTP   float64 `json:"true_peak_dbtp"`  // dBTP, the logged 0.1 dB figure plus its rounding
	LRA            float64 `json:"lra_lu"`          // LU
}

// relimitMarginDB is how far under the ceiling a re-limit aims the
// encoded file's true peak (dB).
const relimitMarginDB = 0.3

// relimitAttempts is how many times an encoded file over the ceiling is
// re-limited and encoded again before the rendition fails.
const relimitAttempts = 2

// normalizeTo plans the normalization to t (from known, when not nil; see
// planNormalize), runs pass 2 (observed as step) writing outs, and
// measures what was written (step "loudness_check", one run for all
// files). A lossy encoder's output may peak higher than its input: a
// file whose true peak passes ceiling is planned again under t's ceiling
// lowered by the excess and relimitMarginDB (and by its own limiter's
// distance, encodeOutput.underDB, which it is then encoded without; a
// limit_measure pass, as limiting takes loudness), encoded again alone
// (step step+"_relimit")
// and measured again, up to relimitAttempts times. It returns the loudness (the output figures of
// outs[0]) and each file's measured level, in the order of outs. On any
// error every output is removed.
func (r *Runner) normalizeTo(ctx context.Context, step, input, pre string, t LoudnessTarget, ceiling float64, known *LoudnessMeasurement,
	progress func(Progress), outs []encodeOutput) (Loudness, []OutputLevel, error) {
	if err := t.check(); err != nil {
		return Loudness{}, nil, err
	}
	info, err := r.Probe(ctx, input)
	if err != nil {
		return Loudness{}, nil, err
	}
	if info.Audio == nil {
		return Loudness{}, nil, inputError(ErrNoAudio)
	}
	plan, err := r.planNormalize(ctx, input, pre, t, known)
	if errors.Is(err, ErrTooQuiet) && pre == MonoDownmix && info.Audio.Channels > 1 {
		// Say why, when the channels are loud and only their mix is not:
		// the producer can fix that (see Validate, which refuses it at
		// upload).
		if scan, serr := r.ScanAudio(ctx, input); serr == nil && scan.ChannelsCancel(DefaultLimits().SilenceMaxDB) {
			err = inputError(fmt.Errorf("%s: %w", ChannelsCancelReason, err))
		}
	}
	if err != nil {
		return Loudness{}, nil, err
	}
	// Linear normalization keeps the loudness range; loudnorm refuses it
	// (and compresses) past the range the target allows.
	if plan.measured.InputLRA > t.LRA {
		return Loudness{}, nil, inputError(fmt.Errorf("%w: loudness range %s LU over the %s LU allowed", ErrNotLinear, ff(plan.measured.InputLRA), ff(t.LRA)))
	}
	in, err := inputArgs(input)
	if err != nil {
		return Loudness{}, nil, err
	}
	paths := make([]string, len(outs))
	for i, o := range outs {
		paths[i] = o.path
	}
	fail := func(err error) (Loudness, []OutputLevel, error) {
		removeAll(paths)
		return Loudness{}, nil, err
	}
	job := Job{Step: step, Args: append(in, encodeArgs(plan, t.TruePeakDBTP, outs)...), Outputs: paths, Duration: info.Duration, Progress: progress}
	if err := r.Run(ctx, job); err != nil {
		return fail(fmt.Errorf("apply loudness: %w", err))
	}
	levels, err := r.checkOutputs(ctx, outs)
	if err != nil {
		return fail(err)
	}
	for i, o := range outs {
		// An output with its own limiter is planned again without it,
		// under a ceiling lowered by its own limiter's distance as well:
		// two limiters in a row took more loudness (Opus at -17.3 LUFS).
		lowered, alone := o.underDB, o
		alone.underDB = 0
		for attempt := 0; levels[i].TruePeakDBTP > ceiling; attempt++ {
			if attempt == relimitAttempts {
				return fail(inputError(fmt.Errorf("%s: true peak %s dBTP over the %s dBTP ceiling after %d re-limits",
					filepath.Base(o.path), ff(levels[i].TruePeakDBTP), ff(ceiling), relimitAttempts)))
			}
			// The encoder overshoots this signal by more than the
			// headroom: plan again under a ceiling lowered by the excess,
			// which drives the limiter harder at the same loudness.
			lowered += levels[i].TruePeakDBTP - ceiling + relimitMarginDB
			lower := t
			lower.TruePeakDBTP = max(-9, t.TruePeakDBTP-lowered)
			measured := plan.input.measurement()
			again, err := r.planNormalize(ctx, input, pre, lower, &measured)
			if err != nil {
				return fail(fmt.Errorf("re-limit %s: %w", filepath.Base(o.path), err))
			}
			job := Job{Step: step + "_relimit", Args: append(in, encodeArgs(again, lower.TruePeakDBTP, []encodeOutput{alone})...), Outputs: []string{o.path}, Duration: info.Duration}
			if err := r.Run(ctx, job); err != nil {
				return fail(fmt.Errorf("re-limit %s: %w", filepath.Base(o.path), err))
			}
			level, err := r.checkOutputs(ctx, []encodeOutput{o})
			if err != nil {
				return fail(err)
			}
			levels[i] = level[0]
		}
	}
	return Loudness{
		InputI: plan.input.InputI, InputTP: plan.input.InputTP, InputLRA: plan.input.InputLRA,
		OutputI: levels[0].IntegratedLUFS, OutputTP: levels[0].TruePeakDBTP, OutputLRA: levels[0].LRA,
		GainDB: plan.gainDB, Limited: plan.limited,
	}, levels, nil
}

// checkOutputs measures each written file of outs with the ebur128 filter
// (true peak), all in one ffmpeg run (step "loudness_check"): a decode of
// the encoded files, which costs about a quarter of encoding them.
func (r *Runner) checkOutputs(ctx context.Context, outs []encodeOutput) ([]OutputLevel, error) {
	var (
		args  []string
		graph []string
		maps  []string
	)
	cols := make([]*ebur128Collector, len(outs))
	for i, o := range outs {
		in, err := inputArgs(o.path)
		if err != nil {
			return nil, err
		}
		args = append(args, in...)
		graph = append(graph, fmt.Sprintf("[%d:a:0]ebur128@%s=%s[%[2]s]", i, o.label, strings.TrimPrefix(ebur128Measure, "ebur128=")))
		maps = append(maps, "-map", "["+o.label+"]", "-f", "null", "-")
		cols[i] = &ebur128Collector{peak: true, name: o.label}
	}
	args = append(append(args, "-filter_complex", strings.Join(graph, ";")), maps...)
	line := func(l string) {
		for _, c := range cols {
			c.line(l)
		}
	}
	if err := r.Run(ctx, Job{Step: "loudness_check", Args: args, LogLevel: "info", Stderr: line}); err != nil {
		return nil, fmt.Errorf("check written loudness: %w", err)
	}
	levels := make([]OutputLevel, len(outs))
	for i, c := range cols {
		sum, err := c.summary()
		if err != nil {
			return nil, fmt.Errorf("check written loudness of %s: %w", filepath.Base(outs[i].path), err)
		}
		levels[i] = OutputLevel{IntegratedLUFS: sum.I, TruePeakDBTP: sum.Peak + ebur128PeakRounding, LRA: sum.LRA}
	}
	return levels, nil
}
