// Package pipeline holds Loa's catalog domain: segments uploaded by station
// producers, the users and roles that may act on them, and the ingest step
// that streams an upload into the object store, checks it with ffprobe and
// records it. Storage, ffmpeg and HTTP are at the edges (pipeline/sqlstore,
// media, pipeline/api); this package only says what they must do.
package pipeline
