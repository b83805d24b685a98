package web

import (
	"net/http"
	"slices"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/schedules"
)

// devRow is one commune player as the operator's and the admin's pages
// show it.
type devRow struct {
	api.DeviceView
	// Badge is the state's badge class.
	Badge string
	// Playing lists "cluster: item" for each cluster sounding now.
	Playing []string
}

// devices reads the players of path's listing (GET
// /api/communes/{code}/devices or GET /api/devices). ok is false when
// this server keeps no heartbeats.
func (s *Server) devices(r *http.Request, path string) (rows []devRow, ok bool, err error) {
	var list []api.DeviceView
	if err := s.callAPI(r, "GET", path, nil, &list); err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeUnavailable {
			return nil, false, nil
		}
		return nil, false, err
	}
	for _, d := range list {
		row := devRow{DeviceView: d, Badge: "st_failed"}
		switch d.State {
		case schedules.DeviceOnline:
			row.Badge = "st_ready"
		case schedules.DeviceLate:
			row.Badge = "st_processing"
		}
		if d.Heartbeat != nil {
			for c, what := range d.Heartbeat.Playing {
				row.Playing = append(row.Playing, c+": "+what)
			}
			slices.Sort(row.Playing)
		}
		rows = append(rows, row)
	}
	return rows, true, nil
}
