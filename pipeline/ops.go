package pipeline

import "time"

// QueueStat is the River queue's jobs of one kind in one state.
type QueueStat struct {
	Kind   string
	State  string
	Count  int
	Oldest time.Time // the earliest scheduled_at among them
}

// OpsStats are the figures the metrics endpoint shows, read in one go.
type OpsStats struct {
	Queue []QueueStat
	// Jobs counts translation jobs by language and state.
	Jobs map[[2]string]int
	// SilentDevices counts, per commune, devices that sent no play
	// report since the given time.
	SilentDevices map[string]int
	Devices       int
}
