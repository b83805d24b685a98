package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// ErrTooLarge is returned by the upload stream when it passes the size limit.
var ErrTooLarge = errors.New("upload is over the size limit")

// IngestStore is what ingest needs from the catalog.
type IngestStore interface {
	BeginUpload(ctx context.Context, key string, userID int64) error
	EndUpload(ctx context.Context, key string) error
	// InsertUpload records the segment, or returns the not-withdrawn
	// segment with the same sha256 that the uploader may see (their own,
	// or any when seesAll) with created=false.
	InsertUpload(ctx context.Context, s Segment, seesAll bool, then func(*sql.Tx) error) (Segment, bool, error)
}

// ObjectStore is what ingest needs from the object store.
type ObjectStore interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error)
	Remove(ctx context.Context, key string) error
	InternalURL(ctx context.Context, key string, ttl time.Duration) (string, error)
	Ready(ctx context.Context) error
}

// Inspector probes a stored original (by URL) and refuses bad media. A
// refusal comes back as *Error with CodeInvalid; anything else is a
// failure to inspect.
type Inspector interface {
	Inspect(ctx context.Context, url string, kind Kind) (ProbeFacts, error)
}

// SubtitleChecker parses a producer's subtitle file and says what is wrong
// with it, as a user-facing *Error, given the length of the media it goes
// with (0 when not known yet); a file it accepts may come with warnings
// (CheckSourceSubtitles is the one Loa uses).
type SubtitleChecker func(data []byte, media time.Duration) (warnings []subtitle.Finding, err error)

// Ingester takes an upload from a producer into the catalog: it streams the
// media into the object store while hashing it, inspects it, stores the
// optional Vietnamese subtitle file, and records the segment. Whatever it
// refuses leaves no object and no row behind.
type Ingester struct {
	Store     IngestStore
	Objects   ObjectStore
	Inspector Inspector
	// CheckSubtitle validates a subtitle file, once without the media's
	// length before the media is stored (when the form allows) and again
	// with it once the media is inspected, before the file is stored; nil
	// accepts any non-empty file.
	CheckSubtitle SubtitleChecker
	// MaxBytes caps the media size; checked while streaming.
	MaxBytes int64
	// MaxSubtitleBytes caps the subtitle file size.
	MaxSubtitleBytes int64
	// Enqueue, when not nil, runs in the transaction that records a new
	// segment, so follow-up work is queued atomically with it.
	Enqueue func(ctx context.Context, tx *sql.Tx, s Segment) error
	Now     func() time.Time
	Log     *slog.Logger
}

// Upload is one producer upload.
type Upload struct {
	User        User
	Meta        Meta
	Media       io.Reader
	ContentType string
	// Size is the media's length in bytes as the client declared it (the
	// form's "size" field), or 0 when not declared. A declared size is
	// checked against MaxBytes before the media is read and lets the
	// store take the media in one request, without a part buffer; the
	// media must then be exactly that long.
	Size int64
	// Subtitles is the optional Vietnamese subtitle file (SRT or WebVTT).
	Subtitles []byte
	// Rest, when not nil, is called once the media has been stored, to
	// read what the client sent after it (metadata fields, subtitles) into
	// the upload. Meta and Subtitles are checked after it returns; an
	// error from it refuses the upload and removes the stored media.
	Rest func(*Upload) error
}

// declaredSize is the size StreamToStore takes: Size, or -1 when none was
// declared.
func (up *Upload) declaredSize() int64 {
	if up.Size > 0 {
		return up.Size
	}
	return -1
}

// metaComplete reports whether the metadata already names a title, kind
// and topic, so it can be checked before the media is streamed.
func (up *Upload) metaComplete() bool {
	return up.Meta.Title != "" && up.Meta.Kind != "" && up.Meta.Topic != ""
}

// Result is what Ingest returns: the segment, whether it is new or the
// same content uploaded before, and the warnings the subtitle check found
// in an accepted file (shown to the producer, not stored).
type Result struct {
	Segment  Segment
	Created  bool
	Warnings []subtitle.Finding
}

// Ingest runs one upload to its end. Refusals are *Error values that say
// what was wrong and what to do.
//
// The metadata and subtitles are checked before the media is streamed when
// they are all there (Rest is nil, or the metadata already names a title,
// kind and topic), and always once Rest has read what came after the media.
func (in *Ingester) Ingest(ctx context.Context, up Upload) (Result, error) {
	now := in.now()
	if up.Rest == nil || up.metaComplete() {
		if err := in.checkMeta(&up, now); err != nil {
			return Result{}, err
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Result{}, fmt.Errorf("ingest: new id: %w", err)
	}
	seg := Segment{ID: id.String(), State: StateProbed, ProducerID: up.User.ID, Producer: up.User.Name, CreatedAt: now, UpdatedAt: now}
	seg.OriginalKey = "segments/" + seg.ID + "/original"
	var keys []string // objects written so far, removed on any refusal
	fail := func(err error) (Result, error) {
		in.cleanup(ctx, keys)
		return Result{}, err
	}

	if err := in.Store.BeginUpload(ctx, seg.OriginalKey, up.User.ID); err != nil {
		return Result{}, fmt.Errorf("ingest %s: %w", seg.ID, err)
	}
	keys = append(keys, seg.OriginalKey)
	// The kind may not be known yet (it can come after the media); the
	// stored object then carries the client's type or a generic one.
	stored, err := StreamToStore(ctx, in.Objects, seg.OriginalKey, up.Media, up.declaredSize(), in.MaxBytes, mediaContentType(up.ContentType, up.Meta.Kind))
	if err != nil {
		return fail(in.uploadError(err))
	}
	if up.Rest != nil {
		if err := up.Rest(&up); err != nil {
			return fail(err)
		}
		if err := in.checkMeta(&up, now); err != nil {
			return fail(err)
		}
	}
	if stored.Size == 0 {
		return fail(FieldError("file", "The file is empty (0 bytes): choose the media file again and upload it."))
	}
	seg.Title, seg.Kind, seg.Topic, seg.Priority = up.Meta.Title, up.Meta.Kind, up.Meta.Topic, up.Meta.Priority
	seg.AirFrom, seg.AirUntil, seg.Languages = up.Meta.AirFrom, up.Meta.AirUntil, up.Meta.Languages
	seg.OriginalName = cleanFileName(up.Meta.FileName)
	seg.ContentType = mediaContentType(up.ContentType, up.Meta.Kind)
	seg.Size, seg.SHA256 = stored.Size, stored.SHA256

	url, err := in.Objects.InternalURL(ctx, seg.OriginalKey, time.Hour)
	if err != nil {
		return fail(unavailable("link the stored upload for inspection", err))
	}
	facts, err := in.Inspector.Inspect(ctx, url, seg.Kind)
	if err != nil {
		// ffprobe reads the original by URL: when the store went away
		// meanwhile, a good file looks unreadable. Say "retry", not "bad file".
		if rerr := in.Objects.Ready(ctx); rerr != nil {
			return fail(unavailable("read the upload back for inspection", rerr))
		}
		return fail(err)
	}
	seg.Probe, seg.Loudness = facts, facts.Loudness

	var warnings []subtitle.Finding
	if up.Subtitles != nil {
		// Now that the media's length is known, the cues must fit in it;
		// the file is checked before it is stored.
		if in.CheckSubtitle != nil {
			if warnings, err = in.CheckSubtitle(up.Subtitles, time.Duration(facts.DurationMS)*time.Millisecond); err != nil {
				return fail(err)
			}
		}
		seg.SubtitleKey = "segments/" + seg.ID + "/subtitles/vi-source"
		if err := in.Store.BeginUpload(ctx, seg.SubtitleKey, up.User.ID); err != nil {
			return fail(fmt.Errorf("ingest %s: %w", seg.ID, err))
		}
		keys = append(keys, seg.SubtitleKey)
		if _, err := in.Objects.Put(ctx, seg.SubtitleKey, strings.NewReader(string(up.Subtitles)), int64(len(up.Subtitles)), "text/plain; charset=utf-8"); err != nil {
			return fail(in.uploadError(err))
		}
	}

	var then func(*sql.Tx) error
	if in.Enqueue != nil {
		then = func(tx *sql.Tx) error { return in.Enqueue(ctx, tx, seg) }
	}
	got, created, err := in.Store.InsertUpload(ctx, seg, up.User.Role == RoleAdmin, then)
	if err != nil {
		return fail(fmt.Errorf("ingest %s: %w", seg.ID, err))
	}
	if !created {
		// The uploader (or, for an admin, anyone) uploaded the same bytes
		// before: keep the first copy only.
		in.cleanup(ctx, keys)
		in.log().Info("duplicate upload", "segment", got.ID, "sha256", seg.SHA256, "user", up.User.Name)
		return Result{Segment: got, Created: false}, nil
	}
	in.log().Info("segment ingested", "segment", got.ID, "kind", got.Kind, "bytes", got.Size,
		"duration_ms", got.Probe.DurationMS, "user", up.User.Name)
	return Result{Segment: got, Created: true, Warnings: warnings}, nil
}

// checkMeta validates the upload's metadata (filling its defaults) and its
// subtitle file, if any.
func (in *Ingester) checkMeta(up *Upload, now time.Time) error {
	if err := up.Meta.Validate(now); err != nil {
		return err
	}
	if up.Subtitles != nil {
		return in.checkSubtitle(up.Subtitles)
	}
	return nil
}

func (in *Ingester) checkSubtitle(data []byte) error {
	if len(data) == 0 {
		return FieldError("subtitles", "The subtitle file is empty: attach the SRT or WebVTT file, or leave the field out.")
	}
	if in.MaxSubtitleBytes > 0 && int64(len(data)) > in.MaxSubtitleBytes {
		return FieldError("subtitles", "The subtitle file is over %s: a segment's subtitles are far smaller; check that it is the right file.", SizeText(in.MaxSubtitleBytes))
	}
	if in.CheckSubtitle != nil {
		_, err := in.CheckSubtitle(data, 0)
		return err
	}
	return nil
}

// uploadError turns a failed Put into what the uploader should hear,
// naming the setting that raises the limit.
func (in *Ingester) uploadError(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return &Error{Code: CodeTooLarge, Field: "file", Err: err,
			Message: fmt.Sprintf("The file is larger than the %s limit: shorten or compress it, or ask an administrator to raise LOA_MAX_UPLOAD_MB.", SizeText(in.MaxBytes))}
	}
	return uploadError(err, in.MaxBytes)
}

func unavailable(what string, err error) *Error {
	return &Error{Code: CodeUnavailable, Err: err,
		Message: fmt.Sprintf("The media store is not available (could not %s). Nothing was kept; try again in a minute.", what)}
}

// cleanup removes objects of a refused upload and their upload rows. It
// runs even when ctx is cancelled (the client went away), within a bound.
func (in *Ingester) cleanup(ctx context.Context, keys []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, k := range keys {
		if err := in.Objects.Remove(ctx, k); err != nil {
			// The upload row stays, so the sweep retries the removal later.
			in.log().Warn("remove refused upload", "key", k, "err", err)
			continue
		}
		if err := in.Store.EndUpload(ctx, k); err != nil {
			in.log().Warn("end refused upload", "key", k, "err", err)
		}
	}
}

func (in *Ingester) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now().UTC()
}

func (in *Ingester) log() *slog.Logger {
	if in.Log != nil {
		return in.Log
	}
	return slog.Default()
}

// hashingReader hashes what it reads and fails once more than limit bytes
// have been read, so an oversized upload is stopped while streaming.
type hashingReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	hr.h.Write(p[:n])
	hr.n += int64(n)
	if hr.limit > 0 && hr.n > hr.limit {
		return n, ErrTooLarge
	}
	return n, err
}

// cleanFileName keeps a display-safe version of a client file name: the
// base name, printable, at most 120 characters. It is never used in a key
// or a command line.
func cleanFileName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if r := []rune(name); len(r) > 120 {
		name = string(r[:120])
	}
	return name
}

// mediaContentType keeps a client's audio/* or video/* type and falls back
// to a generic one for the kind (application/octet-stream while the kind
// is not known yet).
func mediaContentType(ct string, kind Kind) string {
	ct = strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	if strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "video/") {
		return ct
	}
	switch kind {
	case KindTV:
		return "video/mp4"
	case "":
		return "application/octet-stream"
	}
	return "audio/mpeg"
}

// SizeText writes a byte count for people, rounded down: KiB below one
// MiB, MiB below 10 GiB, else GiB.
func SizeText(n int64) string {
	switch {
	case n < 1<<20:
		return fmt.Sprintf("%d KiB", n>>10)
	case n < 10<<30:
		return fmt.Sprintf("%d MiB", n>>20)
	default:
		return fmt.Sprintf("%d GiB", n>>30)
	}
}
