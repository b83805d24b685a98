package report

import (
	"context"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// Source is where a report's rows come from: the registry, and the
// period's catalog rows streamed into a Sink in the order a Builder asks
// for (emergencies before plays, a slot's entries together); commune,
// when set, limits the schedule and play rows. sqlstore.DB is one.
type Source interface {
	Registry(ctx context.Context, codes ...string) (*schedules.Registry, error)
	FeedReport(ctx context.Context, b Sink, p Period, commune string) error
}

// Build computes the report of period p (for one commune, by code, when
// commune is set) from src as it is at now: the registry, segments,
// variants, jobs, the schedule each commune actually had each day, proof
// of play and emergencies. A period with no data gives an empty report;
// an unknown commune is a pipeline.Error (CodeInvalid, field "commune").
func Build(ctx context.Context, src Source, p Period, commune string, now time.Time) (*Report, error) {
	reg, err := src.Registry(ctx)
	if err != nil {
		return nil, err
	}
	if commune != "" && reg.Commune(commune) == nil {
		return nil, pipeline.FieldError("commune", "No commune with code %q: 'loa communes list' shows the codes.", commune)
	}
	b := NewBuilder(Options{Period: p, Commune: commune, Registry: reg, Now: now})
	if err := src.FeedReport(ctx, b, p, commune); err != nil {
		return nil, err
	}
	return b.Report(), nil
}
