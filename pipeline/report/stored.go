package report

import "time"

// StoredReport is a report the period-close job stored in the object store.
type StoredReport struct {
	Period      string    `json:"period"`
	Format      string    `json:"format"`
	Key         string    `json:"key"`
	SHA256      string    `json:"sha256"`
	Size        int64     `json:"size_bytes"`
	GeneratedAt time.Time `json:"generated_at"`
}
