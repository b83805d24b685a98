package schedules

import (
	"fmt"
	"time"
)

// Language is an ISO 639 code of a language a segment is voiced or
// subtitled in and a cluster plays.
type Language string

// The languages of the Sơn La CCHC plan.
const (
	Vietnamese Language = "vi"  // Tiếng Việt
	Thai       Language = "blt" // Tai Dam (Thái đen), Tai Viet script or Latin
	Hmong      Language = "hnj" // Hmong Njua (Mông Lềnh)
)

// Languages lists the languages Loa knows, in a fixed order.
var Languages = []Language{Vietnamese, Thai, Hmong}

// Known reports whether l is one of Languages.
func (l Language) Known() bool { return l.index() >= 0 }

func (l Language) index() int {
	switch l {
	case Vietnamese:
		return 0
	case Thai:
		return 1
	case Hmong:
		return 2
	}
	return -1
}

// Topic is a content topic of the plan, named by its letter in §II.1 of
// the Sơn La CCHC communication plan for 2025 (a, b, c, d, đ, e, g, h, i, k).
type Topic string

// The plan's topics (§II.1).
const (
	TopicImportance   Topic = "a" // importance, aims and effects of CCHC; leaders' role
	TopicIndices      Topic = "b" // PAR INDEX, SIPAS, PAPI, PCI, DTI, POBI
	TopicProgramme    Topic = "c" // master programme 2021–2030 and the province's plans
	TopicProcedures   Topic = "d" // TTHC reform, một cửa, online services, postal delivery
	TopicApparatus    Topic = "đ" // state apparatus, civil-service reform
	TopicBudget       Topic = "e" // budget management, public finance, thrift
	TopicDigital      Topic = "g" // e-government, digital transformation, Đề án 06
	TopicGoodPractice Topic = "h" // good practices, examples, citizen feedback
	TopicBulletin     Topic = "i" // the government's electronic CCHC bulletin
	TopicPortal       Topic = "k" // CCHC items on the provincial portal
)

// Topics lists the plan's topics in the plan's order.
var Topics = []Topic{
	TopicImportance, TopicIndices, TopicProgramme, TopicProcedures, TopicApparatus,
	TopicBudget, TopicDigital, TopicGoodPractice, TopicBulletin, TopicPortal,
}

// Priority is a bulletin's priority as Thông tư 39/2020/TT-BTTTT defines it.
type Priority int

// The three priorities, lowest first.
const (
	Normal    Priority = iota // the schedule chooses whether and when
	Urgent                    // "priority": played first within the programme
	Emergency                 // played before everything else in every slot
)

// String returns "normal", "priority" or "emergency".
func (p Priority) String() string {
	switch p {
	case Normal:
		return "normal"
	case Urgent:
		return "priority"
	case Emergency:
		return "emergency"
	}
	return fmt.Sprintf("Priority(%d)", int(p))
}

// ParsePriority parses "normal", "priority" or "emergency".
func ParsePriority(s string) (Priority, error) {
	switch s {
	case "normal", "":
		return Normal, nil
	case "priority":
		return Urgent, nil
	case "emergency":
		return Emergency, nil
	}
	return Normal, fmt.Errorf("priority %q: want normal, priority or emergency", s)
}

// Kind says whether a segment was made for radio or TV. Loudspeakers play
// the audio of either.
type Kind string

// Segment kinds.
const (
	Radio Kind = "radio"
	TV    Kind = "tv"
)

// Variant is one language version of a segment that the pipeline holds
// ready to air. Fields shared by a segment's variants (title, topic, kind,
// priority, targets) are read from each variant as given.
type Variant struct {
	SegmentID string
	Title     string
	Topic     Topic
	Kind      Kind
	Priority  Priority
	Language  Language
	Approved  bool          // a reviewer approved this language version
	Duration  time.Duration // play length (milliseconds in the store)
	AirFrom   time.Time     // zero: no lower bound
	AirUntil  time.Time     // zero: no upper bound
	ReadyAt   time.Time     // when the variant became ready; newer is fresher
	// Targets lists commune codes an emergency is meant for; empty means
	// every commune. It is ignored for other priorities.
	Targets []string
	// RaisedAt says, for an emergency, when each commune got it (key ""
	// for every commune of a province-wide one without a key of its
	// own): a slot of that commune starting before then does not carry
	// it, so a raise leaves the commune's earlier slots alone. Communes
	// without a time are bounded by AirFrom only. Ignored for other
	// priorities.
	RaisedAt map[string]time.Time
}

// Aired records that a segment was scheduled in a commune on a date; the
// builder reads it for the separation rule and topic rotation.
type Aired struct {
	Commune   string // commune code
	SegmentID string
	Date      Date
}
