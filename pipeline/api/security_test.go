package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/pipeline"
)

// TestDuplicateScope: an upload of bytes already stored is answered with
// the earlier segment only when the uploader may see it (their own, or
// any for an admin) and it is not withdrawn; another producer gets a
// segment of their own, and nothing of the first producer's leaks.
func TestDuplicateScope(t *testing.T) {
	mediatest.Need(t)
	b := setup(t, nil)
	ctx := t.Context()
	other, err := b.db.CreateUser(ctx, pipeline.NewUser{Name: "bao-son-la", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := b.db.CreateToken(ctx, other.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	srt := []byte("1\n00:00:00,000 --> 00:00:02,000\nBí mật của đài\n")
	status, first, _ := b.upload(t, pipeline.RoleProducer, radioFields("Bản của đài tỉnh"), srt, "a.mp3", speech)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d", status)
	}
	upload := func(token, title string) (int, []byte) {
		body, ct := multipartBody(t, radioFields(title), nil, "b.mp3", speech)
		resp, raw := b.do(t, "POST", "/api/segments", token, body, ct)
		return resp.StatusCode, raw
	}

	// Another producer: a new segment of their own, nothing of the first.
	code, raw := upload(otherTok, "Bản của báo")
	if code != http.StatusCreated || strings.Contains(string(raw), first.ID) || strings.Contains(string(raw), "Bản của đài tỉnh") ||
		strings.Contains(string(raw), "subtitles") {
		t.Fatalf("another producer's upload of the same bytes: %d %s", code, raw)
	}
	// The same producer again, and an admin: the first segment.
	for _, who := range []pipeline.Role{pipeline.RoleProducer, pipeline.RoleAdmin} {
		if code, raw := upload(b.tokens[who], "Lần hai"); code != http.StatusOK || !strings.Contains(string(raw), first.ID) {
			t.Fatalf("%s uploading the same bytes: %d %s, want the first segment", who, code, raw)
		}
	}
	// Withdrawn content is never handed back: the upload is a new segment.
	if r, body := b.do(t, "DELETE", "/api/segments/"+first.ID+"?reason=sai", b.tokens[pipeline.RoleProducer], nil, ""); r.StatusCode != 200 {
		t.Fatalf("withdraw: %d %s", r.StatusCode, body)
	}
	code, raw = upload(b.tokens[pipeline.RoleProducer], "Bản sửa")
	if code != http.StatusCreated || strings.Contains(string(raw), first.ID) {
		t.Fatalf("upload after withdrawal: %d %s, want a new segment", code, raw)
	}
}
