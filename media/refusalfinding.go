package media

import "github.com/sonla-cchc/loa/media/subtitle"

// RefusalCodes lists every code a [Refusal] can carry.
func RefusalCodes() []RefusalCode {
	return []RefusalCode{
		RefuseNotMedia, RefuseNoAudio, RefuseNoVideo, RefuseNoDuration, RefuseTooLong, RefuseBadDimensions,
		RefuseBadSampleRate, RefuseBadChannels, RefuseSilent, RefuseCorrupt, RefuseCancels,
	}
}

// FindingKey is the catalogue key (subtitle.Finding.Key) of a refusal
// with code c: "media_" + c, apart from the subtitle checks' keys.
func FindingKey(c RefusalCode) string { return "media_" + string(c) }

// Finding is the refusal as one finding of the upload: its code, the
// reason as Message, and its catalogue key (FindingKey), so a page says
// what was wrong and what to do in its own language.
func (r *Refusal) Finding() subtitle.Finding {
	return subtitle.Finding{Severity: subtitle.Error, Code: string(r.Code), Message: r.Reason, Key: FindingKey(r.Code)}
}
