package bulletin

import "time"

// BulletinItem is one segment ready to air in a language: an item of the
// weekly bulletin and its podcast feed.
type BulletinItem struct {
	SegmentID   string    `json:"segment_id"`
	Language    string    `json:"language"`
	Title       string    `json:"title"`
	Topic       string    `json:"topic"`
	Kind        string    `json:"kind"`
	ReadyAt     time.Time `json:"ready_at"`
	AudioKey    string    `json:"-"`
	ContentType string    `json:"content_type"`
	DurationMS  int64     `json:"duration_ms"`
	Size        int64     `json:"size_bytes"`
}
