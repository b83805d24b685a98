package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestBearerSchemeAnyCase: the Authorization scheme is case-insensitive
// (RFC 9110, section 11.1): "bearer" and "BEARER" sign in like "Bearer";
// another scheme, or none, is told how to sign in.
func TestBearerSchemeAnyCase(t *testing.T) {
	b := setup(t, nil)
	tok := b.tokens[pipeline.RoleProducer]
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + tok, http.StatusOK},
		{"bearer " + tok, http.StatusOK},
		{"BEARER  " + tok, http.StatusOK},
		{"Basic " + tok, http.StatusUnauthorized},
		{"Bearer", http.StatusUnauthorized},
		{tok, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest("GET", b.srv.URL+"/api/segments", nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization: %.12q…: %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
}

// TestSegmentListStateChecked: an unknown state filter is refused with
// the states there are, not answered with an empty list.
func TestSegmentListStateChecked(t *testing.T) {
	b := setup(t, nil)
	tok := b.tokens[pipeline.RoleProducer]
	if resp, body := b.do(t, "GET", "/api/segments?state=xx", tok, nil, ""); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "probed, processed, failed or withdrawn") {
		t.Errorf("state=xx: %d %s, want 422 naming the states", resp.StatusCode, body)
	}
	if resp, body := b.do(t, "GET", "/api/segments?state=processed", tok, nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("state=processed: %d %s", resp.StatusCode, body)
	}
}

// TestUploadFieldSentTwice: a metadata field sent twice is refused
// (which one was meant is not ours to guess), naming the field and both
// values, with nothing stored; languages may be repeated.
func TestUploadFieldSentTwice(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	fields := append(radioFields("Hai lần"), [2]string{"kind", "tv"})
	status, _, bad := b.upload(t, pipeline.RoleProducer, fields, nil, "a.mp3", speech)
	if status != http.StatusUnprocessableEntity || bad.Error.Field != "kind" || !strings.Contains(bad.Error.Message, `"radio", "tv"`) {
		t.Fatalf("kind sent twice: %d %+v, want 422 on kind naming both values", status, bad)
	}
	if segs, err := b.db.Segments(t.Context(), pipeline.SegmentFilter{}); err != nil || len(segs) != 0 {
		t.Fatalf("segments after the refusal: %d %v", len(segs), err)
	}
	langs := append(radioFields("Hai ngôn ngữ"), [2]string{"languages", "vi"}, [2]string{"languages", "blt"})
	if status, res, bad := b.upload(t, pipeline.RoleProducer, langs, nil, "a.mp3", speech); status != http.StatusCreated || len(res.Languages) != 2 {
		t.Fatalf("languages repeated: %d %+v %+v", status, res.Languages, bad)
	}
}

// TestForbiddenNamesTheRoles: a role refused a route is told which roles
// it is for, so a user knows which token to use.
func TestForbiddenNamesTheRoles(t *testing.T) {
	b := setup(t, nil)
	resp, body := b.do(t, "GET", "/api/users", b.tokens[pipeline.RoleProducer], nil, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "GET /api/users is for admin.") {
		t.Fatalf("producer on /api/users: %d %s, want 403 saying it is for admin", resp.StatusCode, body)
	}
}
