package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// pageItem is one item of the operator's timeline as the page shows it.
type pageItem struct {
	id    string
	start time.Time
	relay bool
	form  bool   // it offers the played / did not play buttons
	hint  string // the "report after it has aired" text, if shown
}

var (
	itemStart = regexp.MustCompile(`^[^>]*id="([^"]+)">\s*<p class="when"><time datetime="([^"]+)">`)
	itemHint  = regexp.MustCompile(`<p class="hint not-aired">([^<]*)</p>`)
)

// operatorItems reads the items of the operator's page in lang.
func operatorItems(t *testing.T, b *bundle, ck *http.Cookie, lang string) []pageItem {
	t.Helper()
	req, err := http.NewRequest("GET", b.srv.URL+"/operator", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(ck)
	req.AddCookie(&http.Cookie{Name: "loa_lang", Value: lang})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator page: %d\n%s", resp.StatusCode, data)
	}
	var items []pageItem
	for _, block := range strings.Split(string(data), `<li class="item`)[1:] {
		block, _, _ = strings.Cut(block, "</li>")
		m := itemStart.FindStringSubmatch(block)
		if m == nil {
			t.Fatalf("an item without its id and time:\n%s", block)
		}
		start, err := time.Parse(time.RFC3339, m[2])
		if err != nil {
			t.Fatal(err)
		}
		it := pageItem{id: m[1], start: start, form: strings.Contains(block, `action="/operator/plays"`),
			relay: strings.Contains(block, "Tiếp sóng (") || strings.Contains(block, "Relay (")}
		if h := itemHint.FindStringSubmatch(block); h != nil {
			it.hint = h[1]
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		t.Fatalf("no items on the operator's page:\n%s", data)
	}
	return items
}

// TestOperatorReportsOnlyAiredItems: the operator's page offers "played"
// and "did not play" only for items whose start has come by the server's
// clock; an item still to come says when it is scheduled and to report
// it after it has aired, in the page's language. A report of such an
// item (a page kept open, a form sent by hand) is refused with that
// sentence, not with advice about the device's clock; once the item has
// aired the same report is taken.
func TestOperatorReportsOnlyAiredItems(t *testing.T) {
	b := setupOn(t, objectstest.NewMemory(t))
	ck := b.session(t, pipeline.RoleOperator)
	zone := localtime.Location()
	now := b.db.Now() // 04:30 on Monday, before the morning slot
	items := operatorItems(t, b, ck, "vi")
	var first pageItem // the first item that can be reported
	for _, it := range items {
		if !it.relay {
			first = it
			break
		}
	}
	if first.id == "" {
		t.Fatal("no item but relays on the page")
	}
	at := first.start.In(zone).Format("15:04")
	if !first.start.After(now) {
		t.Fatalf("the set-up's clock %s is not before the first item %s", now, first.start)
	}

	report := func(lang string, start time.Time) (int, string) {
		t.Helper()
		form := url.Values{"commune": {"muong-lan"}, "cluster": {"trung-tam"}, "item": {first.id}, "status": {"played"},
			"start": {start.Format(time.RFC3339)}, "duration_ms": {"30000"}, "date": {start.In(zone).Format("2006-01-02")}}
		req, err := http.NewRequest("POST", b.srv.URL+"/operator/plays", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(ck)
		req.AddCookie(&http.Cookie{Name: "loa_lang", Value: lang})
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	tomorrow := first.start.AddDate(0, 0, 1)
	for _, tc := range []struct {
		name  string
		lang  string
		start time.Time
		want  string
	}{
		{"today's item, Vietnamese", "vi", first.start, "Mục này có lịch phát lúc " + at + "; hãy báo sau khi mục đã phát."},
		{"today's item, English", "en", first.start, "This item is scheduled for " + at + "; report it after it has aired."},
		{"tomorrow's item, Vietnamese", "vi", tomorrow, "Mục này có lịch phát lúc " + at + " ngày " + tomorrow.In(zone).Format("02/01/2006") + "; hãy báo sau khi mục đã phát."},
		{"tomorrow's item, English", "en", tomorrow, "This item is scheduled for " + at + " on " + tomorrow.In(zone).Format("02/01/2006") + "; report it after it has aired."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := report(tc.lang, tc.start)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, tc.want) || strings.Contains(body, "đồng hồ") || strings.Contains(body, "clock") {
				t.Fatalf("%d, want 422 saying %q and nothing of clocks:\n%s", status, tc.want, body)
			}
		})
	}

	// The page before the slot, and once the first item has begun (the
	// items after it have not).
	for _, step := range []struct {
		name    string
		advance time.Duration
	}{{"before the morning slot", 0}, {"once the first item has begun", first.start.Sub(now) + time.Second}} {
		b.advance(step.advance)
		now := b.db.Now()
		ck = b.session(t, pipeline.RoleOperator) // a session of an hour
		for _, lang := range []string{"vi", "en"} {
			t.Run(step.name+", "+lang, func(t *testing.T) {
				aired, pending := 0, 0
				for _, it := range operatorItems(t, b, ck, lang) {
					hhmm := it.start.In(zone).Format("15:04")
					want := map[string]string{"vi": "Lịch phát lúc " + hhmm + ": hãy báo sau khi mục đã phát.",
						"en": "Scheduled for " + hhmm + ": report it after it has aired."}[lang]
					switch {
					case it.relay:
						if it.form || it.hint != "" {
							t.Errorf("relay %s: form %v, hint %q", it.id, it.form, it.hint)
						}
					case it.start.After(now):
						pending++
						if it.form || it.hint != want {
							t.Errorf("%s at %s, not aired at %s: form %v, hint %q; want no form and %q", it.id, it.start, now, it.form, it.hint, want)
						}
					default:
						aired++
						if !it.form || it.hint != "" {
							t.Errorf("%s at %s, aired at %s: form %v, hint %q; want the form", it.id, it.start, now, it.form, it.hint)
						}
					}
				}
				if step.advance == 0 && (aired != 0 || pending == 0) || step.advance > 0 && (aired == 0 || pending == 0) {
					t.Errorf("%d items aired, %d to come at %s", aired, pending, now)
				}
			})
		}
	}
	if status, body := report("vi", first.start); status != http.StatusSeeOther {
		t.Fatalf("the report once the item has aired: %d\n%s", status, body)
	}
}
