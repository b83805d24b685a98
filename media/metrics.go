package media

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FFmpegMetrics is the loa_ffmpeg_seconds histogram: the wall time of each
// ffmpeg and ffprobe run by step and outcome, as a [Runner] observes them.
// Its Observe method fits [Config.Observe]; it is a prometheus.Collector,
// registered with the HTTP server's /metrics where one runs.
type FFmpegMetrics struct {
	seconds *prometheus.HistogramVec
}

// NewFFmpegMetrics returns an empty loa_ffmpeg_seconds histogram.
func NewFFmpegMetrics() *FFmpegMetrics {
	return &FFmpegMetrics{seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "loa_ffmpeg_seconds",
		Help: "Wall time of ffmpeg and ffprobe runs (not counting the wait for a process slot), by step and outcome (ok, error, cancelled).",
		// From a probe (tens of milliseconds) to a long TV render.
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200},
	}, []string{"step", "outcome"})}
}

// Observe records one run; it is a [Config.Observe].
func (m *FFmpegMetrics) Observe(step string, d time.Duration, err error) {
	m.seconds.WithLabelValues(step, Outcome(err)).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *FFmpegMetrics) Describe(ch chan<- *prometheus.Desc) { m.seconds.Describe(ch) }

// Collect implements prometheus.Collector.
func (m *FFmpegMetrics) Collect(ch chan<- prometheus.Metric) { m.seconds.Collect(ch) }

// Outcome names a run's result for metrics: "ok" for nil, "cancelled"
// when it was cancelled or timed out, "error" otherwise.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "error"
}
