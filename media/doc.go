// Package media is Loa's edge to ffprobe and ffmpeg: it inspects uploaded
// radio (audio) and TV (video) segments, refuses bad media with a reason a
// producer can act on, and (in later files) runs the loudness and rendition
// transforms that commune loudspeakers and the web preview need.
//
// # Inspecting an upload
//
// Ingest calls [Probe] for what the container says, [ScanAudio] to decode
// the first audio stream fully (truncation, corruption, silence), and
// [Validate] to turn both into a yes or a [*Refusal]:
//
//	info, err := media.Probe(ctx, path)        // errors.Is(err, media.ErrNotMedia)
//	scan, err := media.ScanAudio(ctx, path)    // only when info.Audio != nil
//	err = media.Validate(info, scan, media.KindRadio, media.Limits{})
//	var r *media.Refusal
//	if errors.As(err, &r) { /* show r.Reason to the producer */ }
//
// [Inspect] does the three steps in one call.
//
// # Safety at the process edge
//
// Every input handed to ffprobe or ffmpeg is either an http(s) URL or a local
// path passed as "file:<path>" with a protocol whitelist, so a file name
// with a colon, a leading dash, quotes or newlines is only ever a file name.
// No caller-supplied text is ever placed in a filter graph.
package media
