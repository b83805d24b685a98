package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// Code classifies an error by what a caller should do about it. The HTTP
// API maps each code to one status, the CLI to one exit code.
type Code string

// The error codes callers act on.
const (
	CodeInvalid      Code = "invalid"      // the request or its input is wrong; fix it and retry
	CodeNotFound     Code = "not_found"    // no such thing, or not visible to this user
	CodeConflict     Code = "conflict"     // the thing is in a state that does not allow this
	CodeUnauthorized Code = "unauthorized" // no valid credentials
	CodeForbidden    Code = "forbidden"    // valid credentials, but this role may not do this
	CodeTooLarge     Code = "too_large"    // the upload is over a configured limit
	CodeUnavailable  Code = "unavailable"  // a dependency is down; retry later
	CodeRateLimited  Code = "rate_limited" // too many failed attempts (or open streams); wait RetryAfter
	CodeTimeout      Code = "timeout"      // the request body came too slowly; send it again faster
	CodeInternal     Code = "internal"     // a bug or an unexpected failure
)

// Error is an error with a code and a message meant for the user: what was
// wrong and what to do.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, when there is one.
	Field string
	// Err is the underlying cause, kept for logs; never shown to users.
	Err error
	// RetryAfter, for CodeRateLimited, is how long to wait before trying
	// again.
	RetryAfter time.Duration
	// Findings, for a refused subtitle or voice-over file, are its
	// problems one by one (line, cue, code, severity, message); Message
	// lists them too, as text for people. The API sends them as
	// error.findings.
	Findings []subtitle.Finding
	// Key, when set, names this message in the pages' catalogues
	// ("err_" + Key), whose text takes Args for its %s in order, so a
	// page says it in the user's language; Message stays the English
	// text the API and the CLI show. Without a Key a page in Vietnamese
	// can only show its code's general sentence.
	Key  string
	Args []string
}

// KeySegmentNotReady is the Key of the refusal of an emergency on a
// segment not ready to air in any language yet (still processing): its
// one Arg is the segment ID. A caller that can wait ('loa segments
// emergency --wait') recognises it with errors.As and asks again once
// the segment is processed.
const KeySegmentNotReady = "segment_not_ready"

// KeyEmergencyRequestExpired is the Key of the refusal to confirm a wide
// emergency request whose end time has passed; its one Arg is that end
// (local time, "2006-01-02 15:04").
const KeyEmergencyRequestExpired = "emergency_request_expired"

// KeyEmergencyNeedsConfirmation is the Key of an emergency dry run's
// answer when the raise is wide and its sender not an administrator: sent
// with confirm it would only be stored for an administrator's
// confirmation. No Args.
const KeyEmergencyNeedsConfirmation = "emergency_needs_confirmation"

// WithKey names e's message in the pages' catalogues (Key) with the
// figures its text takes (Args), and returns e.
func (e *Error) WithKey(key string, args ...string) *Error {
	e.Key, e.Args = key, args
	return e
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an invalid-input error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-facing message of err: the message of the
// first *Error in its chain, or a generic sentence that reveals nothing
// internal.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error. The failure was logged; try again later or tell the administrator."
}
