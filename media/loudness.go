package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sonla-cchc/loa/pipeline"
	"math"
	"strconv"
	"strings"
)

// ErrNotLinear means loudnorm fell back to dynamic (compressing) mode in the
// second pass although linear mode was asked for; the output is removed.
var ErrNotLinear = errors.New("loudnorm did not normalize linearly")

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
	OutputI   float64 // integrated loudness of the output, LUFS (loudnorm's pass-2 measurement)
	OutputTP  float64 // true peak of the output, dBTP (when Limited: the limited signal's measured true peak moved by loudnorm's gain)
	OutputLRA float64 // loudness range of the output, LU
	GainDB    float64 // total gain applied
	Limited   bool    // a peak limiter ran before loudnorm: the target was not reachable under the ceiling by gain alone
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
	chain   string // complete filter chain (pre-processing + loudnorm), generated numbers only
	input   loudnormStats
	gainDB  float64
	limited bool
	// outputTP is the output's true peak when limited (dBTP), as
	// predicted from the limited signal's measurement.
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
// sound) and by 0.85 dB on bursts near a quarter of the sample rate, far
// more than limiterCrestMarginDB allows for, so the first pre-gain fell
// short and the limited signal was measured again. At twice the rate the
// samples show those peaks (the overs left are 0.1 dB), for about a third
// more limiter time.
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
	plan.chain = join(pre, lim, fmt.Sprintf(
		"loudnorm=I=%s:TP=%s:LRA=%s:measured_I=%s:measured_TP=%s:measured_LRA=%s:measured_thresh=%s:offset=%s:linear=true:print_format=json",
		ff(effective), ff(t.TruePeakDBTP), ff(t.LRA),
		ff(measured.InputI), ff(measured.InputTP), ff(max(measured.InputLRA, 0.1)), ff(measured.InputThresh), ff(measured.TargetOffset)))
	if plan.limited {
		// In linear mode loudnorm works at its input's rate and reports
		// the sample peak; the output's true peak is the limited signal's
		// (measured) moved by loudnorm's gain.
		plan.outputTP = measured.InputTP + effective - measured.InputI
	}
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
// opt.Target by two-pass EBU R128 loudnorm in linear mode. When gain alone
// would exceed the true-peak ceiling, a peak limiter runs before loudnorm.
// The output is removed on any error, including [ErrNotLinear].
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
	l, err := r.normalizeTo(ctx, "normalize", input, pre, opt.Target, nil, opt.Progress, func(chain string) ([]string, []string) {
		return []string{"-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-af", chain,
			"-ar", strconv.Itoa(opt.SampleRate), fileOutput(output)}, []string{output}
	})
	if err != nil {
		return Loudness{}, fmt.Errorf("normalize %s: %w", name, err)
	}
	return l, nil
}

// normalizeTo plans the normalization (from known, when not nil; see
// planNormalize) and runs pass 2 (observed as step) with the output
// arguments outArgs builds from the final filter chain.
func (r *Runner) normalizeTo(ctx context.Context, step, input, pre string, t LoudnessTarget, known *LoudnessMeasurement, progress func(Progress),
	outArgs func(chain string) (args, outputs []string)) (Loudness, error) {
	if err := t.check(); err != nil {
		return Loudness{}, err
	}
	info, err := r.Probe(ctx, input)
	if err != nil {
		return Loudness{}, err
	}
	if info.Audio == nil {
		return Loudness{}, inputError(ErrNoAudio)
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
		return Loudness{}, err
	}
	in, err := inputArgs(input)
	if err != nil {
		return Loudness{}, err
	}
	out, outputs := outArgs(plan.chain)
	var c loudnormCollector
	job := Job{Step: step, Args: append(in, out...), LogLevel: "info", Stderr: c.line, Outputs: outputs,
		Duration: info.Duration, Progress: progress}
	if err := r.Run(ctx, job); err != nil {
		return Loudness{}, fmt.Errorf("apply loudness: %w", err)
	}
	s, err := c.stats()
	if err == nil && s.NormalizationType != "linear" {
		err = inputError(fmt.Errorf("%w: normalization_type %q", ErrNotLinear, s.NormalizationType))
	}
	if err != nil {
		removeAll(outputs)
		return Loudness{}, fmt.Errorf("apply loudness: %w", err)
	}
	if plan.limited {
		s.OutputTP = max(s.OutputTP, plan.outputTP)
	}
	return Loudness{
		InputI: plan.input.InputI, InputTP: plan.input.InputTP, InputLRA: plan.input.InputLRA,
		OutputI: s.OutputI, OutputTP: s.OutputTP, OutputLRA: s.OutputLRA,
		GainDB: plan.gainDB, Limited: plan.limited,
	}, nil
}
