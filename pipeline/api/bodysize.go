package api

import (
	"fmt"

	"github.com/sonla-cchc/loa/pipeline"
)

// multipartSlack is what an upload's multipart framing (boundaries, part
// headers) may add to its file and fields.
const multipartSlack = 64 << 10

// TooLarge is the refusal of a body that announces more bytes than a
// limit: 413 naming what was sent, the limit and what to do.
func TooLarge(announced, limit int64, what, todo string) error {
	return &pipeline.Error{Code: pipeline.CodeTooLarge, Field: "file",
		Message: fmt.Sprintf("The request announces %s (Content-Length %d), over the %s limit of %s: %s.", pipeline.SizeText(announced), announced, pipeline.SizeText(limit), what, todo)}
}

// maxUpload is POST /api/segments' limit: the media file's
// (Ingester.MaxBytes) with room for the subtitles, the fields and the
// multipart framing.
func (s *Server) maxUpload() (int64, func(int64) error) {
	if s.Ingester == nil || s.Ingester.MaxBytes <= 0 {
		return 0, nil
	}
	in := s.Ingester
	limit := in.MaxBytes + max(in.MaxSubtitleBytes, 0) + max(s.MaxFormBytes, 0) + multipartSlack
	return limit, func(n int64) error {
		return TooLarge(n, in.MaxBytes, "an upload", "shorten or compress the file, or ask an administrator to raise LOA_MAX_UPLOAD_MB")
	}
}

// maxRegistry is POST /api/communes/import's limit (readBody's), named
// in KiB as readBody names it.
func (s *Server) maxRegistry() (int64, func(int64) error) {
	return maxRegistryBytes, func(n int64) error {
		return &pipeline.Error{Code: pipeline.CodeTooLarge, Field: "file",
			Message: fmt.Sprintf("The request announces %s (Content-Length %d), over the %d KiB limit of a commune registry: a registry of every commune is far smaller; check that it is the right file.", pipeline.SizeText(n), n, maxRegistryBytes>>10)}
	}
}

// submitLimiter is a Jobs that says how large a submission may be
// (translation.Desk).
type submitLimiter interface {
	MaxSubmitBytes() int64
}

// maxSubmit is POST /api/jobs/{id}/submit's limit: the larger of a
// subtitle's and a voice-over's.
func (s *Server) maxSubmit() (int64, func(int64) error) {
	sl, ok := s.Jobs.(submitLimiter)
	if !ok {
		return 0, nil
	}
	limit := sl.MaxSubmitBytes()
	return limit, func(n int64) error {
		return TooLarge(n, limit, "a submission", "send a shorter or more compressed recording")
	}
}
