// Package wire holds the JSON bodies of Loa's HTTP API that programs
// other than the server decode: the error body every refusal carries, and
// the signing key and bundle index a commune device pulls
// (pipeline/pull, pipeline/player). The server (pipeline/api) writes them;
// keeping them here lets the device side read them without importing the
// server and, through it, storage.
package wire

import (
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline"
)

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error struct {
		Code    pipeline.Code `json:"code"`
		Message string        `json:"message"`
		Field   string        `json:"field,omitempty"`
		// Findings are a refused file's problems one by one:
		// [{line, cue, code, severity, message}], line and cue left out
		// when not known, severity "error" or "warning".
		Findings []subtitle.Finding `json:"findings,omitempty"`
		// Key and Args name the message in Loa's pages' catalogues (see
		// pipeline.Error.Key); other clients show Message.
		Key  string   `json:"key,omitempty"`
		Args []string `json:"args,omitempty"`
	} `json:"error"`
}

// SigningKey is the body of GET /api/signing-key.
type SigningKey struct {
	Algorithm string `json:"algorithm"`
	PublicKey string `json:"public_key"` // base64
	KeyID     string `json:"key_id"`
}

// BundleIndex answers GET /api/communes/{code}/bundle: the signed
// manifest, the small files inline and presigned links to the media, so
// a client fetches only what it lacks and can resume media downloads.
//
// A bundle covers the days asked for only as far as the server has built
// schedules: from the first day asked to the last built day within the
// range (the signed manifest's from and until; its valid_until is the end
// of until). From, Until, Days and DaysAsked repeat that for readers; a
// client trusts only the signed manifest.
type BundleIndex struct {
	Manifest  string            `json:"manifest"`        // the exact signed bytes of manifest.json
	Signature string            `json:"signature"`       // manifest.sig
	Inline    map[string]string `json:"inline"`          // path -> content (playlists)
	Links     map[string]string `json:"links"`           // path -> presigned URL (media)
	From      string            `json:"from,omitempty"`  // first day covered, YYYY-MM-DD (the manifest's)
	Until     string            `json:"until,omitempty"` // last day covered, YYYY-MM-DD (the manifest's)
	// Days is how many days the bundle covers (from through until);
	// DaysAsked how many were asked for. Days < DaysAsked when the
	// schedules of the later days are not built yet.
	Days      int `json:"days,omitempty"`
	DaysAsked int `json:"days_asked,omitempty"`
}
