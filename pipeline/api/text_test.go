package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// TestInvisibleCharactersRefused: a title with a tab or a bidirectional
// control is refused at the door (422 on title, naming the character and
// its place) and leaves nothing; one typed with combining marks is stored
// in NFC. A withdrawal whose reason has such a character withdraws
// nothing.
func TestInvisibleCharactersRefused(t *testing.T) {
	mediatest.Need(t)
	b := setupAt(t, objectstest.NewMemory(t), nil, broadcasttest.Clock(broadcasttest.Monday))
	speech := readFile(t, mediatest.SpeechMP3(t, t.TempDir()))
	for _, c := range []struct{ title, want string }{
		{"Tin B\ttab", `The title has an invisible or control character, U+0009 TAB, at character 6 (after "Tin B")`},
		{"Tin B\u202ertl", "U+202E RIGHT-TO-LEFT OVERRIDE, at character 6"},
		{"ad\u200bmin", "U+200B ZERO WIDTH SPACE, at character 3"},
	} {
		status, _, bad := b.upload(t, pipeline.RoleProducer, radioFields(c.title), nil, "a.mp3", speech)
		if status != http.StatusUnprocessableEntity || bad.Error.Field != "title" || !strings.Contains(bad.Error.Message, c.want) {
			t.Errorf("title %q: %d %+v, want 422 on title saying %q", c.title, status, bad, c.want)
		}
		if objs, segs, ups := b.leftovers(t); objs+segs+ups != 0 {
			t.Fatalf("refusal left %d objects, %d segments, %d upload rows", objs, segs, ups)
		}
	}
	status, res, bad := b.upload(t, pipeline.RoleProducer, radioFields("Mo\u0323\u0302t cu\u031b\u0309a"), nil, "a.mp3", speech)
	if status != http.StatusCreated || res.Title != "Một cửa" {
		t.Fatalf("title with combining marks: %d %q %+v, want 201 with the title in NFC", status, res.Title, bad)
	}
	q := url.Values{"confirm": {res.ID}, "reason": {"rút\u202e"}}
	resp, raw := b.do(t, "DELETE", "/api/segments/"+res.ID+"?"+q.Encode(), b.tokens[pipeline.RoleProducer], nil, "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "U+202E RIGHT-TO-LEFT OVERRIDE, at character 4") {
		t.Fatalf("withdrawal with an override in its reason: %d %s, want 422", resp.StatusCode, raw)
	}
	if seg, err := b.db.Segment(t.Context(), res.ID); err != nil || seg.State == pipeline.StateWithdrawn {
		t.Fatalf("a refused withdrawal withdrew it: %+v %v", seg.State, err)
	}
	q.Set("reason", "Sai số liệu\nsẽ gửi lại")
	resp, raw = b.do(t, "DELETE", "/api/segments/"+res.ID+"?"+q.Encode(), b.tokens[pipeline.RoleProducer], nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("withdrawal with a two-line reason: %d %s", resp.StatusCode, raw)
	}
}
