package media

import (
	"errors"
	"strings"
)

// InputError is a failure caused by the input itself: media ffmpeg cannot
// read, no audio, audio too quiet to normalize, subtitles with impossible
// times. Running the same work again gives the same result, so a caller
// records the reason and stops instead of retrying. Every other error
// (the object store, a timeout, a cancelled run, a full disk) may pass.
// Callers find it with errors.As; the sentinels it wraps (ErrNotMedia,
// ErrNoAudio, ErrTooQuiet, ErrNotLinear) still match errors.Is.
type InputError struct {
	Err error // what is wrong with the input, wrapped with what was being done
}

// Error returns the underlying error's text.
func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err (or anything it wraps) is an
// *InputError: whether retrying cannot help.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// inputError marks err as the input's fault; nil stays nil.
func inputError(err error) error {
	if err == nil || IsInputError(err) {
		return err
	}
	return &InputError{Err: err}
}

// machineFaults are what ffmpeg prints when the machine, not the input,
// made it fail: running again elsewhere or later may succeed.
var machineFaults = []string{"No space left on device", "Cannot allocate memory", "Too many open files",
	"Resource temporarily unavailable", "Input/output error"}

// toolInputError marks a ffmpeg run that exited with an error status as the
// input's fault, unless it was cancelled, never started, was killed by a
// signal or ran out of a machine resource.
func toolInputError(err error) error {
	var te *ToolError
	if !errors.As(err, &te) || te.ExitCode <= 0 {
		return err
	}
	for _, m := range machineFaults {
		if strings.Contains(te.Stderr, m) {
			return err
		}
	}
	return inputError(err)
}

// fetchFaults are what ffmpeg and ffprobe print when reading an http(s)
// input failed on the way, not in the media: the store answered an error
// status (a 5xx under load, a 403 for an expired link) or the connection
// failed. The same input may read well on the next try.
var fetchFaults = []string{"Server returned", "HTTP error", "Connection refused", "Connection reset by peer",
	"Connection timed out", "Operation timed out", "Network is unreachable", "Broken pipe",
	"Failed to resolve hostname", "Temporary failure in name resolution"}

// ErrFetch means reading an http(s) input failed on the way (see
// fetchFaults): the input was not judged, and a later try may read it.
var ErrFetch = errors.New("could not fetch the input")

// fetchFault reports whether err, from a run that read input, failed
// fetching an http(s) input rather than on what it holds.
func fetchFault(input string, err error) bool {
	var te *ToolError
	if !isURL(input) || !errors.As(err, &te) {
		return false
	}
	for _, m := range fetchFaults {
		if strings.Contains(te.Stderr, m) {
			return true
		}
	}
	return false
}
