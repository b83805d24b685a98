package worker

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// fakeSender records messages; fail makes every send fail.
type fakeSender struct {
	name string
	mu   sync.Mutex
	got  []notify.Message
	fail bool
}

func (f *fakeSender) Name() string { return f.name }

func (f *fakeSender) Send(ctx context.Context, m notify.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("smtp server down")
	}
	f.got = append(f.got, m)
	return nil
}

// TestJobSweepWithClock drives lease expiry through the worker's sweep
// with a clock the test moves (no sleeping), and checks the notices become
// River delivery jobs in the real queue, once.
func TestJobSweepWithClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	now := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db.Now = clock
	prod, err := db.CreateUser(ctx, pipeline.NewUser{Name: "p", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.CreateUser(ctx, pipeline.NewUser{Name: "lo-van-a", Role: pipeline.RoleTranslator, Password: "mat-khau-dai-du", Languages: []string{"blt"}})
	if err != nil {
		t.Fatal(err)
	}
	seg := pipeline.Segment{ID: "s1", SHA256: "x", Title: "Dịch vụ công", Kind: pipeline.KindRadio, Topic: "digital", Priority: pipeline.PriorityNormal,
		AirFrom: now, AirUntil: now.Add(time.Hour), Languages: []string{"vi", "blt"}, State: pipeline.StateProbed, ProducerID: prod.ID,
		OriginalKey: "segments/s1/original", ContentType: "audio/mpeg", CreatedAt: now, UpdatedAt: now}
	if _, _, err := db.InsertSegment(ctx, seg, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveProcessed(ctx, "s1", nil, nil, func(tx *sql.Tx) error { return db.OpenJobsTx(ctx, tx, seg, sqlstore.JobOptions{}) }); err != nil {
		t.Fatal(err)
	}
	js, _ := db.Jobs(ctx, translation.Filter{})
	if _, err := db.ApplyJob(ctx, js[0].ID, translation.DefaultPolicy(), translation.Request{Action: translation.ActionClaim, By: tr, Now: now}, nil); err != nil {
		t.Fatal(err)
	}

	webhook := &fakeSender{name: "webhook"}
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "*/15 * * * *", Now: clock,
		Translation: TranslationConfig{Store: db, Senders: []notify.Sender{webhook}}})
	if err != nil {
		t.Fatal(err)
	}
	insert := func(ctx context.Context, tx *sql.Tx, args river.JobArgs) error {
		_, err := w.Client.InsertTx(ctx, tx, args, nil)
		return err
	}
	log := slog.New(slog.DiscardHandler)
	countQueued := func() int {
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = 'send_notice'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	res, queued, err := SweepJobs(ctx, db, []notify.Sender{webhook}, now, 24*time.Hour, insert, log)
	if err != nil || res.Expired != 0 || queued != 1 || countQueued() != 1 {
		t.Fatalf("first sweep: %+v queued %d (%d in the queue) %v; want only the new-job notice", res, queued, countQueued(), err)
	}
	now = now.Add(48 * time.Hour)
	res, queued, err = SweepJobs(ctx, db, []notify.Sender{webhook}, now, 24*time.Hour, insert, log)
	if err != nil || res.Expired != 1 || res.Warned != 1 || queued != 2 {
		t.Fatalf("after the lease: %+v queued %d %v", res, queued, err)
	}
	if j, _ := db.Job(ctx, js[0].ID); j.State != translation.StateOpen {
		t.Fatalf("job %s after the sweep", j.State)
	}
	res, queued, _ = SweepJobs(ctx, db, []notify.Sender{webhook}, now, 24*time.Hour, insert, log)
	if res != (translation.Sweep{}) || queued != 0 || countQueued() != 3 {
		t.Fatalf("sweeping again: %+v queued %d, %d in the queue", res, queued, countQueued())
	}
	last, err := w.Client.JobList(ctx, river.NewJobListParams().Kinds("send_notice").OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(1))
	if err != nil || len(last.Jobs) != 1 {
		t.Fatalf("the last notice queued: %v", err)
	}
	raw := last.Jobs[0].EncodedArgs
	var a SendNoticeArgs
	if err := json.Unmarshal(raw, &a); err != nil || a.Channel != "webhook" || a.Message.To.Name != "lo-van-a" {
		t.Fatalf("queued %s (%v)", raw, err)
	}

	// The digest lists the open job for the translator.
	msgs, err := DigestMessages(ctx, db, now)
	if err != nil || len(msgs) != 1 || !strings.Contains(msgs[0].Body, "loa jobs claim "+js[0].ID) {
		t.Fatalf("digest %+v %v", msgs, err)
	}
}

func TestNewRefusesBadJobsSpec(t *testing.T) {
	t.Parallel()
	_, err := New(Config{SweepSpec: "*/15 * * * *", Translation: TranslationConfig{Store: nilStore{}, Spec: "CRON_TZ="}})
	if err == nil || !strings.Contains(err.Error(), "LOA_CRON_JOBS") {
		t.Fatalf("got %v, want an error naming LOA_CRON_JOBS", err)
	}
}

type nilStore struct{ JobsStore }

// TestDeliver: a failed delivery is returned for the queue to retry; a
// recipient without an address is skipped; a webhook receives the message.
func TestDeliver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	var got []notify.Message
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.Message
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()
	down := &fakeSender{name: "smtp", fail: true}
	senders := []notify.Sender{&notify.Webhook{URL: srv.URL}, down}
	m := notify.Message{To: notify.Recipient{Name: "duyet"}, Kind: notify.KindSubmitted, Subject: "To review"}
	if err := Deliver(ctx, senders, SendNoticeArgs{Channel: "webhook", Message: m}, log); err != nil || len(got) != 1 {
		t.Fatalf("webhook: %v, %d received", err, len(got))
	}
	if err := Deliver(ctx, senders, SendNoticeArgs{Channel: "smtp", Message: m}, log); err == nil {
		t.Fatal("a failed send was not reported, so it would not be retried")
	}
	if err := Deliver(ctx, []notify.Sender{&notify.SMTP{Addr: "127.0.0.1:1", From: "loa@x"}}, SendNoticeArgs{Channel: "smtp", Message: m}, log); err != nil {
		t.Fatalf("a recipient without an email must be skipped, not retried: %v", err)
	}
	if err := Deliver(ctx, senders, SendNoticeArgs{Channel: "fax", Message: m}, log); err != nil {
		t.Fatalf("unknown channel: %v", err)
	}
}
