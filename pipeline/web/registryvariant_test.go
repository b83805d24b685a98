package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
)

// TestImportRegistryVariantPage: on the communes page, a file whose code
// differs from a stored one only by case is refused with the code to
// write; a stored variant (as an older version let in) makes the import
// of the right code refuse in the page's language, naming it, and with
// the box ticked it is removed and listed.
func TestImportRegistryVariantPage(t *testing.T) {
	t.Parallel()
	demo, err := os.ReadFile(broadcasttest.DemoRegistry)
	if err != nil {
		t.Fatal(err)
	}
	csv := "commune_code,commune_name,kind,cluster_id,cluster_name,languages,days,start,length,reserved\n" +
		"To-Hieu,Tô Hiệu,phuong,trung-tam,Loa,vi,Mon-Sat,05:30,30m,10m\n"
	en, vi := catalogue(t, "en"), catalogue(t, "vi")
	tests := []struct {
		name, lang, file string
		body             []byte
		allow            bool
		status           int
		says             []string
		variantLeft      bool
	}{
		{"a case variant in the file", "en", "r.csv", []byte(csv), false, http.StatusUnprocessableEntity,
			[]string{`id="import-error"`, `.csv:2:`, `write "to-hieu"`}, true},
		{"a stored variant, vi", "vi", "communes.yaml", demo, false, http.StatusUnprocessableEntity,
			[]string{strings.SplitN(vi["err_registry_variant_codes"], "%s", 2)[0], "Muong-Lan (muong-lan)"}, true},
		{"a stored variant, en", "en", "communes.yaml", demo, false, http.StatusUnprocessableEntity,
			[]string{"The registry holds communes whose code differs from one in the file only by case or diacritics (1): Muong-Lan (muong-lan)."}, true},
		{"a stored variant removed", "en", "communes.yaml", demo, true, http.StatusOK,
			[]string{fmt.Sprintf(en["reg_removed_communes"], 1), `<span class="mono">Muong-Lan</span> → <span class="mono">muong-lan</span>`}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := setupOn(t, objectstest.NewMemory(t))
			for _, q := range []string{
				"INSERT INTO communes (code, name, kind, time_zone, position, updated_at) VALUES ('Muong-Lan', 'Mường Lạn', 'xa', 'Asia/Ho_Chi_Minh', 100, ?)",
				"INSERT INTO clusters (commune_code, id, name, languages, position) VALUES ('Muong-Lan', 'trung-tam', '', 'vi', 0)",
			} {
				args := []any{}
				if strings.Contains(q, "updated_at") {
					args = append(args, time.Now().UTC())
				}
				if _, err := b.db.SQL().ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
			var boxes []string
			if tc.allow {
				boxes = append(boxes, "allow_removals")
			}
			resp, page := b.postRegistry(t, tc.lang, boxes, tc.file, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d, want %d\n%s", resp.StatusCode, tc.status, page)
			}
			for _, w := range tc.says {
				if !strings.Contains(page, w) {
					t.Errorf("the page lacks %q\n%s", w, page[max(0, strings.Index(page, "import-error")):min(len(page), max(0, strings.Index(page, "import-error"))+900)])
				}
			}
			cs, err := b.db.Communes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			left := false
			for _, c := range cs {
				if c.Code == "To-Hieu" {
					t.Errorf("To-Hieu was imported")
				}
				left = left || c.Code == "Muong-Lan"
			}
			if left != tc.variantLeft {
				t.Errorf("Muong-Lan left: %v, want %v", left, tc.variantLeft)
			}
		})
	}
}
