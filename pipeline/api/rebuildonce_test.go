package api_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/broadcast/broadcasttest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// rebuildLog records the rebuilds queued, and whether each was queued
// inside a transaction.
type rebuildLog struct {
	mu   sync.Mutex
	inTx []bool
}

func (l *rebuildLog) EnqueueRebuild(_ context.Context, tx *sql.Tx, _ []string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inTx = append(l.inTx, tx != nil)
	return nil
}

func (l *rebuildLog) take() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.inTx
	l.inTx = nil
	return out
}

// TestSegmentChangeQueuesOneRebuild: a priority change or a withdrawal
// through the API queues the rebuild of every commune once, inside the
// transaction that stores the change (so it exists exactly when the
// change commits), and no second one after it.
func TestSegmentChangeQueuesOneRebuild(t *testing.T) {
	log := &rebuildLog{}
	sb := setupSchedulesTuned(t, broadcasttest.Monday, func(_ *api.Server, svc *broadcast.Service, db *sqlstore.DB) {
		svc.Rebuilds = log
		db.RebuildTx = func(ctx context.Context, tx *sql.Tx, _ string) error { return log.EnqueueRebuild(ctx, tx, nil) }
	})
	producer := sb.tokens[pipeline.RoleProducer]
	seg := sb.segs[0]
	tests := []struct {
		name, method, path, body string
	}{
		{"priority raised", "PUT", "/api/segments/" + seg + "/priority", `{"priority":"priority"}`},
		{"priority lowered", "PUT", "/api/segments/" + seg + "/priority", `{"priority":"normal"}`},
		{"withdrawn", "DELETE", "/api/segments/" + seg + "?confirm=" + seg + "&reason=sai+thông+tin", ""},
	}
	log.take()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := sb.do(t, tt.method, tt.path, producer, strings.NewReader(tt.body), "application/json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, body)
			}
			if got := log.take(); len(got) != 1 || !got[0] {
				t.Errorf("rebuilds queued (true: inside the change's transaction) %v, want one, inside it", got)
			}
		})
	}
}
