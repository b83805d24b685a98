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
// error once more than limit bytes arrived (0: no limit). Failures come
// back as user-facing *Error values: too large, interrupted, or the store
// being unavailable. The caller records the upload before (BeginUpload) and
// removes the object when it refuses what was stored.
func StreamToStore(ctx context.Context, objs ObjectStore, key string, r io.Reader, limit int64, contentType string) (Stored, error) {
	body := &hashingReader{r: r, h: sha256.New(), limit: limit}
	size, err := objs.Put(ctx, key, body, -1, contentType)
	if err != nil {
		return Stored{}, uploadError(err, limit)
	}
	return Stored{Key: key, Size: size, SHA256: hex.EncodeToString(body.h.Sum(nil))}, nil
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
