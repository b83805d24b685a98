package media_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestInspectFetchFailureIsNotABadFile: when the store answers an error
// while ffprobe reads the stored upload back (a 503 under load, a 403 for
// a link gone stale), the upload is not refused as "not audio or video":
// the producer is told to send it again, and nothing marks the file bad.
// A store that serves bytes that are not media still gets the refusal.
func TestInspectFetchFailureIsNotABadFile(t *testing.T) {
	mediatest.Need(t)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   pipeline.Code
	}{
		{"the store is overloaded", http.StatusServiceUnavailable, "<Error><Code>SlowDown</Code></Error>", pipeline.CodeUnavailable},
		{"the link went stale", http.StatusForbidden, "<Error><Code>AccessDenied</Code></Error>", pipeline.CodeUnavailable},
		{"the bytes are not media", http.StatusOK, "these are not the bytes of any media file at all\n", pipeline.CodeInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			_, err := media.Inspector{}.Inspect(t.Context(), srv.URL+"/segments/x/original?X-Amz-Signature=s", pipeline.KindRadio)
			if got := pipeline.ErrorCode(err); got != tc.want {
				t.Fatalf("code %s, want %s: %v", got, tc.want, err)
			}
			if tc.want == pipeline.CodeUnavailable && (media.IsInputError(err) || errors.Is(err, media.ErrNotMedia)) {
				t.Fatalf("a failed fetch is taken for the input's fault: %v", err)
			}
		})
	}
}
