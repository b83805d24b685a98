package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Stored is what StreamToStore wrote.
type Stored struct {
	Key    string
	Size   int64
	SHA256 string
}

// StreamToStore streams r into the object store under key while hashing
// it, never holding the whole body in memory, and stops with a too-large
// error once more than limit bytes arrived (0: no limit). size is r's
// length in bytes as the client declared it, or -1 when unknown: a known
// size over limit is refused before anything is read, and r must then
// hold exactly size bytes (the store is given the length, so it can take
// the body in one request without buffering parts). Failures come back as
// user-facing *Error values: too large, a declared size that does not
// match (field "size"), interrupted, or the store being unavailable. The
// caller records the upload before (BeginUpload) and removes the object
// when it refuses what was stored.
func StreamToStore(ctx context.Context, objs ObjectStore, key string, r io.Reader, size, limit int64, contentType string) (Stored, error) {
	if size >= 0 {
		if limit > 0 && size > limit {
			return Stored{}, uploadError(ErrTooLarge, limit)
		}
		r = &sizedReader{r: r, declared: size, left: size}
	}
	body := &hashingReader{r: r, h: sha256.New(), limit: limit}
	n, err := objs.Put(ctx, key, body, size, contentType)
	if err != nil {
		return Stored{}, uploadError(err, limit)
	}
	return Stored{Key: key, Size: n, SHA256: hex.EncodeToString(body.h.Sum(nil))}, nil
}

// sizedReader passes on exactly declared bytes of r and fails when r ends
// sooner or holds more. It looks for more the moment the last declared
// byte arrives, before handing it on, so a store given the length as
// Content-Length never completes an object from a body of the wrong size.
type sizedReader struct {
	r              io.Reader
	declared, left int64
	done           bool
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	switch {
	case s.left == 0:
		var extra [1]byte
		m, perr := io.ReadFull(s.r, extra[:])
		if m > 0 {
			return 0, sizeMismatch(fmt.Sprintf("more than %d bytes", s.declared), s.declared)
		}
		if perr != io.EOF {
			return 0, perr
		}
		s.done = true
		return n, nil
	case err == io.EOF:
		return n, sizeMismatch(fmt.Sprintf("%d bytes", s.declared-s.left), s.declared)
	}
	return n, err
}

// sizeMismatch is the refusal of a file part whose length is not the
// declared one.
func sizeMismatch(got string, declared int64) error {
	return &Error{Code: CodeInvalid, Field: "size",
		Message: fmt.Sprintf("The 'size' field said the file is %d bytes, but the file part held %s: send the file's exact length in bytes, or leave 'size' out.", declared, got)}
}

// uploadError turns a failed Put into what the uploader should hear.
func uploadError(err error, limit int64) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return &Error{Code: CodeTooLarge, Field: "file", Err: err,
			Message: fmt.Sprintf("The file is larger than the %s limit: shorten or compress it, or ask an administrator to raise the limit.", SizeText(limit))}
	case errors.Is(err, context.Canceled), errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Code: CodeInvalid, Field: "file", Err: err, Message: "The upload was interrupted before the whole file arrived: upload it again."}
	default:
		var e *Error
		if errors.As(err, &e) {
			return err
		}
		return unavailable("store the upload", err)
	}
}
