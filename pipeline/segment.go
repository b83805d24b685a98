package pipeline

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// Kind says whether a segment is radio (audio only) or TV (video with audio).
type Kind string

// The segment kinds.
const (
	KindRadio Kind = "radio"
	KindTV    Kind = "tv"
)

// Priority is a bulletin priority as defined by Thông tư 39/2020/TT-BTTTT.
type Priority string

// The three priorities of Thông tư 39/2020.
const (
	PriorityNormal    Priority = "normal"    // the commune chooses whether and when
	PriorityPriority  Priority = "priority"  // played first within the programme
	PriorityEmergency Priority = "emergency" // played immediately: disaster, fire, epidemic
)

// State is where a segment is in the pipeline.
type State string

// Segment states.
const (
	// StateProbed: the original is stored and checked; processing follows.
	StateProbed State = "probed"
	// StateProcessed: loudness-normalized renditions exist; the Vietnamese
	// variant is ready to air and translation can start.
	StateProcessed State = "processed"
	// StateFailed: processing gave up; ProcessError says why.
	StateFailed State = "failed"
	// StateWithdrawn: the producer or an admin took the segment back.
	StateWithdrawn State = "withdrawn"
)

// Languages Loa works in (ISO 639 codes).
const (
	LangVietnamese = "vi"
	LangThai       = "blt" // Tai Dam, Tai Viet script or Latin
	LangHmong      = "hnj" // Hmong Njua (Mông Lềnh), Latin script
)

// KnownLanguages lists the languages a segment may target, in display order.
var KnownLanguages = []string{LangVietnamese, LangThai, LangHmong}

// Topic is a content topic from §II.1 of the province's 2025 CCHC
// communication plan.
type Topic struct {
	Code   string // stable ASCII code used in the API
	Letter string // the plan's item letter
	Name   string // the plan's wording, shortened
}

// Topics are the plan's content topics (§II.1 a–k).
var Topics = []Topic{
	{"importance", "a", "Tầm quan trọng, ý nghĩa, mục tiêu của công tác CCHC"},
	{"indices", "b", "Các chỉ số PAR INDEX, SIPAS, PAPI, PCI, DTI, POBI"},
	{"programme", "c", "Chương trình tổng thể CCHC 2021–2030, kế hoạch CCHC của tỉnh"},
	{"procedures", "d", "Cải cách TTHC, một cửa, một cửa liên thông, dịch vụ công trực tuyến, bưu chính công ích"},
	{"apparatus", "đ", "Tổ chức bộ máy hành chính, cải cách công vụ, công chức"},
	{"budget", "e", "Quản lý, điều hành ngân sách, tự chủ tài chính"},
	{"digital", "g", "Chính phủ điện tử, chính quyền số, chuyển đổi số, Đề án 06"},
	{"good-practice", "h", "Cách làm hay, gương điển hình, ý kiến của người dân và doanh nghiệp"},
	{"bulletin", "i", "Bản tin điện tử CCHC"},
	{"portal", "k", "Tin, bài CCHC trên Cổng thông tin điện tử của tỉnh"},
}

// TopicByCode returns the topic with the given code.
func TopicByCode(code string) (Topic, bool) {
	for _, t := range Topics {
		if t.Code == code {
			return t, true
		}
	}
	return Topic{}, false
}

// Segment is one radio or TV item uploaded by a producer.
type Segment struct {
	ID           string     `json:"id"`
	SHA256       string     `json:"sha256"`
	Title        string     `json:"title"`
	Kind         Kind       `json:"kind"`
	Topic        string     `json:"topic"`
	Priority     Priority   `json:"priority"`
	AirFrom      time.Time  `json:"air_from"`
	AirUntil     time.Time  `json:"air_until"`
	Languages    []string   `json:"languages"`
	State        State      `json:"state"`
	ProducerID   int64      `json:"producer_id"`
	Producer     string     `json:"producer"`
	OriginalKey  string     `json:"original_key"`
	OriginalName string     `json:"original_name"`
	ContentType  string     `json:"content_type"`
	Size         int64      `json:"size_bytes"`
	Probe        ProbeFacts `json:"probe"`
	SubtitleKey  string     `json:"subtitle_key,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	WithdrawnAt  *time.Time `json:"withdrawn_at,omitempty"`
	// ProcessError says why processing failed (StateFailed) or, for a
	// processed segment, which renditions could not be made while its
	// loudspeaker audio airs (see RenditionFailureSummary).
	ProcessError string `json:"process_error,omitempty"`
	// ProcessStep and Progress say what processing is doing now and how
	// far it is (0–1), for producers watching the segment; for a failed
	// segment, the step that failed; for a processed one, StepRenditions
	// while its poster, preview and subtitle renditions are still being
	// made (its audio airs meanwhile), else "".
	ProcessStep string  `json:"process_step,omitempty"`
	Progress    float64 `json:"progress"`
	// Loudness is what the upload scan measured of the mono downmix, for
	// the loudspeaker rendition; nil when not measured (an upload from
	// before it was, or one too quiet to measure).
	Loudness *LoudnessMeasurement `json:"loudness,omitempty"`
	// EmergencyRequested is true while a wide emergency asked for on
	// this segment waits for an administrator's confirmation.
	EmergencyRequested bool `json:"emergency_requested,omitempty"`
	// EmergencyRequestExpired is true when that request's end time has
	// passed (by the store's clock): it can no longer be confirmed, only
	// cancelled or asked for again.
	EmergencyRequestExpired bool `json:"emergency_request_expired,omitempty"`
}

// StepRenditions is the ProcessStep of a processed segment (ready to air)
// whose poster, preview and subtitle renditions are still being made.
const StepRenditions = "renditions"

// RenditionFailure is one rendition processing could not make because of
// its input (a subtitle burn, a preview): the others, and above all the
// loudspeaker audio, are made and air without it.
type RenditionFailure struct {
	Language string // "vi" for the producer's own
	What     string // "poster", "web preview", "subtitles", "burned-in subtitles", ...
	Reason   string // what was wrong, for the producer
}

// String returns "burned-in subtitles (vi): reason".
func (f RenditionFailure) String() string {
	return f.What + " (" + f.Language + "): " + f.Reason
}

// RenditionFailureSummary is the process_error of a processed segment with
// failed renditions: what airs, then each failure. It is kept under 2000
// bytes.
func RenditionFailureSummary(fs []RenditionFailure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return TruncateProcessError("Processed; the loudspeaker audio airs, but these renditions could not be made: " + strings.Join(parts, "; "))
}

// TruncateProcessError cuts a process_error to under 2000 bytes, on a
// character boundary.
func TruncateProcessError(s string) string {
	if len(s) > 2000 {
		s = s[:2000]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// Rendition is one processed file of a segment in one language.
type Rendition struct {
	SegmentID   string          `json:"segment_id"`
	Language    string          `json:"language"`
	Name        string          `json:"name"` // e.g. loudspeaker_mp3, preview_mp4
	Key         string          `json:"key"`
	ContentType string          `json:"content_type"`
	Size        int64           `json:"size_bytes"`
	SHA256      string          `json:"sha256"`
	DurationMS  int64           `json:"duration_ms"`
	Facts       json.RawMessage `json:"facts,omitempty"` // loudness, bitrate, dimensions
	CreatedAt   time.Time       `json:"created_at"`
}

// Variant is a segment ready to air in one language: the loudspeaker audio
// that schedules play.
type Variant struct {
	SegmentID  string    `json:"segment_id"`
	Language   string    `json:"language"`
	AudioKey   string    `json:"audio_key"`
	DurationMS int64     `json:"duration_ms"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size_bytes"`
	ApprovedBy *int64    `json:"approved_by,omitempty"` // nil for the producer's own Vietnamese
	ReadyAt    time.Time `json:"ready_at"`
}

// ProbeFacts are what ffprobe found in the original.
type ProbeFacts struct {
	Format       string  `json:"format"`
	DurationMS   int64   `json:"duration_ms"`
	BitRate      int64   `json:"bit_rate"`
	AudioCodec   string  `json:"audio_codec"`
	SampleRate   int     `json:"sample_rate"`
	Channels     int     `json:"channels"`
	VideoCodec   string  `json:"video_codec,omitempty"`
	Width        int     `json:"width,omitempty"`
	Height       int     `json:"height,omitempty"`
	FrameRate    float64 `json:"frame_rate,omitempty"`
	MeanVolumeDB float64 `json:"mean_volume_db"`
	MaxVolumeDB  float64 `json:"max_volume_db"`
	// Loudness is measured in the same decode; it is stored in a column
	// of its own (Segment.Loudness), not with these facts.
	Loudness *LoudnessMeasurement `json:"-"`
}

// Meta is the metadata a producer sends with an upload.
type Meta struct {
	Title     string
	Kind      Kind
	Topic     string
	Priority  Priority
	AirFrom   time.Time
	AirUntil  time.Time
	Languages []string
	// FileName is the name the producer's file had; kept for display only,
	// never used in an object key or a command.
	FileName string
}

// LastAirDay is the last day, in the province's zone, that an air window
// ending at until reaches: the day before when until is 00:00 (a window
// given as "until 2025-03-31" ends at 00:00 on 1 April and airs through
// 31 March), else until's own day. "" for a zero until.
func LastAirDay(until time.Time) string {
	if until.IsZero() {
		return ""
	}
	return until.Add(-time.Nanosecond).In(localtime.Location()).Format(time.DateOnly)
}

// MaxTitleLen is the longest title accepted, in characters.
const MaxTitleLen = 200

// Validate checks the metadata and fills defaults: priority normal, all
// known languages, an air window from now for 30 days. It returns the
// first problem as a field error.
func (m *Meta) Validate(now time.Time) error {
	title, err := CleanText("title", "The title", m.Title, false)
	if err != nil {
		return err
	}
	m.Title = title
	switch {
	case m.Title == "":
		return FieldError("title", "The title is empty: give the segment a title.")
	case utf8.RuneCountInString(m.Title) > MaxTitleLen:
		return FieldError("title", "The title is longer than %d characters: shorten it.", MaxTitleLen)
	}
	switch m.Kind {
	case KindRadio, KindTV:
	case "":
		return FieldError("kind", "The kind is missing: say radio or tv.")
	default:
		return FieldError("kind", "Unknown kind %q: say radio or tv.", m.Kind)
	}
	if _, ok := TopicByCode(m.Topic); !ok {
		codes := make([]string, len(Topics))
		for i, t := range Topics {
			codes[i] = t.Code
		}
		if m.Topic == "" {
			return FieldError("topic", "The topic is missing: choose one of %s.", strings.Join(codes, ", "))
		}
		return FieldError("topic", "Unknown topic %q: choose one of %s.", m.Topic, strings.Join(codes, ", "))
	}
	switch m.Priority {
	case "":
		m.Priority = PriorityNormal
	case PriorityNormal, PriorityPriority:
	case PriorityEmergency:
		return FieldError("priority", "An upload cannot be an emergency: upload it as normal or priority, then raise the emergency with the emergency action (the segment page, or 'loa segments emergency ID --communes CODES' or '--province'), which asks for confirmation, the target communes and an end time.")
	default:
		return FieldError("priority", "Unknown priority %q: say normal or priority (an emergency is raised afterwards with the emergency action).", m.Priority)
	}
	if m.AirFrom.IsZero() {
		m.AirFrom = now
	}
	if m.AirUntil.IsZero() {
		m.AirUntil = m.AirFrom.Add(30 * 24 * time.Hour)
	}
	if !m.AirUntil.After(m.AirFrom) {
		return FieldError("air_until", "The air window ends before it starts: air_until must be after air_from.")
	}
	if !m.AirUntil.After(now) {
		return FieldError("air_until", "The air window is over already: air_until %s is in the past, so the segment would never air. Give a later air_until (or leave it out: 30 days from air_from).",
			m.AirUntil.In(localtime.Location()).Format("2006-01-02 15:04"))
	}
	if len(m.Languages) == 0 {
		m.Languages = slices.Clone(KnownLanguages)
	}
	seen := map[string]bool{}
	var langs []string
	for _, l := range m.Languages {
		l = strings.TrimSpace(l)
		if !slices.Contains(KnownLanguages, l) {
			return FieldError("languages", "Unknown language %q: use vi, blt (Thái) or hnj (Mông).", l)
		}
		if !seen[l] {
			seen[l] = true
			langs = append(langs, l)
		}
	}
	m.Languages = langs
	return nil
}

// SegmentFilter narrows a segment listing.
type SegmentFilter struct {
	// ProducerID, when not zero, keeps only that producer's segments.
	ProducerID int64
	// State, when set, keeps only segments in that state.
	State State
	// EmergencyRequested, when true, keeps only segments with a wide
	// emergency request waiting for an administrator.
	EmergencyRequested bool
	// Limit caps the number returned; 0 means 100.
	Limit int
}
