package api_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/notify/notifytest"
	"github.com/sonla-cchc/loa/pipeline/worker"
	"github.com/sonla-cchc/loa/pipeline/worker/workertest"
)

// TestMaybeSentNotices: two notices go through a real worker to a real
// SMTP conversation, one sent and one whose server's answer is lost; GET
// /api/notices?state=maybe_sent shows the administrator the second, with
// its key, recipient, kind, time of attempt and warning, and not the
// first; every other role is refused (403), and a state or limit it does
// not know is a 422 naming the field.
func TestMaybeSentNotices(t *testing.T) {
	ctx := context.Background()
	b := setup(t, nil)
	b.api.JobStore = b.db
	srv := notifytest.Start(t, &notifytest.SMTPServer{HangUp: func(rcpt string) bool { return strings.HasPrefix(rcpt, "hangup") }})
	sender := &notify.SMTP{Addr: srv.Addr(), From: "loa@sonla.example", Timeout: 5 * time.Second}
	w, err := worker.New(worker.Config{DB: b.db.SQL(), Catalog: b.db, SweepSpec: "0 0 1 1 *", Work: true, Log: slog.New(slog.DiscardHandler),
		Translation: worker.TranslationConfig{Store: b.db, Spec: "0 0 1 1 *", DigestSpec: "0 0 1 1 *", Senders: []notify.Sender{sender}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	var ids []int64
	for i, name := range []string{"sent-a", "hangup-b"} {
		m := notify.Message{To: notify.Recipient{UserID: int64(40 + i), Name: name, Role: "reviewer", Email: name + "@sonla.example"},
			Kind: notify.KindSubmitted, JobID: "j-" + name, Subject: "Bản dịch chờ duyệt", Body: "Có bản dịch chờ duyệt."}
		res, err := w.Client.Insert(ctx, worker.SendNoticeArgs{Channel: sender.Name(), Message: m, Key: worker.NoticeKey(5, int64(40+i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Job.ID)
	}
	workertest.WaitCompleted(t, ctx, w.Client, ids...)

	var got []notify.MaybeSent
	b.call(t, pipeline.RoleAdmin, "GET", "/api/notices?state=maybe_sent", "", "", 200, &got)
	if len(got) != 1 {
		t.Fatalf("maybe sent: %+v, want the notice to hangup-b only", got)
	}
	m := got[0]
	if m.Key != worker.NoticeKey(5, 41) || m.To.Name != "hangup-b" || m.To.Email != "hangup-b@sonla.example" || m.To.UserID != 41 ||
		m.Kind != notify.KindSubmitted || m.JobID != "j-hangup-b" || m.AttemptedAt.IsZero() || m.QueueJobID != ids[1] ||
		!strings.Contains(m.Warning, "answer was lost") {
		t.Errorf("entry %+v: want the key, recipient, kind, attempt time and the channel's warning", m)
	}
	for _, role := range []pipeline.Role{pipeline.RoleProducer, pipeline.RoleOperator, pipeline.RoleTranslator, pipeline.RoleReviewer} {
		b.call(t, role, "GET", "/api/notices?state=maybe_sent", "", "", 403, nil)
	}
	for _, q := range []string{"", "?state=sent", "?state=maybe_sent&limit=0", "?state=maybe_sent&limit=201", "?state=maybe_sent&limit=x"} {
		if msg := b.call(t, pipeline.RoleAdmin, "GET", "/api/notices"+q, "", "", 422, nil); !strings.Contains(msg, "state") && !strings.Contains(msg, "limit") {
			t.Errorf("GET /api/notices%s: %s, want the field at fault", q, msg)
		}
	}
	b.call(t, pipeline.RoleAdmin, "GET", "/api/notices?state=maybe_sent&limit=1", "", "", 200, &got)
	if len(got) != 1 {
		t.Errorf("a page of 1: %+v", got)
	}
}
