package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/schedules"
)

// TestPlaylistDateExact: a playlist's date is exactly YYYY-MM-DD; one
// with a space or anything else around it is refused with the shape
// expected, not served as the same day under another address.
func TestPlaylistDateExact(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	base := "/api/communes/muong-lan/clusters/trung-tam/playlists/"
	if resp, _ := sb.get(t, base+sb.today+".m3u8", op); resp.StatusCode != http.StatusOK {
		t.Fatalf("today's playlist: %d", resp.StatusCode)
	}
	for _, file := range []string{
		sb.today + "%20.m3u8",
		"%20" + sb.today + ".json",
		sb.today + "%0A.m3u8",
		sb.today + "%09.json",
		strings.Replace(sb.today, "-0", "-", 1) + ".m3u8",
	} {
		resp, body := sb.get(t, base+file, op)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "YYYY-MM-DD") {
			t.Errorf("%s: %d, want 422 saying YYYY-MM-DD\n%s", file, resp.StatusCode, body)
		}
	}
}

// TestPlaylistDateWindow: a date no schedule can hold is 404 with the
// range that is served: before the week of history the builder keeps, or
// past the 7 days it builds ahead (the server's injected clock decides
// today, in Asia/Ho_Chi_Minh); a date inside it with nothing scheduled
// is still 200 with an empty playlist.
func TestPlaylistDateWindow(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/communes/muong-lan/clusters/trung-tam/playlists/"
	check := func(d schedules.Date, format string, want int) {
		t.Helper()
		resp, body := sb.get(t, base+d.String()+"."+format, op)
		if resp.StatusCode != want {
			t.Errorf("%s.%s: %d, want %d\n%s", d, format, resp.StatusCode, want, body)
			return
		}
		if want == http.StatusNotFound {
			first, last := today.AddDays(-7), today.AddDays(6)
			if msg := string(body); !strings.Contains(msg, "No playlist for "+d.String()) || !strings.Contains(msg, first.String()+" to "+last.String()) {
				t.Errorf("%s: the 404 does not name the date and the range served:\n%s", d, msg)
			}
		}
	}
	for _, tc := range []struct {
		date schedules.Date
		want int
	}{
		{today, http.StatusOK},
		{today.AddDays(6), http.StatusOK},  // the last day built ahead
		{today.AddDays(-7), http.StatusOK}, // the oldest day of history: nothing scheduled, still served
		{today.AddDays(7), http.StatusNotFound},
		{today.AddDays(-8), http.StatusNotFound},
		{schedules.Date{Year: 0, Month: time.January, Day: 1}, http.StatusNotFound},
		{schedules.Date{Year: 9999, Month: time.December, Day: 31}, http.StatusNotFound},
	} {
		check(tc.date, "m3u8", tc.want)
		check(tc.date, "json", tc.want)
	}
	resp, body := sb.get(t, base+today.AddDays(-7).String()+".json", op)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"entries": []`) && !strings.Contains(string(body), `"entries":[]`) {
		t.Errorf("a day of history with nothing scheduled: %d %s", resp.StatusCode, body)
	}
	// The window moves with the server's clock, not the wall clock.
	sb.advance(3 * 24 * time.Hour)
	today = today.AddDays(3)
	check(today.AddDays(6), "m3u8", http.StatusOK)
	check(today.AddDays(-8), "m3u8", http.StatusNotFound)
	// It turns at midnight in Asia/Ho_Chi_Minh, though the server works
	// it out once a day (the test's clock runs on with the real one: a
	// minute before midnight leaves room for a slow machine).
	sb.advance(today.AddDays(1).In(broadcast.Location()).Sub(sb.svc.Now()) - time.Minute)
	check(today.AddDays(7), "m3u8", http.StatusNotFound)
	check(today.AddDays(-7), "m3u8", http.StatusOK)
	sb.advance(time.Minute)
	today = today.AddDays(1)
	check(today.AddDays(6), "m3u8", http.StatusOK)
	check(today.AddDays(-8), "m3u8", http.StatusNotFound)
}

// TestScheduleDateWindow: the commune schedule route ('loa schedule show
// --date') holds the same window as playlists: a date past the days
// built ahead or before the history kept is 404 naming the range, not an
// empty schedule as if nothing were planned that day.
func TestScheduleDateWindow(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	today, err := schedules.ParseDate(sb.today)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		date schedules.Date
		want int
	}{
		{today, http.StatusOK},
		{today.AddDays(6), http.StatusOK},
		{today.AddDays(7), http.StatusNotFound},
		{today.AddDays(-8), http.StatusNotFound},
	} {
		resp, body := sb.get(t, "/api/communes/muong-lan/schedule?date="+tc.date.String(), op)
		if resp.StatusCode != tc.want {
			t.Errorf("schedule of %s: %d, want %d\n%s", tc.date, resp.StatusCode, tc.want, body)
			continue
		}
		if tc.want == http.StatusNotFound && !strings.Contains(string(body), "No schedule for "+tc.date.String()) {
			t.Errorf("schedule of %s: the 404 does not name the date:\n%s", tc.date, body)
		}
	}
}

// TestOperatorCannotTellCodesApart: an operator asking for a commune they
// do not answer for gets the same 404 whether its code exists or not, so
// the answers do not list the province's codes.
func TestOperatorCannotTellCodesApart(t *testing.T) {
	sb := setupSchedules(t)
	op := sb.tokens[pipeline.RoleOperator]
	answer := func(code string) string {
		t.Helper()
		resp, body := sb.get(t, "/api/communes/"+code+"/clusters/trung-tam/playlists/"+sb.today+".m3u8", op)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("%s: %d, want 404\n%s", code, resp.StatusCode, body)
		}
		return strings.ReplaceAll(string(body), code, "CODE")
	}
	if real, made := answer("ta-xua"), answer("khong-co-xa-nay"); real != made {
		t.Errorf("an existing commune and a made-up one answer differently:\n%s\n%s", real, made)
	}
}
