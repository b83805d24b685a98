package player

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/pipeline/player/mpv"
	"github.com/sonla-cchc/loa/schedules"
)

// Current holds the plan in force and the folder of its bundle, and
// tells waiting runners when it changes.
type Current struct {
	mu      sync.Mutex
	plan    *Plan
	dir     string
	changed chan struct{}
}

// NewCurrent returns an empty holder.
func NewCurrent() *Current { return &Current{changed: make(chan struct{})} }

// Set puts a new plan in force and wakes everyone waiting on the old one.
func (c *Current) Set(p *Plan, dir string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plan, c.dir = p, dir
	close(c.changed)
	c.changed = make(chan struct{})
}

// Get returns the plan in force (nil before the first), its bundle
// folder, and a channel closed at the next Set.
func (c *Current) Get() (*Plan, string, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.plan, c.dir, c.changed
}

// Runner keeps one cluster on the schedule's clock: it starts each item
// through mpv at its planned time (preloaded, paused, a few seconds
// ahead), watches it play, stops it at its Stop, preempts it for an
// emergency, and journals every start and end.
type Runner struct {
	Cluster string
	Current *Current
	Journal *Journal
	// MPV is the template for each item's mpv: binary, output driver and
	// device, socket folder.
	MPV mpv.Options
	Now func() time.Time
	Log *slog.Logger
	// OnRecord is called after each journal record (to kick the upload).
	OnRecord func(Record)
	// OnPlaying is called with the item now sounding (nil when silent).
	OnPlaying func(cluster string, it *Item)
	// OnDamaged is called when a file of the bundle no longer matches
	// the signed manifest (to have the next sync repair it).
	OnDamaged func()
	// Preload is how long before its start an item's mpv is started
	// paused (default 5 s: a busy box may take seconds to start mpv); Stall how long a position may stand still
	// before mpv is killed (default 3 s).
	Preload time.Duration
	Stall   time.Duration

	done    map[string]bool
	expired string
}

type prepared struct {
	key    string
	offset time.Duration
	proc   *mpv.Process
}

func (p *prepared) close() {
	if p != nil && p.proc != nil {
		p.proc.Kill()
	}
}

func (r *Runner) isDone(it *Item) bool { return r.done[it.Key()] }

func (r *Runner) preload() time.Duration {
	if r.Preload > 0 {
		return r.Preload
	}
	return 5 * time.Second
}

func (r *Runner) stall() time.Duration {
	if r.Stall > 0 {
		return r.Stall
	}
	return 3 * time.Second
}

// sleepUntil waits until at (by the runner's clock), ctx's end or
// changed; it reports whether at was reached.
func (r *Runner) sleepUntil(ctx context.Context, at time.Time, changed <-chan struct{}) bool {
	d := at.Sub(r.Now())
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-changed:
	case <-ctx.Done():
	}
	return false
}

// Run plays until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	r.done = r.Journal.Done()
	var pre *prepared
	defer func() { pre.close() }()
	for ctx.Err() == nil {
		plan, dir, changed := r.Current.Get()
		if plan == nil {
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		now := r.Now()
		if plan.Expired(now) {
			if r.expired != plan.Manifest.Version {
				r.expired = plan.Manifest.Version
				r.Log.Error("NOT PLAYING: the last verified bundle expired; the server has not been reached since",
					"cluster", r.Cluster, "version", plan.Manifest.Version, "valid_until", plan.Manifest.ValidUntil)
			}
			select {
			case <-changed:
			case <-ctx.Done():
			}
			continue
		}
		step, ok := plan.Next(r.Cluster, now, r.isDone)
		if !ok {
			wake := plan.Manifest.ValidUntil
			if at, ok := plan.NextInterrupt(r.Cluster, now, r.isDone); ok && at.Before(wake) {
				wake = at
			}
			r.sleepUntil(ctx, wake, changed)
			continue
		}
		it := step.Item
		if pre != nil && pre.key == it.Key() && step.Offset > pre.offset && step.Offset-pre.offset < MinPlay {
			// The item was preloaded and its start has just passed (the
			// one before it ran to its window's end): start it now from
			// where it was preloaded rather than load it again.
			step.Offset, step.At = pre.offset, now
		}
		if pre != nil && (pre.key != it.Key() || pre.offset != step.Offset) {
			pre.close()
			pre = nil
		}
		if it.File == "" {
			if r.sleepUntil(ctx, step.At, changed) {
				if it.Skip != "" {
					r.skip(it, r.Now(), step)
				} else {
					r.fail(it, r.Now(), step, it.Problem)
				}
			}
			continue
		}
		if !r.sleepUntil(ctx, step.At.Add(-r.preload()), changed) {
			continue
		}
		if pre == nil {
			p, err := r.prepare(ctx, plan, dir, step)
			if err != nil {
				if ctx.Err() == nil && !r.replaced(changed, it) {
					r.fail(it, r.Now(), step, err.Error())
				}
				continue
			}
			pre = p
		}
		if !r.sleepUntil(ctx, step.At, changed) {
			// A new plan: keep the preloaded item if it is still next.
			continue
		}
		if step.Offset > 0 && !it.Emergency() {
			// Joining mid-item: loading took a moment, and the schedule's
			// clock went on.
			if off := r.Now().Sub(it.Start); off > step.Offset && off < it.Length() {
				sctx, cancel := context.WithTimeout(ctx, time.Second)
				if pre.proc.Seek(sctx, off) == nil {
					step.Offset = off
				}
				cancel()
			}
		}
		pre = r.play(ctx, plan, dir, step, pre)
	}
}

// replaced reports whether a new plan came in force (changed is closed)
// while it was being loaded: the swap may have taken its file, and the
// new plan may no longer have it (an emergency ended while the player
// was down). The main loop then goes on with the new plan, which plays
// it if it still holds it; no failure is journalled for it.
func (r *Runner) replaced(changed <-chan struct{}, it *Item) bool {
	select {
	case <-changed:
	default:
		return false
	}
	if p, _, _ := r.Current.Get(); p != nil && !p.Holds(it) {
		r.Log.Info("not played: the schedule now in force no longer has it", "cluster", r.Cluster, "item", it.ID, "title", it.Title,
			"version", p.Manifest.Version)
	}
	return true
}

// prepare checks the item's file against the signed manifest and starts
// its mpv paused at the step's offset.
func (r *Runner) prepare(ctx context.Context, plan *Plan, dir string, step Step) (*prepared, error) {
	it := step.Item
	var mf *schedules.ManifestFile
	for i := range plan.Manifest.Files {
		if plan.Manifest.Files[i].Path == it.File {
			mf = &plan.Manifest.Files[i]
		}
	}
	if mf == nil {
		return nil, fmt.Errorf("its media %s is not in the signed manifest", it.File)
	}
	if err := schedules.CheckFile(os.DirFS(dir), *mf); err != nil {
		if r.OnDamaged != nil {
			r.OnDamaged()
		}
		return nil, fmt.Errorf("refused: %v (not played)", err)
	}
	o := r.MPV
	o.File = filepath.Join(dir, filepath.FromSlash(it.File))
	o.Start = step.Offset
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := mpv.Start(sctx, o)
	if err != nil {
		return nil, fmt.Errorf("mpv could not play it: %w", err)
	}
	return &prepared{key: it.Key(), offset: step.Offset, proc: p}, nil
}

func (r *Runner) record(rec Record) Record {
	rec.Cluster = r.Cluster
	out, err := r.Journal.Append(rec)
	if err != nil {
		r.Log.Error("journal write failed", "cluster", r.Cluster, "kind", rec.Kind, "item", rec.Entry, "err", err)
		return rec
	}
	if rec.Done() {
		r.done[rec.Key] = true
	}
	if r.OnRecord != nil {
		r.OnRecord(out)
	}
	return out
}

func recordOf(kind Kind, play string, it *Item, step Step, at time.Time) Record {
	return Record{Kind: kind, Play: play, At: at, Key: it.Key(), Entry: it.ID, SegmentID: it.SegmentID,
		Planned: it.Start.Add(step.Offset), OffsetMS: step.Offset.Milliseconds(), Emergency: it.Emergency()}
}

// fail journals an item that could not be played at all.
func (r *Runner) fail(it *Item, at time.Time, step Step, reason string) {
	rec := recordOf(Failed, uuid.NewString(), it, step, at)
	rec.Started, rec.Reason = at, reason
	r.record(rec)
	r.Log.Warn("item not played", "cluster", r.Cluster, "item", it.ID, "title", it.Title, "reason", reason)
}

// skip journals a filler or ident left silent (not a play report).
func (r *Runner) skip(it *Item, at time.Time, step Step) {
	rec := recordOf(Skipped, uuid.NewString(), it, step, at)
	rec.Started, rec.Reason = at, it.Skip
	r.record(rec)
	r.Log.Info("item skipped", "cluster", r.Cluster, "item", it.ID, "kind", it.Kind, "reason", it.Skip)
}

// play unpauses the prepared item and watches it to its end. It returns
// the next item's prepared mpv when it preloaded one.
func (r *Runner) play(ctx context.Context, plan *Plan, dir string, step Step, pre *prepared) *prepared {
	it := step.Item
	proc := pre.proc
	if err := proc.Play(ctx); err != nil {
		proc.Kill()
		r.fail(it, r.Now(), step, "mpv did not start playing: "+err.Error())
		return nil
	}
	began := r.Now()
	play := uuid.NewString()
	r.record(recordOf(Started, play, it, step, began))
	if r.OnPlaying != nil {
		r.OnPlaying(r.Cluster, it)
		defer r.OnPlaying(r.Cluster, nil)
	}
	r.Log.Info("playing", "cluster", r.Cluster, "item", it.ID, "title", it.Title, "late_ms", began.Sub(it.Start.Add(step.Offset)).Milliseconds(), "offset", step.Offset)
	// also holds the keys later plans give this item (a rebuild re-timed
	// or renumbered its slot): done with it, they are done too, so the
	// item is not heard again under its new key.
	var also []string
	end := func(kind Kind, reason string) {
		rec := recordOf(kind, play, it, step, r.Now())
		rec.Started, rec.Reason = began, reason
		r.record(rec)
		if rec.Done() {
			for _, k := range also {
				r.done[k] = true
			}
		}
		if kind != Finished {
			r.Log.Warn("item ended early", "cluster", r.Cluster, "item", it.ID, "kind", kind, "reason", reason)
		}
	}
	stop := it.Stop
	if it.Emergency() {
		// An emergency plays to its end, whatever the slot.
		stop = began.Add(it.Length() - step.Offset + r.stall())
	}
	deadline := time.NewTimer(stop.Sub(r.Now()))
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	_, _, changed := r.Current.Get()
	var next *prepared
	lastPos, lastMove := step.Offset, r.Now()
	for {
		select {
		case <-ctx.Done():
			proc.Kill()
			// The journal keeps the start open: the next run closes it as
			// interrupted and resumes the item at its scheduled offset.
			return next
		case <-proc.Done():
			ef, out := proc.End()
			switch {
			case ef != nil && ef.Reason == "eof" && r.Now().Sub(began) < (it.Length()-step.Offset)/2:
				// mpv says it played the file, but in less than half the time
				// it takes: the audio is not what the schedule planned.
				end(Failed, fmt.Sprintf("mpv reached the end after %s of the %s planned: the audio is shorter than scheduled or undecodable: %s",
					r.Now().Sub(began).Round(100*time.Millisecond), (it.Length()-step.Offset).Round(100*time.Millisecond), out))
			case ef != nil && ef.Reason == "eof":
				end(Finished, "")
			case ef != nil:
				end(Failed, fmt.Sprintf("mpv ended it (%s %s) after %s: %s", ef.Reason, ef.FileError, lastPos.Round(100*time.Millisecond), out))
			default:
				end(Failed, fmt.Sprintf("mpv exited after %s: %s", lastPos.Round(100*time.Millisecond), out))
			}
			go proc.Stop()
			return next
		case <-deadline.C:
			proc.Kill()
			if left := it.Length() - lastPos; left <= MinPlay {
				end(Finished, "")
			} else {
				end(Failed, fmt.Sprintf("cut at the end of its time (%s) after %s of %s", stop.In(Location()).Format("15:04:05"),
					(lastPos-step.Offset).Round(100*time.Millisecond), it.Length().Round(100*time.Millisecond)))
			}
			return next
		case <-changed:
			var newPlan *Plan
			newPlan, dir, changed = r.Current.Get()
			if newPlan == nil {
				continue
			}
			held, same := newPlan.Holding(it)
			// An emergency due now preempts a scheduled item; a sounding
			// emergency only a newer one the plan still holds it beside
			// (one whose own entry is gone is stopped below).
			if em, ok := newPlan.Next(r.Cluster, r.Now(), r.isDone); ok && em.Item.Emergency() && em.Item.Key() != it.Key() &&
				(!it.Emergency() || (held && em.Item.Start.After(it.Start))) {
				proc.Kill()
				end(Preempted, "preempted by emergency "+em.Item.ID)
				next.close()
				return nil
			}
			if !held {
				// Its emergency was ended or its segment withdrawn: it is
				// not heard to its end. The main loop goes on with what
				// the new plan has due now, as after a preemption.
				proc.Kill()
				end(Stopped, StoppedReason(newPlan))
				next.close()
				return nil
			}
			if same != nil && !slices.Contains(also, same.Key()) {
				also = append(also, same.Key())
			}
			plan = newPlan
			next.close()
			next = nil
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			pos, err := proc.Position(pctx)
			cancel()
			now := r.Now()
			if err == nil && pos > lastPos {
				lastPos, lastMove = pos, now
			} else if now.Sub(lastMove) > r.stall() {
				select {
				case <-proc.Done():
					continue // ended meanwhile: reported above
				default:
				}
				proc.Kill()
				why := fmt.Sprintf("stalled: the playback position stood at %s for %s; mpv was killed", lastPos.Round(100*time.Millisecond), r.stall())
				if err != nil && !errors.Is(err, context.Canceled) {
					why += " (" + err.Error() + ")"
				}
				end(Failed, why)
				return next
			}
			if next == nil {
				next = r.preloadNext(ctx, plan, dir, it)
			}
		}
	}
}

// StoppedReason is the reason journalled (and reported) for an item
// stopped because the plan p put in force no longer holds it.
func StoppedReason(p *Plan) string {
	why := "stopped: the schedule in force (version " + p.Manifest.Version + ") no longer has this item (its emergency ended early, or its segment was withdrawn)"
	if p.Cause != "" {
		why += "; the server announced " + p.Cause
	}
	return why
}

// preloadNext starts the mpv of the item after cur when its start is
// within the preload time.
func (r *Runner) preloadNext(ctx context.Context, plan *Plan, dir string, cur *Item) *prepared {
	key := cur.Key()
	step, ok := plan.Next(r.Cluster, r.Now(), func(it *Item) bool { return it.Key() == key || r.done[it.Key()] })
	if !ok || step.Item.File == "" || step.Offset != 0 || step.At.Sub(r.Now()) > r.preload() {
		return nil
	}
	p, err := r.prepare(ctx, plan, dir, step)
	if err != nil {
		return nil // the main loop tries again and reports it
	}
	return p
}

// Location is Sơn La's time zone (Asia/Ho_Chi_Minh), for log lines.
func Location() *time.Location {
	if loc, err := time.LoadLocation(schedules.DefaultTimeZone); err == nil {
		return loc
	}
	return time.FixedZone("ICT", 7*3600)
}
