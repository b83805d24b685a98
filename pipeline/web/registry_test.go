package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// TestImportRegistryRemovalsPage: the communes page's import of a
// registry that leaves out a cluster of a commune it lists is refused in
// the page's language, naming the cluster and the box to tick, and
// changes nothing; with the box ticked the import goes through and the
// page lists the removed cluster.
func TestImportRegistryRemovalsPage(t *testing.T) {
	t.Parallel()
	demo, err := os.ReadFile(broadcasttest.DemoRegistry)
	if err != nil {
		t.Fatal(err)
	}
	const mong = "      - {id: ban-mong, name: Cụm loa các bản Mông, languages: [hnj, vi]}\n"
	i := bytes.Index(demo, []byte(mong))
	if i < 0 {
		t.Fatal("the demo registry changed: no Mông cluster line in Mường Lạn")
	}
	cut := append(append([]byte{}, demo[:i]...), demo[i+len(mong):]...)
	en, vi := catalogue(t, "en"), catalogue(t, "vi")
	tests := []struct {
		name, lang string
		allow      bool
		dry        bool // the "check only" button
		status     int
		says       []string
		clusters   int // Mường Lạn's afterwards
	}{
		{"refused, vi", "vi", false, false, http.StatusUnprocessableEntity,
			[]string{`id="import-error"`, strings.SplitN(vi["err_registry_removals"], "%s", 2)[0], "muong-lan/ban-mong", vi["reg_allow_removals"]}, 2},
		{"refused, en", "en", false, false, http.StatusUnprocessableEntity,
			[]string{"The file no longer lists clusters its communes have now (1): muong-lan/ban-mong.", "tick “Remove the clusters the file no longer lists”"}, 2},
		{"allowed, en", "en", true, false, http.StatusOK,
			[]string{`id="notice"`, fmt.Sprintf(en["reg_removed"], 1), `<li class="mono">muong-lan/ban-mong</li>`}, 1},
		{"allowed, vi", "vi", true, false, http.StatusOK, []string{fmt.Sprintf(vi["reg_removed"], 1), "muong-lan/ban-mong"}, 1},
		// Checked only: the page says what the import would change and
		// that it would be refused without the box; nothing changes.
		{"checked, vi", "vi", false, true, http.StatusOK, []string{`id="dry-run"`, fmt.Sprintf(vi["reg_dry"], 7, 13, 15, 0),
			`<dd id="dry-removed"><span class="mono">muong-lan/ban-mong</span></dd>`, `<dd id="dry-added">` + vi["reg_dry_none"], vi["reg_dry_refused"]}, 2},
		{"checked with the box, en", "en", true, true, http.StatusOK, []string{`id="dry-run"`, `<dd id="dry-removed"><span class="mono">muong-lan/ban-mong</span></dd>`,
			fmt.Sprintf(en["reg_dry_unchanged"], 13)}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupOn(t, objectstest.NewMemory(t))
			var boxes []string
			if tc.allow {
				boxes = append(boxes, "allow_removals")
			}
			if tc.dry {
				boxes = append(boxes, "dry_run")
			}
			resp, page := b.postRegistry(t, tc.lang, boxes, "communes.yaml", cut)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d\n%s", resp.StatusCode, tc.status, page)
			}
			for _, w := range tc.says {
				if !strings.Contains(page, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			if tc.dry && (strings.Contains(page, `id="dry-refused"`) == tc.allow || strings.Contains(page, `id="notice"`)) {
				t.Errorf("a check with the box %v says the import would be refused: %v", tc.allow, strings.Contains(page, `id="dry-refused"`))
			}
			if !strings.Contains(page, `name="allow_removals"`) {
				t.Errorf("the page has no allow_removals box")
			}
			cs, err := b.db.Communes(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Code == "muong-lan" && c.Clusters != tc.clusters {
					t.Errorf("muong-lan has %d clusters, want %d", c.Clusters, tc.clusters)
				}
			}
		})
	}
}

// postRegistry sends the communes page's import form as an administrator
// in lang: the ticked boxes (form names, value "yes") and the file; it
// returns the answer and its page, HTML entities unescaped.
func (b *bundle) postRegistry(t *testing.T, lang string, boxes []string, name string, body []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, box := range boxes {
		_ = mw.WriteField(box, "yes")
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(body)
	_ = mw.Close()
	req, err := http.NewRequest("POST", b.srv.URL+"/admin/communes", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(b.session(t, pipeline.RoleAdmin))
	req.AddCookie(&http.Cookie{Name: "loa_lang", Value: lang})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, html.UnescapeString(string(data))
}
