package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
)

// NoticeStore lists the notices whose delivery is in doubt, newest
// attempt first, at most limit; *sqlstore.DB has it (as the JobStore).
type NoticeStore interface {
	MaybeSentNotices(ctx context.Context, limit int) ([]notify.MaybeSent, error)
}

// The page of GET /api/notices: ?limit= up to maxNoticesPage.
const (
	defaultNoticesPage = 50
	maxNoticesPage     = 200
)

// noticeStateMaybeSent is the one state GET /api/notices lists.
const noticeStateMaybeSent = "maybe_sent"

// noticeRoutes are the administrator's view of notice deliveries.
func (s *Server) noticeRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/notices", Roles: adminOnly, handler: s.listNotices},
	}
}

// listNotices answers GET /api/notices?state=maybe_sent[&limit=N]: the
// notices that may or may not have reached their recipient (an
// administrator should check with them), newest attempt first, at most
// limit (default 50, at most 200), as a JSON array of notify.MaybeSent.
func (s *Server) listNotices(w http.ResponseWriter, r *http.Request, _ pipeline.User) error {
	ns, ok := s.JobStore.(NoticeStore)
	if !ok {
		return pipeline.Errorf(pipeline.CodeUnavailable, "Notices are not set up on this server.")
	}
	q := r.URL.Query()
	if st := q.Get("state"); st != noticeStateMaybeSent {
		return pipeline.FieldError("state", "state must be %q (the notices whose delivery is in doubt); it was %q.", noticeStateMaybeSent, st)
	}
	limit := defaultNoticesPage
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxNoticesPage {
			return pipeline.FieldError("limit", "limit must be a number from 1 to %d; it was %q.", maxNoticesPage, l)
		}
		limit = n
	}
	list, err := ns.MaybeSentNotices(r.Context(), limit)
	if err != nil {
		return err
	}
	if list == nil {
		list = []notify.MaybeSent{}
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
