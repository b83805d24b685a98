package web_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/schedules"
)

// TestFormRefusalsSayWhat: a form sent incomplete is refused with what
// was wrong in the page's language, not the general "what was sent is
// not right"; the segment is left as it was.
func TestFormRefusalsSayWhat(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	seg := "/producer/segments/" + b.segs[0]
	for _, tc := range []struct {
		name string
		role pipeline.Role
		path string
		form url.Values
		lang string
		want string
	}{
		{"withdrawal without its box", pipeline.RoleProducer, seg + "/withdraw", url.Values{"reason": {"sai"}}, "vi", "Hãy đánh dấu ô xác nhận rút bản tin"},
		{"withdrawal without its box, English", pipeline.RoleProducer, seg + "/withdraw", url.Values{}, "en", "Tick the box to confirm the withdrawal"},
		{"an unknown priority", pipeline.RoleProducer, seg + "/priority", url.Values{"priority": {"gấp"}}, "vi", "Hãy chọn mức: bình thường hoặc ưu tiên"},
		{"an emergency without a reason", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"muong-lan"}, "confirm1": {"yes"}}, "vi", "Hãy ghi lý do phát tin khẩn cấp"},
		{"a play report without its status", pipeline.RoleOperator, "/operator/plays", url.Values{"start": {"2025-03-03T05:30:00+07:00"}}, "vi", "Hãy chọn mục đã phát hay phát lỗi"},
		{"a play report without its start", pipeline.RoleOperator, "/operator/plays", url.Values{"status": {"played"}}, "vi", "Thiếu giờ bắt đầu của mục"},
		{"a play report whose start cannot be read", pipeline.RoleOperator, "/operator/plays", url.Values{"status": {"played"}, "start": {"05:30 sáng"}}, "vi",
			"Không đọc được giờ bắt đầu “05:30 sáng”: hãy ghi theo dạng ngày, chữ T, giờ và múi giờ, ví dụ 2025-03-03T05:30:00"},
		{"a play report whose start cannot be read, English", pipeline.RoleOperator, "/operator/plays", url.Values{"status": {"played"}, "start": {"2025-03-03 05:30"}}, "en",
			"The start time “2025-03-03 05:30” could not be read: give it as date, T, time and offset, e.g. 2025-03-03T05:30:00"},
		// Refusals the API makes carry their catalogue key through to the page.
		{"a played report whose length cannot be read", pipeline.RoleOperator, "/operator/plays", url.Values{"status": {"played"}, "start": {"2025-03-03T05:30:00+07:00"}, "duration_ms": {"abc"}}, "vi",
			"Không đọc được độ dài của mục “abc”"},
		{"a played report of a negative length, English", pipeline.RoleOperator, "/operator/plays", url.Values{"status": {"played"}, "start": {"2025-03-03T05:30:00+07:00"}, "duration_ms": {"-99999999"}}, "en",
			"The item’s length “-99999999” could not be read"},
		{"an emergency past the longest", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"muong-lan"}, "confirm1": {"yes"}, "confirm2": {"yes"},
			"reason": {"lũ"}, "until": {"2099-12-20T10:00"}}, "vi", "Tin khẩn cấp kéo dài tối đa"},
		{"an emergency on an unknown commune", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"khong-co"}, "confirm1": {"yes"}, "confirm2": {"yes"},
			"reason": {"lũ"}}, "vi", "Không có xã mã khong-co"},
		{"an emergency's confirm page for unknown communes", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"muong-lan", "khong-co", "xa-la"}, "confirm1": {"yes"},
			"reason": {"lũ"}}, "vi", "Không có xã mã khong-co, xa-la"},
		{"an emergency's confirm page for a code sent twice and a blank one", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"khong-co", "", "khong-co", " "}, "confirm1": {"yes"},
			"reason": {"lũ"}}, "vi", "Không có xã mã khong-co: hãy chọn xã trong danh sách; chưa phát tin nào."},
		{"an emergency's confirm page for blank codes only", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"", " "}, "confirm1": {"yes"},
			"reason": {"lũ"}}, "en", "Choose the target communes, or the whole province."},
		{"an emergency's confirm page for an unknown commune, English", pipeline.RoleProducer, seg + "/emergency", url.Values{"communes": {"khong-co"}, "confirm1": {"yes"},
			"reason": {"lũ"}}, "en", "There is no commune with code khong-co"},
		{"a play report of an item not scheduled", pipeline.RoleOperator, "/operator/plays", url.Values{"commune": {"muong-lan"}, "cluster": {"trung-tam"},
			"item": {"2025-03-03T0530!khong-co"}, "status": {"failed"}, "start": {"2025-03-03T04:00:00+07:00"}}, "vi", "Mục này không có trong lịch phát của cụm loa trung-tam"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", b.srv.URL+tc.path, strings.NewReader(tc.form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.AddCookie(b.session(t, tc.role))
			req.AddCookie(&http.Cookie{Name: "loa_lang", Value: tc.lang})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			body := string(data)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) {
				t.Fatalf("%d, want 422 saying %q:\n%s", resp.StatusCode, tc.want, body)
			}
		})
	}
	got, err := b.db.Segment(t.Context(), b.segs[0])
	if err != nil || got.State == pipeline.StateWithdrawn {
		t.Fatalf("the segment after refused forms: %v, %v", got.State, err)
	}
}

// TestRefusalKeysInCatalogues: every refusal a page form makes names a
// text the catalogues have (loadCatalog already checks the languages
// have the same keys), so none falls back to the general sentence.
func TestRefusalKeysInCatalogues(t *testing.T) {
	vi, err := os.ReadFile("messages/vi.json")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`refused\("([a-z0-9_]+)"`)
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(src), -1) {
			n++
			if !strings.Contains(string(vi), `"err_`+m[1]+`":`) {
				t.Errorf("%s: refused(%q) has no err_%s in messages/vi.json", f, m[1], m[1])
			}
		}
	}
	if n < 10 {
		t.Fatalf("found %d refusals in the pages' sources; the pattern no longer matches them", n)
	}
}

// TestOperatorPageDate: the operator's page for a date it cannot read
// says so (not today's schedule under another date), and for a date no
// schedule holds names the range, in the page's language.
func TestOperatorPageDate(t *testing.T) {
	b := setup(t)
	today := schedules.DateOf(b.db.Now().In(localtime.Location()))
	for _, tc := range []struct {
		name, date string
		want       int
		says       string
	}{
		{"today", today.String(), http.StatusOK, "muong-lan"},
		{"a date without its zeros", strings.Replace(today.String(), "-0", "-", 1), http.StatusUnprocessableEntity, "Không đọc được ngày"},
		{"a word", "mai", http.StatusUnprocessableEntity, "Không đọc được ngày “mai”"},
		{"past the days built ahead", today.AddDays(40).String(), http.StatusNotFound, "Không có lịch cho ngày " + today.AddDays(40).String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := b.do(t, "GET", "/operator?commune=muong-lan&date="+url.QueryEscape(tc.date), b.session(t, pipeline.RoleOperator), nil, "same-origin")
			if resp.StatusCode != tc.want || !strings.Contains(page, tc.says) {
				t.Fatalf("%d, want %d saying %q:\n%s", resp.StatusCode, tc.want, tc.says, page)
			}
		})
	}
}

// TestOperatorPageSpeaksItsLanguage: the operator's timeline names the
// station's relay in the page's language and writes lengths as a clock
// does, not as Go's "10m0s".
func TestOperatorPageSpeaksItsLanguage(t *testing.T) {
	b := setup(t)
	resp, page := b.do(t, "GET", "/operator?commune=muong-lan", b.session(t, pipeline.RoleOperator), nil, "same-origin")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d:\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `<p class="what">Tiếp sóng`) {
		t.Errorf("the relay is not named in Vietnamese:\n%s", page)
	}
	if goStyle := regexp.MustCompile(`· [0-9hm]+[0-9]s\b`).FindString(page); goStyle != "" {
		t.Errorf("a length written as Go writes it (%q):\n%s", goStyle, page)
	}
}

// TestForbiddenPagesAdvise: a page refused for the user's role says to
// ask an administrator for another role; a request refused for coming
// from another site does not (no role would let it through) and says to
// open Loa directly.
func TestForbiddenPagesAdvise(t *testing.T) {
	b := setup(t)
	resp, page := b.do(t, "GET", "/admin/communes", b.session(t, pipeline.RoleOperator), nil, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, `id="role-help"`) {
		t.Errorf("an operator on the admin's page: %d, want 403 with the role advice:\n%s", resp.StatusCode, page)
	}
	resp, page = b.do(t, "POST", "/account/sign-out-everywhere", b.session(t, pipeline.RoleProducer), url.Values{}, "cross-site")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(page, "được cấp vai trò") || !strings.Contains(page, "Hãy mở Loa trực tiếp") {
		t.Errorf("a cross-site form: %d, want 403 saying to open Loa directly, without the role advice:\n%s", resp.StatusCode, page)
	}
}
