// Package translation is the translators' half of Loa: the translation and
// subtitle jobs that Thái and Mông translators claim, do and get reviewed.
//
// The centre is a pure state machine ([Policy.Apply]): a job is open,
// claimed under a lease the translator can extend, submitted, taken into
// review by a reviewer of the language who is not the translator, then
// approved or sent back with a reason to the same translator. A lease that
// runs out returns the job to open, a withdrawn segment cancels it, and a
// job past its deadline is flagged overdue. Every transition yields an
// [Event] saying who did what, when and why. No database, object store or
// ffmpeg is inside: the [Desk] drives the machine through small interfaces
// that pipeline/sqlstore, media/objects and media implement.
//
// Submissions are checked here too: subtitle files with media/subtitle
// (quality profile per language, timing and text against the Vietnamese
// source, glossary terms), voice-overs by their probed duration. The
// translation memory pre-fills a subtitle job's target file with the
// approved translations of lines seen before and lists fuzzy matches.
//
// "Job" here is a translator's job; the background queue jobs that render
// and process media are River's, in pipeline/worker.
package translation
