package pipeline

import "math"

// LoudnessMeasurement is the EBU R128 analysis of the mono downmix
// loudspeakers play (media.MonoDownmix of the first audio stream): what the
// second, linear loudnorm pass needs (measured by ffmpeg's ebur128 filter;
// rows stored before that hold loudnorm's own first pass, the same figures). The upload scan (media.ScanAudio) makes
// it in the decode that validates the upload, so processing can go
// straight to the encode (media.LoudspeakerOptions.Measured).
type LoudnessMeasurement struct {
	IntegratedLUFS float64 `json:"integrated_lufs"`  // EBU R128 integrated loudness, LUFS
	TruePeakDBTP   float64 `json:"true_peak_dbtp"`   // true peak, dBTP
	LRA            float64 `json:"lra_lu"`           // loudness range, LU
	ThresholdLUFS  float64 `json:"threshold_lufs"`   // relative gate threshold, LUFS
	TargetOffsetLU float64 `json:"target_offset_lu"` // loudnorm's target offset for the loudspeaker target, LU; 0 from the ebur128 filter (linear mode does not use it)
}

// Valid reports whether every value is a finite number loudnorm can be
// given (a silent input measures -inf).
func (m LoudnessMeasurement) Valid() bool {
	for _, f := range []float64{m.IntegratedLUFS, m.TruePeakDBTP, m.LRA, m.ThresholdLUFS, m.TargetOffsetLU} {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
