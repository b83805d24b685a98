package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// reportLink is one period's report in each format.
type reportLink struct {
	Period, Label   string
	HTML, XLSX, CSV string
}

// reportsPage lists the plan's reporting periods (quarters, halves and
// the year, this year and last) with links to the API's reports in each
// format, a form for any other period, and the reports the server has
// stored.
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	link := func(period, format string) string {
		return "/api/reports?period=" + url.QueryEscape(period) + "&format=" + format
	}
	year := s.cfg.Now().In(s.zone).Year()
	var periods []reportLink
	for _, y := range []int{year, year - 1} {
		for _, p := range []struct{ suffix, key string }{
			{"-Q1", "rep_q1"}, {"-Q2", "rep_q2"}, {"-H1", "rep_h1"}, {"-Q3", "rep_q3"}, {"-Q4", "rep_q4"}, {"-H2", "rep_h2"}, {"", "rep_year"},
		} {
			period := fmt.Sprint(y) + p.suffix
			periods = append(periods, reportLink{Period: period, Label: fmt.Sprintf(c.msgs[p.key], y),
				HTML: link(period, "html"), XLSX: link(period, "xlsx"), CSV: link(period, "csv")})
		}
	}
	var stored []api.StoredReportLink
	if err := s.callAPI(r, "GET", "/api/reports/stored", nil, &stored); err != nil && pipeline.ErrorCode(err) != pipeline.CodeUnavailable {
		return err
	}
	s.render(w, r, c, http.StatusOK, "reports", "title_reports", struct {
		Periods []reportLink
		Stored  []api.StoredReportLink
	}{periods, stored})
	return nil
}
