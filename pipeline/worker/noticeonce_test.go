package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/pipeline/notify/notifytest"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/sqlstoretest"
	"github.com/sonla-cchc/loa/pipeline/worker/workertest"
)

func mailTo(name string) notify.Message {
	return notify.Message{To: notify.Recipient{UserID: 7, Name: name, Email: name + "@sonla.example"},
		Kind: notify.KindSubmitted, JobID: "j1", Subject: "Bản dịch chờ duyệt", Body: "Có bản dịch chờ duyệt."}
}

// TestNoticeSentAtMostOnce delivers notices by email through River to a
// real SMTP conversation, then makes River run each job again as after a
// lost record of its end: a notice sent is not sent again (River output
// found_done); a notice whose mail server's answer was lost is not sent
// again either, and its job says so (output maybe_sent, a warning in the
// log); a second job for the same key (a digest or sweep run again) is
// not queued.
func TestNoticeSentAtMostOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	srv := notifytest.Start(t, &notifytest.SMTPServer{HangUp: func(rcpt string) bool { return strings.HasPrefix(rcpt, "hangup") }})
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	sender := &notify.SMTP{Addr: srv.Addr(), From: "loa@sonla.example", Timeout: 5 * time.Second}
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *", Work: true, Log: log,
		Translation: TranslationConfig{Store: db, Spec: "0 0 1 1 *", DigestSpec: "0 0 1 1 *", Senders: []notify.Sender{sender}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	completed := func(id int64, attempt int) *rivertype.JobRow {
		t.Helper()
		for {
			j, err := w.Client.JobGet(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == rivertype.JobStateCompleted && j.Attempt == attempt {
				return j
			}
			if j.State == rivertype.JobStateDiscarded || j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateRetryable {
				t.Fatalf("job %d %s: %+v", id, j.State, j.Errors)
			}
			if dl, ok := t.Deadline(); ok && time.Until(dl) < 10*time.Second {
				t.Fatalf("attempt %d of job %d not completed: %s", attempt, id, j.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	output := func(j *rivertype.JobRow) string {
		var m struct {
			Output Output `json:"output"`
		}
		if err := json.Unmarshal(j.Metadata, &m); err != nil {
			t.Fatalf("metadata %s: %v", j.Metadata, err)
		}
		return m.Output.Work
	}
	for _, c := range []struct {
		name, to     string
		first, again string
	}{
		{name: "sent", to: "lo-van-a", first: WorkDone, again: WorkFoundDone},
		{name: "answer lost", to: "hangup-b", first: WorkMaybeSent, again: WorkMaybeSent},
	} {
		t.Run(c.name, func(t *testing.T) {
			rcpt := c.to + "@sonla.example"
			args := SendNoticeArgs{Channel: sender.Name(), Message: mailTo(c.to), Key: NoticeKey(1, 7) + "/" + c.to}
			res, err := w.Client.Insert(ctx, args, nil)
			if err != nil {
				t.Fatal(err)
			}
			first := completed(res.Job.ID, 1)
			if got := output(first); got != c.first {
				t.Errorf("first attempt's output %q, want %q (metadata %s)", got, c.first, first.Metadata)
			}
			if n := srv.Taken(rcpt); n != 1 {
				t.Fatalf("the server took %d messages to %s, want 1", n, rcpt)
			}
			// The same key queued again (a sweep or digest run again).
			if dup, err := w.Client.Insert(ctx, args, nil); err != nil || !dup.UniqueSkippedAsDuplicate {
				t.Errorf("a second job for key %s: %+v %v, want skipped as a duplicate", args.Key, dup, err)
			}
			// River's record of the end lost: the job is available again.
			if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'available', finalized_at = NULL WHERE id = ?", res.Job.ID); err != nil {
				t.Fatal(err)
			}
			again := completed(res.Job.ID, 2)
			if got := output(again); got != c.again {
				t.Errorf("second attempt's output %q, want %q (metadata %s)", got, c.again, again.Metadata)
			}
			if n := srv.Taken(rcpt); n != 1 {
				t.Errorf("the server took %d messages to %s after the job ran again, want 1", n, rcpt)
			}
			if c.first == WorkMaybeSent && !strings.Contains(logs.String(), NoticeMaybeLostMessage) {
				t.Errorf("no warning %q in the log:\n%s", NoticeMaybeLostMessage, logs)
			}
		})
	}
}

// unreachableSet is NoticeSends whose Set fails, as when the database
// goes away right after the mail server took the message.
type unreachableSet struct{ *sqlstore.NoticeSends }

func (u unreachableSet) Set(context.Context, int64, int, string) error {
	return errors.New("connection refused")
}

// TestNoticeEndLostNotSentAgain: a delivery whose mail went out but whose
// record of it was lost (the database away, the worker killed) is not
// sent again by the next attempt, nor by a worker still running the
// earlier attempt (a replica whose lease lapsed), which finds the job no
// longer its own; the next attempt reports the mail as maybe not
// delivered.
func TestNoticeEndLostNotSentAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	srv := notifytest.Start(t, &notifytest.SMTPServer{HangUp: func(rcpt string) bool { return strings.HasPrefix(rcpt, "hangup") }})
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	sender := &notify.SMTP{Addr: srv.Addr(), From: "loa@sonla.example", Timeout: 5 * time.Second}
	q, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *",
		Translation: TranslationConfig{Store: db, Senders: []notify.Sender{sender}}})
	if err != nil {
		t.Fatal(err)
	}
	args := SendNoticeArgs{Channel: sender.Name(), Message: mailTo("cam-thi-c"), Key: NoticeKey(2, 7)}
	res, err := q.Client.Insert(ctx, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Job.ID
	run := func(attempt int) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'running', attempt = ? WHERE id = ?", attempt, id); err != nil {
			t.Fatal(err)
		}
	}
	sends := sqlstore.NewNoticeSends(db.SQL())
	senders := []notify.Sender{sender}
	run(1)
	if work, err := DeliverOnce(ctx, unreachableSet{sends}, id, 1, senders, args, log); err != nil || work != WorkDone {
		t.Fatalf("first attempt: %q %v", work, err)
	}
	run(2)
	// both runs attempts 1 and 2 of job id at once, as the worker of a
	// lapsed lease and the one that took it over would.
	both := func(id int64, args SendNoticeArgs) (works []string, errs []error) {
		works, errs = make([]string, 2), make([]error, 2)
		var wg sync.WaitGroup
		for i, attempt := range []int{1, 2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				works[i], errs[i] = DeliverOnce(ctx, sends, id, attempt, senders, args, log)
			}()
		}
		wg.Wait()
		return works, errs
	}
	works, errs := both(id, args)
	if n := srv.Taken("cam-thi-c@sonla.example"); n != 1 {
		t.Fatalf("the server took %d messages, want 1", n)
	}
	if works[1] != WorkMaybeSent || errs[1] != nil {
		t.Errorf("the next attempt: %q %v, want %q", works[1], errs[1], WorkMaybeSent)
	}
	if !strings.Contains(logs.String(), NoticeMaybeLostMessage) {
		t.Errorf("no warning %q in the log:\n%s", NoticeMaybeLostMessage, logs)
	}
	if state, err := sends.State(ctx, id); err != nil || state != sqlstore.NoticeSending {
		t.Errorf("the job's send is %q (%v), want %q", state, err, sqlstore.NoticeSending)
	}

	// A fresh job taken over (attempt 2) while the worker of attempt 1
	// still runs it: one of them sends, once; the earlier attempt never.
	args2 := SendNoticeArgs{Channel: sender.Name(), Message: mailTo("tong-van-d"), Key: NoticeKey(3, 7)}
	res, err = q.Client.Insert(ctx, args2, nil)
	if err != nil {
		t.Fatal(err)
	}
	id = res.Job.ID
	run(2)
	works, errs = both(id, args2)
	if n := srv.Taken("tong-van-d@sonla.example"); n != 1 {
		t.Errorf("the server took %d messages from two attempts at once, want 1", n)
	}
	if errs[0] == nil || works[1] != WorkDone || errs[1] != nil {
		t.Errorf("attempt 1: %q %v (want an error: not its job); attempt 2: %q %v (want %q)", works[0], errs[0], works[1], errs[1], WorkDone)
	}
	if state, err := sends.State(ctx, id); err != nil || state != sqlstore.NoticeSent {
		t.Errorf("the job's send is %q (%v), want %q", state, err, sqlstore.NoticeSent)
	}
}

// TestMaybeSentListed delivers three notices through River to a real SMTP
// conversation: one sent, one whose server's answer is lost, and one
// whose earlier attempt began sending and never recorded its end (the
// worker killed): the administrator's listing (sqlstore.MaybeSentNotices)
// shows the two in doubt, newest attempt first, each with its key,
// recipient as stored, kind, time of attempt and warning, and not the one
// sent.
func TestMaybeSentListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := sqlstoretest.New(t)
	srv := notifytest.Start(t, &notifytest.SMTPServer{HangUp: func(rcpt string) bool { return strings.HasPrefix(rcpt, "hangup") }})
	sender := &notify.SMTP{Addr: srv.Addr(), From: "loa@sonla.example", Timeout: 5 * time.Second}
	w, err := New(Config{DB: db.SQL(), Catalog: db, SweepSpec: "0 0 1 1 *", Work: true, Log: slog.New(slog.DiscardHandler),
		Translation: TranslationConfig{Store: db, Spec: "0 0 1 1 *", DigestSpec: "0 0 1 1 *", Senders: []notify.Sender{sender}}})
	if err != nil {
		t.Fatal(err)
	}
	// The notice whose first attempt was killed while sending: its
	// mark says sending, and River runs it again.
	killed := SendNoticeArgs{Channel: sender.Name(), Message: mailTo("killed-c"), Key: NoticeKey(9, 7) + "/killed-c"}
	res, err := w.Client.Insert(ctx, killed, nil)
	if err != nil {
		t.Fatal(err)
	}
	killedID := res.Job.ID
	if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'running', attempt = 1 WHERE id = ?", killedID); err != nil {
		t.Fatal(err)
	}
	sends := sqlstore.NewNoticeSends(db.SQL())
	if won, _, err := sends.Begin(ctx, killedID, 1); err != nil || !won {
		t.Fatalf("mark sending: %v %v", won, err)
	}
	if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET state = 'available' WHERE id = ?", killedID); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(context.Background()) })
	ids := map[string]int64{"killed-c": killedID}
	for _, to := range []string{"sent-a", "hangup-b"} {
		res, err := w.Client.Insert(ctx, SendNoticeArgs{Channel: sender.Name(), Message: mailTo(to), Key: NoticeKey(9, 7) + "/" + to}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[to] = res.Job.ID
	}
	workertest.WaitCompleted(t, ctx, w.Client, ids["killed-c"], ids["sent-a"], ids["hangup-b"])
	// The newest attempt first, whatever the order they ran in.
	if _, err := db.SQL().ExecContext(ctx, "UPDATE river_job SET attempted_at = ? WHERE id = ?", time.Now().UTC().Add(time.Hour), ids["killed-c"]); err != nil {
		t.Fatal(err)
	}
	got, err := db.MaybeSentNotices(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].To.Name != "killed-c" || got[1].To.Name != "hangup-b" {
		t.Fatalf("maybe sent: %+v, want killed-c then hangup-b (not sent-a)", got)
	}
	for i, warn := range []string{"never recorded", "answer was lost"} {
		m := got[i]
		if m.Key != NoticeKey(9, 7)+"/"+m.To.Name || m.To.Email != m.To.Name+"@sonla.example" || m.Kind != notify.KindSubmitted ||
			m.JobID != "j1" || m.Channel != sender.Name() || m.AttemptedAt.IsZero() || m.QueueJobID != ids[m.To.Name] || !strings.Contains(m.Warning, warn) {
			t.Errorf("entry %d: %+v, want its key, recipient, kind, attempt time and a warning saying %q", i, m, warn)
		}
	}
	if one, err := db.MaybeSentNotices(ctx, 1); err != nil || len(one) != 1 || one[0].To.Name != "killed-c" {
		t.Errorf("a page of 1: %+v %v", one, err)
	}
}
