package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/report"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// DefaultReportSpec is when the period-close check runs (Asia/Ho_Chi_Minh):
// every night, so a quarter, half or year is reported the night it closes.
const DefaultReportSpec = "30 2 * * *"

// ReportStore gives the rows reports are built from and records the
// stored ones.
type ReportStore interface {
	report.Source
	ReportStored(ctx context.Context, period, format string) (bool, error)
	RecordReport(ctx context.Context, r report.StoredReport) error
}

// ReportObjects stores report files.
type ReportObjects interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (int64, error)
}

// CloseReportsArgs is the periodic job that stores the report of every
// quarter, half and year that has closed and has no stored report yet.
type CloseReportsArgs struct{}

// Kind names the job kind.
func (CloseReportsArgs) Kind() string { return "close_reports" }

type closeReportsWorker struct {
	river.WorkerDefaults[CloseReportsArgs]
	store ReportStore
	objs  ReportObjects
	now   func() time.Time
	log   *slog.Logger
}

func (w *closeReportsWorker) Work(ctx context.Context, job *river.Job[CloseReportsArgs]) error {
	_, err := CloseReports(ctx, w.store, w.objs, w.now(), w.log)
	return err
}

// ReportJobs registers the period-close job and returns its periodic
// schedule (spec empty: DefaultReportSpec).
func ReportJobs(workers *river.Workers, spec string, store ReportStore, objs ReportObjects, now func() time.Time, log *slog.Logger) ([]*river.PeriodicJob, error) {
	if spec == "" {
		spec = DefaultReportSpec
	}
	s, err := localtime.ParseSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("report schedule (LOA_CRON_REPORTS): %w", err)
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	if log == nil {
		log = slog.Default()
	}
	river.AddWorker(workers, &closeReportsWorker{store: store, objs: objs, now: now, log: log})
	return []*river.PeriodicJob{river.NewPeriodicJob(s, func() (river.JobArgs, *river.InsertOpts) {
		return CloseReportsArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
	}, &river.PeriodicJobOpts{ID: "close_reports", RunOnStart: true})}, nil
}

// CloseReports stores, for each quarter, half and year closed within the
// last year up to now, the province report in every file format, unless
// stored already. Figures come from the catalog at that moment; a stored
// report is never edited. It returns the keys it wrote.
func CloseReports(ctx context.Context, store ReportStore, objs ReportObjects, now time.Time, log *slog.Logger) ([]string, error) {
	if log == nil {
		log = slog.Default()
	}
	var keys []string
	for _, p := range report.ClosedSince(now.AddDate(-1, 0, 0), now) {
		for _, f := range []report.Format{report.XLSX, report.CSV, report.HTML} {
			done, err := store.ReportStored(ctx, p.Name, string(f))
			if err != nil {
				return keys, err
			}
			if done {
				continue
			}
			r, err := report.Build(ctx, store, p, "", now)
			if err != nil {
				return keys, err
			}
			var buf bytes.Buffer
			if err := report.Render(&buf, r, f); err != nil {
				return keys, err
			}
			sum := sha256.Sum256(buf.Bytes())
			key := sqlstore.ReportKey(p.Name, r.FileName(f))
			if _, err := objs.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), f.ContentType()); err != nil {
				return keys, fmt.Errorf("store report %s: %w", key, err)
			}
			if err := store.RecordReport(ctx, report.StoredReport{Period: p.Name, Format: string(f), Key: key,
				SHA256: hex.EncodeToString(sum[:]), Size: int64(buf.Len()), GeneratedAt: now}); err != nil {
				return keys, err
			}
			log.Info("report stored", "period", p.Name, "format", f, "key", key, "bytes", buf.Len())
			keys = append(keys, key)
		}
	}
	return keys, nil
}
