package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/notify"
	"github.com/sonla-cchc/loa/schedules"
)

// KeyRegistryRemovals is the Key of ImportRegistry's refusal of a
// registry that would remove clusters without opt.AllowRemovals; its
// Args are how many and the list ("c/a, c/b and N more").
const KeyRegistryRemovals = "registry_removals"

// KeyRegistryVariants is the Key of ImportRegistry's refusal of a
// registry whose codes differ from stored ones only by case or
// diacritics, without opt.AllowRemovals; its Args are how many and the
// list ("Muong-Lan (muong-lan), …").
const KeyRegistryVariants = "registry_variant_codes"

// removalsShown is how many removed clusters a refusal names before
// "and N more".
const removalsShown = 10

// ImportRegistry stores a validated registry: each commune in it is
// created or replaced with its clusters and slots, in one transaction.
// Communes not in reg are left as they are. A cluster a commune in reg
// had and reg no longer lists is removed only with opt.AllowRemovals
// (res.Removed lists them); without it the import is refused
// (CodeInvalid, field allow_removals, naming them) and nothing is
// written. What else names a cluster is history and stays: the schedule
// versions built for it and its play reports (proof of play of what it
// aired before); devices and emergencies belong to communes.
//
// A stored commune whose code differs from a code in reg only by case or
// diacritics ("Muong-Lan" or "mường-lan" beside "muong-lan": an older
// version let such codes in, and they share one file name) is the same
// code: the import is refused (CodeInvalid, field allow_removals, naming
// them) unless opt.AllowRemovals, which removes it (res.RemovedCommunes)
// with its clusters, slots and current schedule version, and moves its
// devices and operators to reg's commune.
func (db *DB) ImportRegistry(ctx context.Context, reg *schedules.Registry, opt schedules.ImportOptions) (schedules.ImportResult, error) {
	res := schedules.ImportResult{Removed: []schedules.ClusterRef{}, RemovedCommunes: []schedules.ReplacedCommune{}}
	if err := reg.Validate(); err != nil {
		return res, &pipeline.Error{Code: pipeline.CodeInvalid, Message: "The registry is not valid: " + err.Error(), Err: err}
	}
	tz := reg.TimeZone
	if tz == "" {
		tz = schedules.DefaultTimeZone
	}
	if opt.DryRun {
		codes := make([]string, len(reg.Communes))
		for i, c := range reg.Communes {
			codes[i] = c.Code
		}
		stored, err := db.Registry(ctx, codes...)
		if err != nil {
			return res, fmt.Errorf("import registry (dry run): %w", err)
		}
		diff := schedules.DiffRegistry(stored, reg)
		res.DryRun, res.Diff, res.Removed = true, &diff, diff.Removed
		variants, err := variantCommunes(ctx, db.sql, reg)
		if err != nil {
			return res, fmt.Errorf("import registry (dry run): %w", err)
		}
		if len(variants) > 0 {
			res.RemovedCommunes = variants // what the real import replaces, when allowed
		}
		res.Communes, res.Created = len(reg.Communes), len(diff.NewCommunes)
		for _, c := range reg.Communes {
			res.Clusters += len(c.Clusters)
			res.Slots += len(c.Slots)
			for _, cl := range c.Clusters {
				res.Slots += len(cl.Slots)
			}
		}
		return res, nil
	}
	now := db.Now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var next int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(position), 0) + 1 FROM communes").Scan(&next); err != nil {
			return err
		}
		variants, err := variantCommunes(ctx, tx, reg)
		if err != nil {
			return err
		}
		if len(variants) > 0 && !opt.AllowRemovals {
			return variantsRefused(variants)
		}
		for _, c := range reg.Communes {
			var pos int
			err := tx.QueryRowContext(ctx, "SELECT position FROM communes WHERE code = ?", c.Code).Scan(&pos)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				pos = next
				next++
				res.Created++
				if _, err := tx.ExecContext(ctx, "INSERT INTO communes (code, name, kind, time_zone, position, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
					c.Code, c.Name, string(c.Kind), tz, pos, now); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				removed, err := removedClusters(ctx, tx, c)
				if err != nil {
					return err
				}
				res.Removed = append(res.Removed, removed...)
				if _, err := tx.ExecContext(ctx, "UPDATE communes SET name = ?, kind = ?, time_zone = ?, updated_at = ? WHERE code = ?",
					c.Name, string(c.Kind), tz, now, c.Code); err != nil {
					return err
				}
			}
			for _, q := range []string{"DELETE FROM slots WHERE commune_code = ?", "DELETE FROM clusters WHERE commune_code = ?"} {
				if _, err := tx.ExecContext(ctx, q, c.Code); err != nil {
					return err
				}
			}
			if err := insertSlots(ctx, tx, c.Code, "", c.Slots); err != nil {
				return err
			}
			res.Slots += len(c.Slots)
			for j, cl := range c.Clusters {
				langs := make([]string, len(cl.Languages))
				for k, l := range cl.Languages {
					langs[k] = string(l)
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO clusters (commune_code, id, name, languages, position) VALUES (?, ?, ?, ?, ?)",
					c.Code, cl.ID, cl.Name, strings.Join(langs, ","), j); err != nil {
					return err
				}
				if err := insertSlots(ctx, tx, c.Code, cl.ID, cl.Slots); err != nil {
					return err
				}
				res.Slots += len(cl.Slots)
			}
			res.Clusters += len(c.Clusters)
			res.Communes++
		}
		if len(res.Removed) > 0 && !opt.AllowRemovals {
			return removalsRefused(res.Removed)
		}
		for _, v := range variants {
			for _, q := range []string{
				"UPDATE devices SET commune_code = ? WHERE commune_code = ?",
				"UPDATE users SET commune = ? WHERE commune = ?",
			} {
				if _, err := tx.ExecContext(ctx, q, v.ReplacedBy, v.Code); err != nil {
					return err
				}
			}
			for _, q := range []string{"DELETE FROM schedule_heads WHERE commune_code = ?", "DELETE FROM slots WHERE commune_code = ?",
				"DELETE FROM clusters WHERE commune_code = ?", "DELETE FROM communes WHERE code = ?"} {
				if _, err := tx.ExecContext(ctx, q, v.Code); err != nil {
					return err
				}
			}
		}
		if len(variants) > 0 {
			res.RemovedCommunes = variants
		}
		return db.recordChange(ctx, tx, pipeline.Change{Kind: pipeline.ChangeRegistry})
	})
	if err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeInvalid {
			return schedules.ImportResult{Removed: []schedules.ClusterRef{}, RemovedCommunes: []schedules.ReplacedCommune{}}, err // nothing written
		}
		db.changed(pipeline.ChangeRegistry) // a failed commit may still have written
		return res, fmt.Errorf("import registry: %w", err)
	}
	db.changed(pipeline.ChangeRegistry) // names and codes may have changed
	return res, nil
}

// removedClusters lists the clusters the store has for commune c that c
// no longer lists, in their stored order.
func removedClusters(ctx context.Context, tx *sql.Tx, c schedules.Commune) ([]schedules.ClusterRef, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM clusters WHERE commune_code = ? ORDER BY position, id", c.Code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []schedules.ClusterRef
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(c.Clusters, func(cl schedules.Cluster) bool { return cl.ID == id }) {
			out = append(out, schedules.ClusterRef{Commune: c.Code, Cluster: id})
		}
	}
	return out, rows.Err()
}

// removalsRefused is the refusal of an import that would remove clusters
// without the caller allowing it.
func removalsRefused(removed []schedules.ClusterRef) *pipeline.Error {
	list := schedules.ListClusters(removed, removalsShown)
	what := "1 cluster"
	if len(removed) > 1 {
		what = fmt.Sprintf("%d clusters", len(removed))
	}
	return (&pipeline.Error{Code: pipeline.CodeInvalid, Field: "allow_removals", Message: fmt.Sprintf(
		"The registry would remove %s that its communes have now: %s. Their loudspeakers would get no schedule. "+
			"Nothing was imported. If the file was cut short or a cluster's id mistyped, correct the file and import it again; "+
			"if the clusters are really gone, import it again allowing removals "+
			"(loa communes import --allow-removals; POST /api/communes/import?allow_removals=1; "+
			"on the communes page, tick \"Remove the clusters the file no longer lists\").",
		what, list)}).WithKey(KeyRegistryRemovals, strconv.Itoa(len(removed)), list)
}

// variantCommunes lists the stored communes whose code differs from a
// code in reg but shares its file name (schedules.SafeName), in reg's
// order.
func variantCommunes(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, reg *schedules.Registry) ([]schedules.ReplacedCommune, error) {
	rows, err := q.QueryContext(ctx, "SELECT code FROM communes ORDER BY position, code")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stored := map[string][]string{} // by file name
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			return nil, err
		}
		stored[schedules.SafeName(code)] = append(stored[schedules.SafeName(code)], code)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []schedules.ReplacedCommune
	for _, c := range reg.Communes {
		for _, code := range stored[schedules.SafeName(c.Code)] {
			if code != c.Code {
				out = append(out, schedules.ReplacedCommune{Code: code, ReplacedBy: c.Code})
			}
		}
	}
	return out, nil
}

// variantsRefused is the refusal of an import whose codes differ from
// stored ones only by case or diacritics, without the caller allowing
// their removal.
func variantsRefused(vs []schedules.ReplacedCommune) *pipeline.Error {
	var list []string
	for i, v := range vs {
		if i == removalsShown {
			list[len(list)-1] += fmt.Sprintf(" and %d more", len(vs)-i)
			break
		}
		list = append(list, fmt.Sprintf("%s (%s)", v.Code, v.ReplacedBy))
	}
	joined := strings.Join(list, ", ")
	return (&pipeline.Error{Code: pipeline.CodeInvalid, Field: "allow_removals", Message: fmt.Sprintf(
		"The registry holds %d communes whose code differs from one in the file only by case or diacritics: %s. "+
			"They share one file name, so the schedule cannot tell them apart. Nothing was imported. "+
			"To replace each with the file's commune (its clusters, slots and current schedule are removed; its devices and operators "+
			"answer for the file's commune), import the file again allowing removals "+
			"(loa communes import --allow-removals; POST /api/communes/import?allow_removals=1; "+
			"on the communes page, tick \"Remove the clusters the file no longer lists\").",
		len(vs), joined)}).WithKey(KeyRegistryVariants, strconv.Itoa(len(vs)), joined)
}

func insertSlots(ctx context.Context, tx *sql.Tx, commune, cluster string, slots []schedules.Slot) error {
	for k, s := range slots {
		if _, err := tx.ExecContext(ctx, `INSERT INTO slots (commune_code, cluster_id, days, start_s, length_s, reserved_s, position)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, commune, cluster, int(s.Days), int(s.Start), int(s.Length/time.Second), int(s.Reserved/time.Second), k); err != nil {
			return err
		}
	}
	return nil
}

// Registry loads the commune registry, communes in import order: the
// whole registry, or only the communes whose codes are given (a
// one-commune rebuild then reads one commune, not the province).
func (db *DB) Registry(ctx context.Context, codes ...string) (*schedules.Registry, error) {
	reg := &schedules.Registry{TimeZone: schedules.DefaultTimeZone}
	index := map[string]int{}
	only, args := codeFilter("code", codes)
	// Every schedule is built, shown and played in the server's zone: a
	// zone an older version stored (it took any) is not read, so slots
	// air at the times the API and playlists give.
	rows, err := db.sql.QueryContext(ctx, "SELECT code, name, kind FROM communes"+only+" ORDER BY position, code", args...)
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	for rows.Next() {
		var c schedules.Commune
		var kind string
		if err := rows.Scan(&c.Code, &c.Name, &kind); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load registry: %w", err)
		}
		c.Kind = schedules.UnitKind(kind)
		index[c.Code] = len(reg.Communes)
		reg.Communes = append(reg.Communes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	only, args = codeFilter("commune_code", codes)
	rows, err = db.sql.QueryContext(ctx, "SELECT commune_code, id, name, languages FROM clusters"+only+" ORDER BY commune_code, position", args...)
	if err != nil {
		return nil, fmt.Errorf("load clusters: %w", err)
	}
	for rows.Next() {
		var code, langs string
		var cl schedules.Cluster
		if err := rows.Scan(&code, &cl.ID, &cl.Name, &langs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load clusters: %w", err)
		}
		for _, l := range strings.Split(langs, ",") {
			if l != "" {
				cl.Languages = append(cl.Languages, schedules.Language(l))
			}
		}
		if i, ok := index[code]; ok {
			reg.Communes[i].Clusters = append(reg.Communes[i].Clusters, cl)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load clusters: %w", err)
	}
	rows, err = db.sql.QueryContext(ctx, "SELECT commune_code, cluster_id, days, start_s, length_s, reserved_s FROM slots"+only+" ORDER BY commune_code, cluster_id, position", args...)
	if err != nil {
		return nil, fmt.Errorf("load slots: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, cluster string
		var days, start, length, reserved int
		if err := rows.Scan(&code, &cluster, &days, &start, &length, &reserved); err != nil {
			return nil, fmt.Errorf("load slots: %w", err)
		}
		s := schedules.Slot{Days: schedules.Weekdays(days), Start: schedules.TimeOfDay(start),
			Length: time.Duration(length) * time.Second, Reserved: time.Duration(reserved) * time.Second}
		i, ok := index[code]
		if !ok {
			continue
		}
		c := &reg.Communes[i]
		if cluster == "" {
			c.Slots = append(c.Slots, s)
			continue
		}
		for j := range c.Clusters {
			if c.Clusters[j].ID == cluster {
				c.Clusters[j].Slots = append(c.Clusters[j].Slots, s)
			}
		}
	}
	return reg, rows.Err()
}

// Communes lists the communes with their current schedule version.
func (db *DB) Communes(ctx context.Context) ([]pipeline.CommuneSummary, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT c.code, c.name, c.kind,
		(SELECT COUNT(*) FROM clusters k WHERE k.commune_code = c.code),
		(SELECT COUNT(*) FROM slots s WHERE s.commune_code = c.code),
		COALESCE(h.version_id, ''), COALESCE(h.etag, ''), h.updated_at
		FROM communes c LEFT JOIN schedule_heads h ON h.commune_code = c.code ORDER BY c.position, c.code`)
	if err != nil {
		return nil, fmt.Errorf("list communes: %w", err)
	}
	defer rows.Close()
	out := []pipeline.CommuneSummary{}
	for rows.Next() {
		var s pipeline.CommuneSummary
		var built sql.NullTime
		if err := rows.Scan(&s.Code, &s.Name, &s.Kind, &s.Clusters, &s.Slots, &s.VersionID, &s.ETag, &built); err != nil {
			return nil, fmt.Errorf("list communes: %w", err)
		}
		if built.Valid {
			s.BuiltAt = built.Time
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CommuneHead returns a commune and its current schedule version (with
// its seq) with primary-key lookups: all a conditional playlist request
// costs.
func (db *DB) CommuneHead(ctx context.Context, code string) (pipeline.CommuneHead, error) {
	if h, ok := db.heads.get(code); ok {
		return h, nil
	}
	gen := db.heads.generation()
	h, err := db.communeHead(ctx, code)
	if err == nil {
		// code may be a view of a request's buffer (the playlist
		// listener's path): the cache keeps a copy.
		db.heads.put(strings.Clone(code), h, gen)
	}
	return h, err
}

func (db *DB) communeHead(ctx context.Context, code string) (pipeline.CommuneHead, error) {
	var h pipeline.CommuneHead
	err := db.sql.QueryRowContext(ctx, `SELECT c.code, c.name, COALESCE(h.version_id, ''), COALESCE(h.etag, ''), COALESCE(v.seq, 0)
		FROM communes c LEFT JOIN schedule_heads h ON h.commune_code = c.code LEFT JOIN schedule_versions v ON v.id = h.version_id
		WHERE c.code = ?`, code).
		Scan(&h.Code, &h.Name, &h.VersionID, &h.ETag, &h.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return h, pipeline.Errorf(pipeline.CodeNotFound, "No commune with code %q: 'loa communes list' shows the codes.", code)
	}
	if err != nil {
		return h, fmt.Errorf("commune %s: %w", code, err)
	}
	return h, nil
}

// ReadyCatalog returns every variant ready to air of the segments that
// are not withdrawn and whose air window has not ended by now (or whose
// emergency is in force), as the builder takes them, with the audio each
// one plays. An emergency in force raises the priority, sets the targets
// and makes its own air window: from when each commune got it
// (Variant.RaisedAt) to its until, whatever the segment's window;
// a segment whose emergency is over (ended early or run out) is left out
// until its priority is set again.
func (db *DB) ReadyCatalog(ctx context.Context, now time.Time) ([]schedules.Variant, map[string]pipeline.AirAudio, error) {
	inForce, err := db.emergencies(ctx, db.sql, "e.until > ? AND s.priority = ?", now.UTC(), string(pipeline.PriorityEmergency))
	if err != nil {
		return nil, nil, fmt.Errorf("ready catalog: %w", err)
	}
	emergencyOf := make(map[string]*pipeline.Emergency, len(inForce))
	for i := range inForce {
		emergencyOf[inForce[i].SegmentID] = &inForce[i]
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT v.segment_id, v.language, v.audio_key, v.duration_ms, v.sha256, v.size_bytes, v.ready_at,
		s.title, s.topic, s.kind, s.priority, s.air_from, s.air_until, e.targets, e.until
		FROM variants v JOIN segments s ON s.id = v.segment_id
		LEFT JOIN emergencies e ON e.segment_id = v.segment_id
		WHERE s.state <> ? AND (s.air_until > ? OR (s.priority = ? AND e.until > ?))
		ORDER BY v.segment_id, v.language`, string(pipeline.StateWithdrawn), now, string(pipeline.PriorityEmergency), now)
	if err != nil {
		return nil, nil, fmt.Errorf("ready catalog: %w", err)
	}
	defer rows.Close()
	var out []schedules.Variant
	audio := map[string]pipeline.AirAudio{}
	for rows.Next() {
		var v schedules.Variant
		var a pipeline.AirAudio
		var lang, topic, kind, prio string
		var targets sql.NullString
		var until sql.NullTime
		if err := rows.Scan(&v.SegmentID, &lang, &a.Key, &a.DurationMS, &a.SHA256, &a.Size, &v.ReadyAt,
			&v.Title, &topic, &kind, &prio, &v.AirFrom, &v.AirUntil, &targets, &until); err != nil {
			return nil, nil, fmt.Errorf("ready catalog: %w", err)
		}
		v.Language = schedules.Language(lang)
		v.Kind = schedules.Kind(kind)
		if t, ok := pipeline.TopicByCode(topic); ok {
			v.Topic = schedules.Topic(t.Letter)
		} else {
			v.Topic = schedules.Topic(topic)
		}
		v.Priority, _ = schedules.ParsePriority(prio)
		v.Approved = true // a row in variants is ready to air: reviewed, or the producer's own Vietnamese
		v.Duration = time.Duration(a.DurationMS) * time.Millisecond
		if until.Valid && prio == string(pipeline.PriorityEmergency) && !until.Time.After(now) {
			// An emergency over (ended early or run out) is off the air
			// until its producer sets its priority again: like a segment
			// whose own window has ended, it is left out, so a rebuild
			// neither plans it in today's slots before its end (in every
			// commune, its targets gone with it) nor blames its targets
			// in a commune's account.
			continue
		}
		if until.Valid && prio == string(pipeline.PriorityEmergency) {
			// The emergency is the segment's air window: from when each
			// commune got it (so a raise leaves the slots that began
			// before it alone) to its end, whatever the segment's own
			// window says. A flood warning raised on a segment uploaded
			// with a later air_from airs now; one whose own window has
			// ended airs until the emergency ends. A warning does not go
			// on airing in the rotation once its emergency is over
			// (ended early or run out), until its producer sets its
			// priority again (normal or priority), which puts it back in
			// its own window.
			v.Priority = schedules.Emergency
			v.AirUntil = until.Time
			if e := emergencyOf[v.SegmentID]; e != nil {
				v.AirFrom, v.RaisedAt = e.FirstRaised(), e.Raised
			}
			if targets.String != "" {
				v.Targets = strings.Split(targets.String, ",")
			}
		} else if v.Priority == schedules.Emergency {
			// An emergency priority with no emergency raised through the
			// emergency action (stored at upload before that was refused)
			// is not an emergency: it airs as a priority segment.
			v.Priority = schedules.Urgent
		}
		audio[pipeline.AudioKey(v.SegmentID, lang)] = a
		out = append(out, v)
	}
	return out, audio, rows.Err()
}

// codeFilter is " WHERE column IN (?, …)" with its arguments for the
// given commune codes, or nothing when there are none.
func codeFilter(column string, codes []string) (string, []any) {
	if len(codes) == 0 {
		return "", nil
	}
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	return " WHERE " + column + " IN (?" + strings.Repeat(", ?", len(codes)-1) + ")", args
}

// History returns what was scheduled from `from` up to but not including
// `to`: in every commune, or only in the communes whose codes are given,
// ordered by commune, date and segment id.
func (db *DB) History(ctx context.Context, from, to schedules.Date, codes ...string) ([]schedules.Aired, error) {
	var out []schedules.Aired
	err := db.readHistory(ctx, db.sql, codes, from.String(), to.String(), func(d *historyDay) error {
		date, err := schedules.ParseDate(d.date)
		if err != nil {
			return err
		}
		return eachHistoryID(d.ids, func(id string) bool {
			out = append(out, schedules.Aired{Commune: d.commune, SegmentID: id, Date: date})
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("schedule history: %w", err)
	}
	return out, nil
}

// historyDay is a stored airing history row: the segments scheduled in a
// commune on a date, as the segment_ids column holds them (see
// historyids.go). On PostgreSQL, tid is the row's ctid as read in a
// saving transaction (under scheduleSaveLock nothing else writes the
// history, so it names the row until the transaction ends); it is empty
// on SQLite and for rows to insert.
type historyDay struct{ commune, date, ids, tid string }

// readHistory calls fn with each stored airing history row from the date
// from on and, unless to is "", before to: of every commune, or of the
// communes whose codes are given. Rows come ordered by commune and date;
// fn must not keep d.
func (db *DB) readHistory(ctx context.Context, q rowsQuerier, codes []string, from, to string, fn func(d *historyDay) error) error {
	query, args := "air_date >= ?", []any{from}
	if to != "" {
		query += " AND air_date < ?"
		args = append(args, to)
	}
	if only, cargs := codeFilter("commune_code", codes); only != "" {
		query += " AND" + strings.TrimPrefix(only, " WHERE")
		args = append(args, cargs...)
	}
	tid := "''"
	if db.dialect == Postgres {
		tid = "ctid::text"
	}
	rows, err := q.QueryContext(ctx, "SELECT commune_code, air_date, segment_ids, "+tid+" FROM schedule_history WHERE "+query+" ORDER BY commune_code, air_date", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var d historyDay
	for rows.Next() {
		if err := rows.Scan(&d.commune, &d.date, &d.ids, &d.tid); err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// HeadTags returns the ETag of every commune's current schedule version
// (only of the communes whose codes are given, when some are), by commune
// code; communes without a schedule are absent.
func (db *DB) HeadTags(ctx context.Context, codes ...string) (map[string]string, error) {
	only, args := codeFilter("commune_code", codes)
	rows, err := db.sql.QueryContext(ctx, "SELECT commune_code, etag FROM schedule_heads"+only, args...)
	if err != nil {
		return nil, fmt.Errorf("read schedule heads: %w", err)
	}
	defer rows.Close()
	tags := map[string]string{}
	for rows.Next() {
		var code, tag string
		if err := rows.Scan(&code, &tag); err != nil {
			return nil, fmt.Errorf("read schedule heads: %w", err)
		}
		tags[code] = tag
	}
	return tags, rows.Err()
}

// SaveVersions stores the versions of several communes in one
// transaction. A write whose ETag equals its commune's head is left out
// (Changed false, Version.ID the head's); each other one gets its
// version row with its items as one blob, the dates it has entries on,
// the segments it interrupts with, and the commune's airing history from
// the version's start date, and the head moves to it (Changed true). On
// an error nothing is stored.
//
// A batch costs a few statements, not a few per commune: heads,
// sequence numbers and the stored airing history of all its communes
// are read at once, and the versions, their dates and interrupts, the
// history and the heads are written with multi-row statements (on
// PostgreSQL the versions, their dates and the new history rows with
// COPY, and the replaced history rows deleted by ctid). The airing
// history, one row per commune and date, is written as its difference
// from what is stored: a rebuild that plans what the last one planned
// writes no history row, and one that adds a segment writes the rows of
// the dates it airs on, not the commune's week. On
// PostgreSQL saves take one advisory lock first (scheduleSaveLock), so
// concurrent saves take turns.
func (db *DB) SaveVersions(ctx context.Context, ws []pipeline.VersionWrite) error {
	if len(ws) == 0 {
		return nil
	}
	var err error
	if db.dialect == Postgres {
		err = db.inConnTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error { return db.saveVersions(ctx, tx, conn, ws) })
	} else {
		err = db.inTx(ctx, func(tx *sql.Tx) error { return db.saveVersions(ctx, tx, nil, ws) })
	}
	db.changed(pipeline.ChangeSchedule)
	if err != nil {
		for i := range ws {
			ws[i].Changed = false
		}
		return fmt.Errorf("save schedules: %w", err)
	}
	return nil
}

// savedHead is a commune's head as a batch of writes moves it.
type savedHead struct {
	etag, id string
	seq      int64     // the commune's highest version number
	at       time.Time // when the head last moved, if it moved in the batch
	moved    bool
	writes   []int // the batch's changed writes of the commune, in order
}

// saveVersions is SaveVersions inside its transaction. On PostgreSQL,
// conn is the transaction's connection: the versions and their dates go
// through it with COPY.
func (db *DB) saveVersions(ctx context.Context, tx *sql.Tx, conn *sql.Conn, ws []pipeline.VersionWrite) error {
	var codes []string
	heads := map[string]*savedHead{}
	for i := range ws {
		if c := ws[i].Version.Commune; heads[c] == nil {
			heads[c] = &savedHead{}
			codes = append(codes, c)
		}
	}
	if err := db.readSavedHeads(ctx, tx, codes, heads); err != nil {
		return err
	}
	sc, _ := db.saves.Get().(*saveScratch)
	if sc == nil {
		sc = &saveScratch{}
	}
	sc.reset()
	defer db.saves.Put(sc)
	var (
		enc                                 itemEncoder
		written                             []int // the writes of versionArgs' rows
		versionArgs, dayArgs, interruptArgs []any
		moved                               []pipeline.Change
		days                                = map[string]bool{}
		interrupts                          = map[string]bool{}
	)
	for i := range ws {
		w := &ws[i]
		v := &w.Version
		if v.ID == "" {
			// Time-ordered ids: a build's versions and their dates go to
			// the end of their indexes instead of all over them.
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("schedule of %s: version id: %w", v.Commune, err)
			}
			v.ID = id.String()
		}
		if v.BuiltAt.IsZero() {
			v.BuiltAt = db.Now()
		}
		h := heads[v.Commune]
		if h.etag == v.ETag {
			v.ID, w.Changed = h.id, false
			continue
		}
		w.Changed = true
		h.seq++
		v.Seq = h.seq
		var blob any // on PostgreSQL, encoded as COPY sends the row
		if conn == nil {
			b, err := enc.encode(w.Items)
			if err != nil {
				return fmt.Errorf("schedule of %s: %w", v.Commune, err)
			}
			blob = sc.blobs.keep(b)
		}
		versionArgs = append(versionArgs, v.ID, v.Commune, v.ETag, v.Start, v.Days, v.Reason, v.BuiltAt, v.Explain, v.Seq, blob)
		written = append(written, i)
		lastDate := ""
		for j := range w.Items { // mostly in date order within a cluster
			it := &w.Items[j]
			if it.Date != lastDate {
				days[it.Date] = true
				lastDate = it.Date
			}
			if it.Kind == "interrupt" && it.SegmentID != "" && !interrupts[it.SegmentID] {
				interrupts[it.SegmentID] = true
				interruptArgs = append(interruptArgs, v.ID, it.SegmentID)
			}
		}
		for d := range days {
			dayArgs = append(dayArgs, v.ID, d)
		}
		clear(days)
		clear(interrupts)
		h.etag, h.id, h.at, h.moved = v.ETag, v.ID, v.BuiltAt, true
		h.writes = append(h.writes, i)
		moved = append(moved, pipeline.Change{Kind: pipeline.ChangeSchedule, Key: v.Commune, Note: v.Reason})
	}
	if len(moved) == 0 {
		return nil
	}
	if conn != nil {
		// COPY: pgx builds a statement's parameters in buffers that grow
		// with it and are dropped after it (a national build's blobs,
		// some 80 MB, cost gigabytes of allocations that way), while COPY
		// streams the rows through one 64 KB buffer. Each blob is encoded
		// as its row is sent, into the encoder's one buffer.
		const width = 10
		if err := copyRows(ctx, conn, "schedule_versions", []string{"id", "commune_code", "etag", "start_date", "days", "reason", "built_at", "explain", "seq", "items"},
			len(written), func(k int) ([]any, error) {
				row := versionArgs[k*width : (k+1)*width]
				w := &ws[written[k]]
				b, err := enc.encode(w.Items)
				if err != nil {
					return nil, fmt.Errorf("schedule of %s: %w", w.Version.Commune, err)
				}
				row[width-1] = b
				return row, nil
			}); err != nil {
			return fmt.Errorf("schedule versions: %w", err)
		}
		if err := copyArgs(ctx, conn, "schedule_days", []string{"version_id", "air_date"}, dayArgs); err != nil {
			return fmt.Errorf("schedule dates: %w", err)
		}
	} else {
		if err := execRows(ctx, tx, "INSERT INTO schedule_versions (id, commune_code, etag, start_date, days, reason, built_at, explain, seq, items) VALUES ",
			"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ", ", "", 10, versionArgs); err != nil {
			return fmt.Errorf("schedule versions: %w", err)
		}
		if err := execRows(ctx, tx, "INSERT INTO schedule_days (version_id, air_date) VALUES ", "(?, ?)", ", ", "", 2, dayArgs); err != nil {
			return fmt.Errorf("schedule dates: %w", err)
		}
	}
	if err := execRows(ctx, tx, "INSERT INTO schedule_interrupts (version_id, segment_id) VALUES ", "(?, ?)", ", ", "", 2, interruptArgs); err != nil {
		return fmt.Errorf("schedule interrupts: %w", err)
	}
	if err := db.saveHistory(ctx, tx, conn, ws, codes, heads, sc); err != nil {
		return fmt.Errorf("airing history: %w", err)
	}
	var headArgs []any
	for _, c := range codes {
		if h := heads[c]; h.moved {
			headArgs = append(headArgs, c, h.id, h.etag, h.at)
		}
	}
	if err := execRows(ctx, tx, "INSERT INTO schedule_heads (commune_code, version_id, etag, updated_at) VALUES ", "(?, ?, ?, ?)", ", ",
		" ON CONFLICT (commune_code) DO UPDATE SET version_id = excluded.version_id, etag = excluded.etag, updated_at = excluded.updated_at",
		4, headArgs); err != nil {
		return fmt.Errorf("schedule heads: %w", err)
	}
	return db.recordChange(ctx, tx, moved...)
}

// saveScratch is a schedule save's working memory, kept in DB.saves for
// the next save: a national build saves its communes in some 17 batches,
// each of which would otherwise allocate its blobs' and history's
// buffers anew (about 150 MB a build).
type saveScratch struct {
	blobs   blobArena
	hist    historyDiff
	planned []airRow // a chunk's communes' planned history, one after another
	ends    []int    // where each commune's planned rows end
	stored  []historyDay
}

// reset readies sc for a save, keeping its memory.
func (sc *saveScratch) reset() {
	sc.blobs.reset()
	h := &sc.hist
	clear(h.del)
	clear(h.put)
	h.del, h.put, h.enc, h.ends = h.del[:0], h.put[:0], h.enc[:0], h.ends[:0]
	sc.planned, sc.ends, sc.stored = sc.planned[:0], sc.ends[:0], sc.stored[:0]
}

// blobArena keeps copies of a batch's version blobs in a few large
// buffers instead of one allocation each (the encoder reuses its own).
// reset makes its buffers free for the next batch.
type blobArena struct {
	chunks [][]byte
	n      int // chunks[n] is the one being filled
}

// blobArenaChunk is the size of an arena's buffers: some 60 versions'
// blobs of about 8 KB.
const blobArenaChunk = 512 << 10

// keep returns a copy of b that stays valid until the arena is reset.
func (a *blobArena) keep(b []byte) []byte {
	for ; a.n < len(a.chunks); a.n++ {
		if c := a.chunks[a.n]; cap(c)-len(c) >= len(b) {
			n := len(c)
			c = append(c, b...)
			a.chunks[a.n] = c
			return c[n:len(c):len(c)]
		}
	}
	a.chunks = append(a.chunks, make([]byte, 0, max(len(b), blobArenaChunk)))
	return a.keep(b)
}

// reset makes every buffer of the arena free again.
func (a *blobArena) reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.n = 0
}

// scheduleSaveLock is the PostgreSQL advisory lock key schedule saves
// take in turn (a fixed number no other lock of Loa uses: "LoaSched").
const scheduleSaveLock int64 = 0x4c6f615363686564

// readSavedHeads fills heads (one per code) with each commune's head
// ETag and version and its highest version number. On PostgreSQL it first
// takes scheduleSaveLock until the transaction ends: a concurrent save
// waits, then reads the versions and airing history this one stored, so
// the history it writes as a difference is from what is really stored,
// also for a commune saved for the first time. SQLite has one writer at a
// time anyway.
func (db *DB) readSavedHeads(ctx context.Context, tx *sql.Tx, codes []string, heads map[string]*savedHead) error {
	lock := ""
	if db.dialect == Postgres {
		// One lock for every save: row locks on the heads cannot hold
		// back a concurrent first save of a commune, which has no head
		// row yet to lock.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", scheduleSaveLock); err != nil {
			return fmt.Errorf("lock schedule saves: %w", err)
		}
	}
	for chunk := range slices.Chunk(codes, inListMax) {
		only, args := codeFilter("commune_code", chunk)
		rows, err := tx.QueryContext(ctx, "SELECT commune_code, etag, version_id FROM schedule_heads"+only+lock, args...)
		if err != nil {
			return fmt.Errorf("schedule heads: %w", err)
		}
		for rows.Next() {
			var c, etag, id string
			if err := rows.Scan(&c, &etag, &id); err != nil {
				rows.Close()
				return fmt.Errorf("schedule heads: %w", err)
			}
			heads[c].etag, heads[c].id = etag, id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("schedule heads: %w", err)
		}
		rows, err = tx.QueryContext(ctx, "SELECT commune_code, MAX(seq) FROM schedule_versions"+only+" GROUP BY commune_code", args...)
		if err != nil {
			return fmt.Errorf("schedule version numbers: %w", err)
		}
		for rows.Next() {
			var c string
			var seq sql.NullInt64
			if err := rows.Scan(&c, &seq); err != nil {
				rows.Close()
				return fmt.Errorf("schedule version numbers: %w", err)
			}
			heads[c].seq = seq.Int64
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("schedule version numbers: %w", err)
		}
	}
	return nil
}

// saveHistory brings the airing history of the communes whose heads
// moved in line with the batch's changed writes, in order: each write
// replaces its commune's rows from its start date on with the segments
// its entries play on each date (rows before its start stay, and a
// segment it plans on a date before its start is added to that date's).
//
// It writes the difference only: the stored rows of each commune from
// its earliest start (or earlier planned date) on are read, and only the
// (commune, date) rows whose segments changed are written, so a rebuild
// that plans what the last one planned writes no history row and a
// national build writes at most a row per commune and date (some 23,000).
func (db *DB) saveHistory(ctx context.Context, tx *sql.Tx, conn *sql.Conn, ws []pipeline.VersionWrite, codes []string, heads map[string]*savedHead, sc *saveScratch) error {
	var moved []string
	for _, c := range codes {
		if len(heads[c].writes) > 0 {
			moved = append(moved, c)
		}
	}
	d, planned, ends, stored := &sc.hist, sc.planned, sc.ends, sc.stored
	defer func() { sc.planned, sc.ends, sc.stored = planned, ends, stored }()
	for chunk := range slices.Chunk(moved, inListMax) {
		// Read from the earliest start or planned date of the chunk.
		from := ""
		planned, ends = planned[:0], ends[:0]
		for _, c := range chunk {
			h := heads[c]
			n := len(planned)
			planned = plannedHistory(planned, n, ws, h)
			ends = append(ends, len(planned))
			s := firstStart(ws, h)
			if len(planned) > n {
				s = min(s, planned[n].date)
			}
			if from == "" || s < from {
				from = s
			}
		}
		stored = stored[:0]
		if err := db.readHistory(ctx, tx, chunk, from, "", func(r *historyDay) error {
			stored = append(stored, *r)
			return nil
		}); err != nil {
			return err
		}
		// By commune in Go's order (PostgreSQL's collation may differ).
		slices.SortFunc(stored, compareHistoryDays)
		n := 0
		for k, c := range chunk {
			lo, _ := slices.BinarySearchFunc(stored, historyDay{commune: c}, compareHistoryDays)
			hi := lo
			for hi < len(stored) && stored[hi].commune == c {
				hi++
			}
			if err := d.commune(c, firstStart(ws, heads[c]), planned[n:ends[k]], stored[lo:hi]); err != nil {
				return err
			}
			n = ends[k]
		}
	}
	d.seal()
	if db.dialect == Postgres {
		return writeHistoryCopy(ctx, tx, conn, d.del, d.put)
	}
	return writeHistoryRows(ctx, tx, d.del, d.put)
}

// historyDiff is the airing history rows a save writes: del the stored
// rows no longer planned, put the rows whose segments are new or changed
// (with the stored row's tid when there is one).
type historyDiff struct {
	del, put []historyDay
	enc      []byte   // put's segment_ids, one after another
	ends     []int    // where each put's segment_ids ends in enc
	ids      []string // scratch: one date's segment ids
}

// commune adds to the difference commune's rows: planned (sorted by date
// and segment, each once) is what its changed writes leave from start on
// and plan before it; stored is its stored rows from the earliest
// planned date on (or start, if earlier), sorted by date.
func (d *historyDiff) commune(c, start string, planned []airRow, stored []historyDay) error {
	i, j := 0, 0
	for i < len(planned) || j < len(stored) {
		cmp := 0
		switch {
		case i == len(planned):
			cmp = 1
		case j == len(stored):
			cmp = -1
		default:
			cmp = strings.Compare(planned[i].date, stored[j].date)
		}
		if cmp > 0 { // stored only
			if stored[j].date >= start {
				d.del = append(d.del, stored[j])
			}
			j++
			continue
		}
		date := planned[i].date
		d.ids = d.ids[:0]
		for ; i < len(planned) && planned[i].date == date; i++ {
			d.ids = append(d.ids, planned[i].segment)
		}
		row := historyDay{commune: c, date: date}
		if cmp == 0 {
			row.tid = stored[j].tid
			if date < start {
				// Before the start the stored segments stay.
				if err := eachHistoryID(stored[j].ids, func(id string) bool {
					d.ids = append(d.ids, id)
					return true
				}); err != nil {
					return fmt.Errorf("history of %s on %s: %w", c, date, err)
				}
				slices.Sort(d.ids)
				d.ids = slices.Compact(d.ids)
			}
		}
		n := len(d.enc)
		d.enc = appendHistoryIDs(d.enc, d.ids)
		if cmp == 0 {
			same := string(d.enc[n:]) == stored[j].ids
			j++
			if same {
				d.enc = d.enc[:n]
				continue
			}
		}
		d.put = append(d.put, row)
		d.ends = append(d.ends, len(d.enc))
	}
	return nil
}

// seal sets each put row's segment_ids, all of them substrings of one
// string.
func (d *historyDiff) seal() {
	all := string(d.enc)
	n := 0
	for k, end := range d.ends {
		d.put[k].ids = all[n:end]
		n = end
	}
}

// writeHistoryRows deletes the airing history rows del and writes put
// (an insert, or an update of the row of its commune and date) with
// multi-row statements.
func writeHistoryRows(ctx context.Context, tx *sql.Tx, del, put []historyDay) error {
	boxed := boxes{}
	args := make([]any, 0, 3*max(len(del), len(put)))
	var commune any
	for i, r := range del {
		if i == 0 || r.commune != del[i-1].commune {
			commune = r.commune
		}
		args = append(args, commune, boxed.box(r.date))
	}
	// Terms joined by OR, not a row-value IN (VALUES …) that SQLite
	// answers with a scan of the whole table: each term is a primary key
	// lookup on both backends.
	if err := execRows(ctx, tx, "DELETE FROM schedule_history WHERE ", "(commune_code = ? AND air_date = ?)", " OR ", "", 2, args); err != nil {
		return err
	}
	args = args[:0]
	for i, r := range put {
		if i == 0 || r.commune != put[i-1].commune {
			commune = r.commune
		}
		args = append(args, commune, boxed.box(r.date), r.ids)
	}
	return execRows(ctx, tx, "INSERT INTO schedule_history (commune_code, air_date, segment_ids) VALUES ", "(?, ?, ?)", ", ",
		" ON CONFLICT (commune_code, air_date) DO UPDATE SET segment_ids = excluded.segment_ids", 3, args)
}

// writeHistoryCopy is writeHistoryRows for PostgreSQL: the rows to
// delete and the stored rows put replaces go by their ctids in one
// statement, and put's rows with COPY on the transaction's connection
// conn.
func writeHistoryCopy(ctx context.Context, tx *sql.Tx, conn *sql.Conn, del, put []historyDay) error {
	tids := make([]string, 0, len(del)+len(put))
	for _, r := range del {
		tids = append(tids, r.tid)
	}
	for _, r := range put {
		if r.tid != "" {
			tids = append(tids, r.tid)
		}
	}
	if len(tids) > 0 {
		// By the rows' ids: a join on the key made PostgreSQL hash the
		// whole table for every batch.
		if _, err := tx.ExecContext(ctx, `DELETE FROM schedule_history WHERE ctid = ANY(?::text[]::tid[])`, tids); err != nil {
			return err
		}
	}
	row := make([]any, 3)
	return copyRows(ctx, conn, "schedule_history", []string{"commune_code", "air_date", "segment_ids"}, len(put), func(i int) ([]any, error) {
		row[0], row[1], row[2] = put[i].commune, put[i].date, put[i].ids
		return row, nil
	})
}

// airRow is a segment scheduled on a date (YYYY-MM-DD, so dates order as
// strings).
type airRow struct{ date, segment string }

func compareAirRows(a, b airRow) int {
	if c := strings.Compare(a.date, b.date); c != 0 {
		return c
	}
	return strings.Compare(a.segment, b.segment)
}

func compareHistoryDays(a, b historyDay) int {
	if c := strings.Compare(a.commune, b.commune); c != 0 {
		return c
	}
	return strings.Compare(a.date, b.date)
}

// firstStart is the earliest start date of a commune's changed writes.
func firstStart(ws []pipeline.VersionWrite, h *savedHead) string {
	start := ws[h.writes[0]].Version.Start
	for _, i := range h.writes[1:] {
		start = min(start, ws[i].Version.Start)
	}
	return start
}

// airs reports whether an entry counts in the airing history.
func airs(it *pipeline.ScheduleItem) bool {
	return it.SegmentID != "" && (it.Kind == "segment" || it.Kind == "interrupt")
}

// plannedHistory appends to dst the airing history a commune's changed
// writes leave from their earliest start on, and the rows they plan
// before it, sorted by date and segment, each once. The stored rows from
// the earliest start on do not count: the write starting then replaces
// them all. dst[:from] is other communes' and stays as it is.
func plannedHistory(dst []airRow, from int, ws []pipeline.VersionWrite, h *savedHead) []airRow {
	for k, i := range h.writes {
		w := &ws[i]
		if k > 0 {
			dst = dst[:from+len(slices.DeleteFunc(dst[from:], func(r airRow) bool { return r.date >= w.Version.Start }))]
		}
		for j := range w.Items {
			if it := &w.Items[j]; airs(it) {
				dst = append(dst, airRow{date: it.Date, segment: it.SegmentID})
			}
		}
	}
	slices.SortFunc(dst[from:], compareAirRows)
	return dst[:from+len(slices.Compact(dst[from:]))]
}

// boxes holds strings as statement arguments (any), each distinct one
// boxed once: a national build's history has about 300,000 rows and a
// thousand distinct segments on a week's dates.
type boxes map[string]any

func (b boxes) box(s string) any {
	v, ok := b[s]
	if !ok {
		v = s
		b[s] = v
	}
	return v
}

// execRows runs a statement over rows of `width` values each (args
// holds them one row after another), up to execRowsMax rows a
// statement: head, then row (with width placeholders) once a row joined
// by sep, then tail. For an INSERT, head is "INSERT INTO t (cols)
// VALUES ", row "(?, ?)" and sep ", ".
func execRows(ctx context.Context, tx *sql.Tx, head, row, sep, tail string, width int, args []any) error {
	return execRowsBy(ctx, tx, head, row, sep, tail, width, execRowsMax, args)
}

// execRowsBy is execRows with up to most rows a statement.
func execRowsBy(ctx context.Context, tx *sql.Tx, head, row, sep, tail string, width, most int, args []any) error {
	query := func(n int) string {
		var q strings.Builder
		q.Grow(len(head) + n*(len(row)+len(sep)) + len(tail))
		q.WriteString(head)
		for k := range n {
			if k > 0 {
				q.WriteString(sep)
			}
			q.WriteString(row)
		}
		q.WriteString(tail)
		return q.String()
	}
	full := most * width
	if len(args) >= 2*full { // the full-size statement, prepared once
		st, err := tx.PrepareContext(ctx, query(most))
		if err != nil {
			return err
		}
		defer st.Close()
		for ; len(args) >= full; args = args[full:] {
			if _, err := st.ExecContext(ctx, args[:full]...); err != nil {
				return err
			}
		}
	}
	for len(args) > 0 {
		n := min(len(args)/width, most)
		if _, err := tx.ExecContext(ctx, query(n), args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// execRowsMax keeps a statement's parameters (rows × width) under
// SQLite's and PostgreSQL's limits.
const execRowsMax = 200

// inListMax is the most commune codes one IN (…) list holds.
const inListMax = 500

// Version returns a stored schedule version.
func (db *DB) Version(ctx context.Context, id string) (pipeline.ScheduleVersion, error) {
	var v pipeline.ScheduleVersion
	err := db.sql.QueryRowContext(ctx, "SELECT id, commune_code, etag, start_date, days, reason, built_at, explain, seq FROM schedule_versions WHERE id = ?", id).
		Scan(&v.ID, &v.Commune, &v.ETag, &v.Start, &v.Days, &v.Reason, &v.BuiltAt, &v.Explain, &v.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return v, pipeline.Errorf(pipeline.CodeNotFound, "No schedule version %q.", id)
	}
	if err != nil {
		return v, fmt.Errorf("schedule version %s: %w", id, err)
	}
	return v, nil
}

// VersionItems returns the entries of a version, for one cluster and date
// when they are not empty, ordered by cluster, date, slot and position.
// Versions never change once stored: the decoded entries of the last
// versions read are kept in memory (db.versionItems).
func (db *DB) VersionItems(ctx context.Context, versionID, cluster, date string) ([]pipeline.ScheduleItem, error) {
	all, err := db.allVersionItems(ctx, versionID)
	if err != nil {
		return nil, err
	}
	out := []pipeline.ScheduleItem{}
	for _, it := range all {
		if (cluster == "" || it.Cluster == cluster) && (date == "" || it.Date == date) {
			out = append(out, it)
		}
	}
	return out, nil
}

// allVersionItems returns every entry of a version, decoded from its blob
// or from the cache; the slice is shared and must not be changed. A
// version that does not exist has no entries.
func (db *DB) allVersionItems(ctx context.Context, versionID string) ([]pipeline.ScheduleItem, error) {
	if items, ok := db.versionItems.GetIfPresent(versionID); ok {
		return items, nil
	}
	var blob []byte
	err := db.sql.QueryRowContext(ctx, "SELECT items FROM schedule_versions WHERE id = ?", versionID).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("schedule items of %s: %w", versionID, err)
	}
	items, err := decodeStoredItems(blob)
	if err != nil {
		return nil, fmt.Errorf("schedule items of %s: %w", versionID, err)
	}
	db.versionItems.Set(versionID, items)
	return items, nil
}

// decodeStoredItems decodes a version's items column; NULL (a version
// stored before its entries were packed, see packScheduleItems) has none.
func decodeStoredItems(blob []byte) ([]pipeline.ScheduleItem, error) {
	if blob == nil {
		return nil, nil
	}
	return decodeItems(blob)
}

// versionItemsCached is how many versions' decoded entries a store keeps:
// a commune's version decodes to about 300 entries of some 300 bytes, so
// 512 versions are some 50 MB at most.
const versionItemsCached = 512

// BeginBuild claims a build by key (such as "nightly/2025-03-03") for
// owner, an identifier of one attempt in one process, for lease (the
// claim lapses at db.Now()+lease unless renewed). A key never claimed, or
// claimed by an owner whose lease has passed without finishing (the owner
// died), is claimed; a finished build reports Done; a live claim of
// another owner reports that owner and its lease end.
func (db *DB) BeginBuild(ctx context.Context, key, owner string, lease time.Duration) (pipeline.BuildClaim, error) {
	if owner == "" || lease <= 0 {
		return pipeline.BuildClaim{}, fmt.Errorf("begin build %s: an owner and a positive lease are required", key)
	}
	var c pipeline.BuildClaim
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := db.Now().UTC()
		until := now.Add(lease)
		var (
			prev     string
			prevTill sql.NullTime
			finished sql.NullTime
		)
		err := tx.QueryRowContext(ctx, "SELECT owner, lease_until, finished_at FROM schedule_builds WHERE build_key = ?", key).Scan(&prev, &prevTill, &finished)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, "INSERT INTO schedule_builds (build_key, started_at, owner, lease_until) VALUES (?, ?, ?, ?) ON CONFLICT (build_key) DO NOTHING",
				key, now, owner, until)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 1 {
				c.Claimed = true
				return nil
			}
			// Another claimer inserted the key since the SELECT (possible
			// where transactions do not serialize, as on PostgreSQL).
			err = tx.QueryRowContext(ctx, "SELECT owner, lease_until, finished_at FROM schedule_builds WHERE build_key = ?", key).Scan(&prev, &prevTill, &finished)
			if err != nil {
				return err
			}
			c.Done, c.Owner = finished.Valid, prev
			if prevTill.Valid && !c.Done {
				c.Until = prevTill.Time.UTC()
			}
			return nil
		case err != nil:
			return err
		case finished.Valid:
			c.Done = true
			return nil
		}
		// The conditions are checked again in the UPDATE itself, so two
		// claimers that read the same expired row cannot both win.
		res, err := tx.ExecContext(ctx, `UPDATE schedule_builds SET owner = ?, lease_until = ?, started_at = ?
			WHERE build_key = ? AND finished_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)`, owner, until, now, key, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			c.Claimed, c.TakenFrom = true, prev
			return nil
		}
		c.Owner = prev
		if prevTill.Valid {
			c.Until = prevTill.Time.UTC()
		}
		return nil
	})
	if err != nil {
		return pipeline.BuildClaim{}, fmt.Errorf("begin build %s: %w", key, err)
	}
	return c, nil
}

// RenewBuild extends owner's claim on key to db.Now()+lease and returns
// the new end. It fails with ErrClaimLost when owner no longer holds an
// unfinished claim on key.
func (db *DB) RenewBuild(ctx context.Context, key, owner string, lease time.Duration) (time.Time, error) {
	until := db.Now().UTC().Add(lease)
	res, err := db.sql.ExecContext(ctx, "UPDATE schedule_builds SET lease_until = ? WHERE build_key = ? AND owner = ? AND finished_at IS NULL", until, key, owner)
	if err != nil {
		return time.Time{}, fmt.Errorf("renew build %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return time.Time{}, fmt.Errorf("renew build %s for %s: %w", key, owner, pipeline.ErrClaimLost)
	}
	return until, nil
}

// FinishBuild records the outcome of owner's build; on failure it
// releases the key so a retry can run it. It fails with ErrClaimLost, and
// changes nothing, when owner no longer holds the claim.
func (db *DB) FinishBuild(ctx context.Context, key, owner string, communes, changed int, failed bool) error {
	var (
		res sql.Result
		err error
	)
	if failed {
		res, err = db.sql.ExecContext(ctx, "DELETE FROM schedule_builds WHERE build_key = ? AND owner = ? AND finished_at IS NULL", key, owner)
	} else {
		res, err = db.sql.ExecContext(ctx, "UPDATE schedule_builds SET finished_at = ?, lease_until = NULL, communes = ?, changed = ? WHERE build_key = ? AND owner = ? AND finished_at IS NULL",
			db.Now().UTC(), communes, changed, key, owner)
	}
	if err != nil {
		return fmt.Errorf("finish build %s: %w", key, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("finish build %s for %s: %w", key, owner, pipeline.ErrClaimLost)
	}
	return nil
}

// MarkEmergency marks a segment emergency for the target communes (all
// when targets is empty) until the given time, raises its priority and
// logs who did it, and runs db.RebuildTx: the caller rebuilds the
// targets at once, the queued rebuild the communes outside them that
// still air the segment as a normal item. The segment must be ready to
// air in some language.
func (db *DB) MarkEmergency(ctx context.Context, e pipeline.Emergency) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		var variants int
		err := tx.QueryRowContext(ctx, "SELECT state, (SELECT COUNT(*) FROM variants v WHERE v.segment_id = s.id) FROM segments s WHERE id = ?", e.SegmentID).Scan(&state, &variants)
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", e.SegmentID)
		}
		if err != nil {
			return err
		}
		if pipeline.State(state) == pipeline.StateWithdrawn {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s is withdrawn: it cannot go on air. Upload it again if it must.", e.SegmentID)
		}
		if variants == 0 {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s is not ready to air in any language yet (still processing?): wait until it is processed, then mark it again, or run 'loa segments emergency' with --wait to raise it as soon as processing ends.", e.SegmentID).WithKey(pipeline.KeySegmentNotReady, e.SegmentID)
		}
		for _, c := range e.Targets {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM communes WHERE code = ?", c).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return pipeline.FieldError("communes", "No commune with code %q: 'loa communes list' shows the codes.", c).WithKey("unknown_commune", c)
			}
		}
		// The emergency in force before this raise, if any: the communes
		// it covered keep the time they got it (RaisedTimes), and the
		// requester of a confirmed one stays named.
		var old *pipeline.Emergency
		ems, err := db.emergencies(ctx, tx, "e.segment_id = ? AND e.until > ?", e.SegmentID, e.MarkedAt.UTC())
		if err != nil {
			return err
		}
		if len(ems) == 1 {
			old = &ems[0]
		}
		requestedBy := e.RequestedBy
		if requestedBy == 0 && old != nil {
			requestedBy = old.RequestedBy
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO emergencies (segment_id, targets, until, marked_by, marked_at, requested_by) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (segment_id) DO UPDATE SET targets = excluded.targets, until = excluded.until, marked_by = excluded.marked_by, marked_at = excluded.marked_at,
			requested_by = excluded.requested_by`,
			e.SegmentID, strings.Join(e.Targets, ","), e.Until.UTC(), e.MarkedBy, e.MarkedAt.UTC(), requestedBy); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_communes WHERE segment_id = ?", e.SegmentID); err != nil {
			return err
		}
		raised := pipeline.RaisedTimes(old, e)
		for _, c := range slices.Sorted(maps.Keys(raised)) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO emergency_communes (segment_id, commune_code, raised_at) VALUES (?, ?, ?)", e.SegmentID, c, raised[c]); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE segments SET priority = ?, updated_at = ? WHERE id = ?", string(pipeline.PriorityEmergency), e.MarkedAt.UTC(), e.SegmentID); err != nil {
			return err
		}
		if err := db.priorityChanged(ctx, tx, e.SegmentID, pipeline.PriorityEmergency); err != nil {
			return err
		}
		if err := db.rebuildTx(ctx, tx, e.SegmentID); err != nil {
			return err
		}
		detail := "whole province"
		if len(e.Targets) > 0 {
			detail = "communes " + strings.Join(e.Targets, ", ")
		}
		detail += " until " + e.Until.UTC().Format(time.RFC3339)
		if e.RequestedBy != 0 {
			var who string
			if err := tx.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", e.RequestedBy).Scan(&who); err != nil {
				return fmt.Errorf("requester %d: %w", e.RequestedBy, err)
			}
			detail += "; requested by " + who
			if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_requests WHERE segment_id = ?", e.SegmentID); err != nil {
				return err
			}
		}
		detail += "; reason: " + e.Reason
		actor := e.MarkedBy
		if e.Actor != 0 {
			actor = e.Actor
		}
		return addEvent(ctx, tx, e.SegmentID, actor, "emergency", detail, e.MarkedAt.UTC())
	})
	if err != nil {
		return fmt.Errorf("mark %s emergency: %w", e.SegmentID, err)
	}
	return nil
}

// EmergencyInForce returns segment segmentID's emergency in force at
// now, with the reason and author of its last raise or change (from the
// audit log); a not-found error when none is.
func (db *DB) EmergencyInForce(ctx context.Context, segmentID string, now time.Time) (pipeline.EmergencyInForce, error) {
	var e pipeline.EmergencyInForce
	var targets string
	err := db.sql.QueryRowContext(ctx, `SELECT e.targets, e.until, e.marked_at, e.marked_by, COALESCE(u.name, ''), COALESCE(rq.name, '') FROM emergencies e
		LEFT JOIN users u ON u.id = e.marked_by LEFT JOIN users rq ON rq.id = e.requested_by AND e.requested_by <> e.marked_by
		WHERE e.segment_id = ? AND e.until > ?`, segmentID, now.UTC()).
		Scan(&targets, &e.Until, &e.Since, &e.RaisedByID, &e.RaisedBy, &e.RequestedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return e, pipeline.Errorf(pipeline.CodeNotFound, "Segment %s has no emergency in force.", segmentID)
	}
	if err != nil {
		return e, fmt.Errorf("emergency of %s: %w", segmentID, err)
	}
	e.Communes = []string{}
	if targets == "" {
		e.Province = true
	} else {
		e.Communes = strings.Split(targets, ",")
	}
	var detail, actor string
	var actorID int64
	err = db.sql.QueryRowContext(ctx, `SELECT ev.detail, ev.user_id, COALESCE(u.name, '') FROM segment_events ev LEFT JOIN users u ON u.id = ev.user_id
		WHERE ev.segment_id = ? AND ev.action = 'emergency' ORDER BY ev.at DESC, ev.id DESC LIMIT 1`, segmentID).Scan(&detail, &actorID, &actor)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return e, fmt.Errorf("emergency of %s: its audit entry: %w", segmentID, err)
	default:
		if _, reason, ok := strings.Cut(detail, "; reason: "); ok {
			e.Reason = reason
		}
		if actorID != e.RaisedByID {
			e.ChangedBy = actor
		}
	}
	return e, nil
}

// EndEmergency ends segment segmentID's emergency in force at now (its
// until becomes now; the row and the audit log stay) and cancels its
// wide emergency request waiting for confirmation, if any; the reason is
// logged with who did it. The segment keeps priority emergency and airs
// nowhere (ReadyCatalog) until its producer sets its priority again,
// as when an emergency runs out by itself; its translation jobs not yet
// done get back the normal deadline from their creation (relaxJobsTx).
// Ending one runs db.RebuildTx:
// the caller rebuilds its communes at once, the queued rebuild every
// other commune whose schedule still names the segment. It returns the emergency ended (SegmentID empty when none was in force)
// and whether a request was cancelled; a not-found error when there was
// neither.
func (db *DB) EndEmergency(ctx context.Context, segmentID string, by int64, reason string, now time.Time) (ended pipeline.Emergency, cancelled bool, err error) {
	now = now.UTC()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var targets string
		e := pipeline.Emergency{SegmentID: segmentID}
		err := tx.QueryRowContext(ctx, "SELECT targets, until, marked_by, marked_at FROM emergencies WHERE segment_id = ? AND until > ?", segmentID, now).
			Scan(&targets, &e.Until, &e.MarkedBy, &e.MarkedAt)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if targets != "" {
				e.Targets = strings.Split(targets, ",")
			}
			if _, err := tx.ExecContext(ctx, "UPDATE emergencies SET until = ? WHERE segment_id = ?", now, segmentID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE segments SET updated_at = ? WHERE id = ?", now, segmentID); err != nil {
				return err
			}
			where := "whole province"
			if len(e.Targets) > 0 {
				where = "communes " + targets
			}
			if err := addEvent(ctx, tx, segmentID, by, "emergency_ended", where+" (was until "+e.Until.UTC().Format(time.RFC3339)+"); off air until its priority is set again; reason: "+reason, now); err != nil {
				return err
			}
			if _, err := db.relaxJobsTx(ctx, tx, segmentID, now); err != nil {
				return err
			}
			if err := db.rebuildTx(ctx, tx, segmentID); err != nil {
				return err
			}
			ended = e
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM emergency_requests WHERE segment_id = ?", segmentID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			cancelled = true
			if err := addEvent(ctx, tx, segmentID, by, "emergency_request_cancelled", "reason: "+reason, now); err != nil {
				return err
			}
		}
		if ended.SegmentID == "" && !cancelled {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM segments WHERE id = ?", segmentID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", segmentID)
			}
			return pipeline.Errorf(pipeline.CodeNotFound, "Segment %s has no emergency in force and no emergency request waiting: there is nothing to end.", segmentID)
		}
		return nil
	})
	if err != nil {
		return ended, cancelled, fmt.Errorf("end the emergency of %s: %w", segmentID, err)
	}
	return ended, cancelled, nil
}

// CancelEmergencyRequest drops segment segmentID's wide emergency
// request waiting for confirmation, and nothing else: an emergency in
// force on the segment stays as it is. by withdraws it (the person who
// asked) or declines it (an administrator; declined true): the audit log
// keeps who did it and why, and a declined request's producer is sent a
// notice (kind emergency_declined) with the reason. It returns the
// request dropped; a not-found error when none was waiting.
func (db *DB) CancelEmergencyRequest(ctx context.Context, segmentID string, by int64, declined bool, reason string, now time.Time) (pipeline.EmergencyRequest, error) {
	now = now.UTC()
	var r pipeline.EmergencyRequest
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var targets, title, who string
		err := tx.QueryRowContext(ctx, `SELECT r.targets, r.until, r.reason, r.requested_by, r.requested_at, s.title,
			COALESCE((SELECT name FROM users WHERE id = ?), '')
			FROM emergency_requests r JOIN segments s ON s.id = r.segment_id WHERE r.segment_id = ?`, by, segmentID).
			Scan(&targets, &r.Until, &r.Reason, &r.RequestedBy, &r.RequestedAt, &title, &who)
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.CodeNotFound, "Segment %s has no emergency request waiting for confirmation: there is nothing to cancel.", segmentID)
		}
		if err != nil {
			return err
		}
		r.SegmentID = segmentID
		if targets != "" {
			r.Targets = strings.Split(targets, ",")
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_requests WHERE segment_id = ?", segmentID); err != nil {
			return err
		}
		action, detail := "emergency_request_withdrawn", "withdrawn by who asked"
		if declined {
			action, detail = "emergency_request_declined", "declined by an administrator"
		}
		if reason != "" {
			detail += "; reason: " + reason
		}
		if err := addEvent(ctx, tx, segmentID, by, action, detail, now); err != nil {
			return err
		}
		if !declined || r.RequestedBy == by {
			return nil
		}
		if who == "" {
			who = "An administrator"
		}
		where := "the whole province"
		if len(r.Targets) > 0 {
			where = fmt.Sprintf("%d communes (%s)", len(r.Targets), strings.Join(r.Targets, ", "))
		}
		return addNotices(ctx, tx, []notify.Notice{{Kind: notify.KindEmergencyDeclined, UserID: r.RequestedBy, CreatedAt: now,
			Subject: "Emergency request declined: " + title,
			Body: fmt.Sprintf("%s declined your request to put segment %s (%s) on air as an emergency in %s.\nReason: %s\n\n"+
				"Nothing of it went on air; an emergency already in force on the segment is unchanged. Ask again if it is still needed: loa segments emergency %s --communes C,.. --reason WHY --yes",
				who, segmentID, title, where, reason, segmentID)}})
	})
	if err != nil {
		return r, fmt.Errorf("cancel the emergency request of %s: %w", segmentID, err)
	}
	return r, nil
}

// RequestEmergency stores a wide emergency a producer asks for,
// to wait for an administrator's confirmation (replacing an earlier
// request for the same segment), and logs it.
func (db *DB) RequestEmergency(ctx context.Context, r pipeline.EmergencyRequest) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, "SELECT state FROM segments WHERE id = ?", r.SegmentID).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return pipeline.Errorf(pipeline.CodeNotFound, "No segment %q.", r.SegmentID)
		}
		if err != nil {
			return err
		}
		if pipeline.State(state) == pipeline.StateWithdrawn {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s is withdrawn: it cannot go on air. Upload it again if it must.", r.SegmentID)
		}
		var title, producer string
		if err := tx.QueryRowContext(ctx, "SELECT s.title, COALESCE((SELECT name FROM users WHERE id = ?), '') FROM segments s WHERE s.id = ?", r.RequestedBy, r.SegmentID).
			Scan(&title, &producer); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO emergency_requests (segment_id, targets, until, reason, requested_by, requested_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (segment_id) DO UPDATE SET targets = excluded.targets, until = excluded.until, reason = excluded.reason,
			requested_by = excluded.requested_by, requested_at = excluded.requested_at`,
			r.SegmentID, strings.Join(r.Targets, ","), r.Until.UTC(), r.Reason, r.RequestedBy, r.RequestedAt.UTC()); err != nil {
			return err
		}
		where := "whole province"
		if len(r.Targets) > 0 {
			where = fmt.Sprintf("%d communes (%s)", len(r.Targets), strings.Join(r.Targets, ", "))
		}
		if err := addEvent(ctx, tx, r.SegmentID, r.RequestedBy, "emergency_requested",
			where+" until "+r.Until.UTC().Format(time.RFC3339)+"; waiting for an administrator; reason: "+r.Reason, r.RequestedAt.UTC()); err != nil {
			return err
		}
		return addNotices(ctx, tx, []notify.Notice{emergencyRequestNotice(r, title, producer, where)})
	})
	if err != nil {
		return fmt.Errorf("request emergency for %s: %w", r.SegmentID, err)
	}
	return nil
}

// emergencyRequestNotice tells every administrator that a producer's
// wide emergency waits for confirmation: what, where, until when, why,
// and the command that confirms it.
func emergencyRequestNotice(r pipeline.EmergencyRequest, title, producer, where string) notify.Notice {
	if producer == "" {
		producer = "A producer"
	}
	until := r.Until.In(localtime.Location()).Format("2006-01-02 15:04")
	return notify.Notice{Kind: notify.KindEmergencyRequested, Role: string(pipeline.RoleAdmin), CreatedAt: r.RequestedAt,
		Subject: "Emergency waiting for confirmation: " + title,
		Body: fmt.Sprintf("%s asks to put segment %s (%s) on air as an emergency in the %s until %s (Asia/Ho_Chi_Minh).\nReason: %s\n\n"+
			"It airs nowhere until an administrator confirms it: loa segments emergency %s --confirm-request --yes\n"+
			"(or the segment's page). To decline it: loa segments emergency %s --cancel-request --reason WHY --yes",
			producer, r.SegmentID, title, where, until, r.Reason, r.SegmentID, r.SegmentID)}
}

// PendingEmergency returns the wide emergency request waiting
// for a segment (Expired when its end has passed by db.Now), or a
// not-found error.
func (db *DB) PendingEmergency(ctx context.Context, segmentID string) (pipeline.EmergencyRequest, error) {
	r := pipeline.EmergencyRequest{SegmentID: segmentID}
	var targets string
	err := db.sql.QueryRowContext(ctx, "SELECT targets, until, reason, requested_by, requested_at FROM emergency_requests WHERE segment_id = ?", segmentID).
		Scan(&targets, &r.Until, &r.Reason, &r.RequestedBy, &r.RequestedAt)
	if targets != "" {
		r.Targets = strings.Split(targets, ",")
	}
	if errors.Is(err, sql.ErrNoRows) {
		return r, pipeline.Errorf(pipeline.CodeNotFound, "No wide emergency is waiting for confirmation for segment %s.", segmentID)
	}
	if err != nil {
		return r, fmt.Errorf("pending emergency of %s: %w", segmentID, err)
	}
	r.Expired = !r.Until.After(db.Now())
	return r, nil
}

// SavePlayReports stores play reports of a commune. A report whose id is
// already stored for this commune is skipped, so a retry counts once; ids
// are scoped per commune, so another commune's ids never collide. It
// returns how many were new.
func (db *DB) SavePlayReports(ctx context.Context, commune string, userID int64, reports []schedules.PlayReport, dateOf func(schedules.PlayReport) string) (int, error) {
	now := db.Now()
	added := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range reports {
			var fin any
			if !r.Finished.IsZero() {
				fin = r.Finished.UTC()
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO play_reports (id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at,
				reason, air_date, reported_by, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (commune_code, id) DO NOTHING`,
				r.ID, commune, r.Cluster, r.Entry, r.SegmentID, string(r.Status), r.Started.UTC(), fin, r.Reason, dateOf(r), userID, now)
			if err != nil {
				return fmt.Errorf("report %s: %w", r.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("save play reports: %w", err)
	}
	return added, nil
}

// ScheduledEntries returns the entries scheduled for a commune's
// cluster on a date (YYYY-MM-DD) in any of its schedule versions, not only
// the current one (a device plays the bundle it has), with each entry's
// longest length in milliseconds, earliest start and latest end (for a
// programme entry, the latest end of any entry of its slot: the player
// may start an item late, until the next one's start).
func (db *DB) ScheduledEntries(ctx context.Context, commune, cluster, date string) (map[string]pipeline.ScheduledEntry, error) {
	ids, err := queryAll(ctx, db.sql, "scheduled entries of "+commune, func(sc scanner) (string, error) {
		var id string
		return id, sc.Scan(&id)
	}, `SELECT v.id FROM schedule_days d JOIN schedule_versions v ON v.id = d.version_id
		WHERE d.air_date = ? AND v.commune_code = ?`, date, commune)
	if err != nil {
		return nil, err
	}
	out := map[string]pipeline.ScheduledEntry{}
	slotOf := map[string]int{}     // programme entry -> its slot's start
	slotEnd := map[int]time.Time{} // slot start -> latest end of an entry in it
	for _, id := range ids {
		items, err := db.allVersionItems(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("scheduled entries of %s/%s on %s: %w", commune, cluster, date, err)
		}
		for _, it := range items {
			if it.Cluster != cluster || it.Date != date {
				continue
			}
			end := it.Start.Add(time.Duration(it.DurationMS) * time.Millisecond)
			e, ok := out[it.EntryID]
			if !ok {
				e = pipeline.ScheduledEntry{Kind: it.Kind, First: it.Start, Last: end}
			}
			e.DurationMS = max(e.DurationMS, it.DurationMS)
			if it.Start.Before(e.First) {
				e.First = it.Start
			}
			if end.After(e.Last) {
				e.Last = end
			}
			out[it.EntryID] = e
			if it.Kind != string(schedules.EntryInterrupt) {
				slotOf[it.EntryID] = it.SlotStart
				if end.After(slotEnd[it.SlotStart]) {
					slotEnd[it.SlotStart] = end
				}
			}
		}
	}
	for id, slot := range slotOf {
		e := out[id]
		e.Last = slotEnd[slot]
		out[id] = e
	}
	return out, nil
}

// PlayReports lists a commune's play reports for a date (YYYY-MM-DD).
func (db *DB) PlayReports(ctx context.Context, commune, date string) ([]pipeline.PlayRecord, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, commune_code, cluster_id, entry_id, segment_id, status, started_at, finished_at, reason, air_date,
		reported_by, received_at FROM play_reports WHERE commune_code = ? AND air_date = ? ORDER BY cluster_id, started_at, id`, commune, date)
	if err != nil {
		return nil, fmt.Errorf("play reports of %s: %w", commune, err)
	}
	defer rows.Close()
	out := []pipeline.PlayRecord{}
	for rows.Next() {
		var r pipeline.PlayRecord
		var fin sql.NullTime
		if err := rows.Scan(&r.ID, &r.Commune, &r.Cluster, &r.EntryID, &r.SegmentID, &r.Status, &r.Started, &fin, &r.Reason, &r.Date,
			&r.ReportedBy, &r.ReceivedAt); err != nil {
			return nil, fmt.Errorf("play reports of %s: %w", commune, err)
		}
		if fin.Valid {
			r.Finished = &fin.Time
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateDevice makes the account of a loudspeaker device of a commune: an
// operator scoped to that commune with a random password nobody knows,
// and returns it with a fresh API token. The audit log names no maker;
// CreateDeviceBy names one.
func (db *DB) CreateDevice(ctx context.Context, commune, label string) (pipeline.User, string, error) {
	return db.CreateDeviceBy(ctx, commune, label, pipeline.Actor{})
}

// CreateDeviceBy is CreateDevice done by by (the user calling the API, or
// CLIActor on the server's command line): the audit log names them as the
// maker of the device's account and of its token.
func (db *DB) CreateDeviceBy(ctx context.Context, commune, label string, by pipeline.Actor) (pipeline.User, string, error) {
	if _, err := db.CommuneHead(ctx, commune); err != nil {
		return pipeline.User{}, "", err
	}
	pw, _, err := pipeline.NewToken()
	if err != nil {
		return pipeline.User{}, "", err
	}
	var n int
	if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM devices WHERE commune_code = ?", commune).Scan(&n); err != nil {
		return pipeline.User{}, "", fmt.Errorf("create device: %w", err)
	}
	var u pipeline.User
	for i := n + 1; ; i++ {
		u, err = db.CreateUser(ctx, pipeline.NewUser{Name: fmt.Sprintf("device-%s-%d", commune, i), Role: pipeline.RoleOperator, Password: pw[:40], Commune: commune,
			CreatedBy: by.ID, CreatedActor: by.Name})
		if pipeline.ErrorCode(err) == pipeline.CodeConflict && i < n+100 {
			continue
		}
		if err != nil {
			return u, "", err
		}
		break
	}
	if _, err := db.sql.ExecContext(ctx, "INSERT INTO devices (commune_code, user_id, label, created_at) VALUES (?, ?, ?, ?)", commune, u.ID, label, db.Now()); err != nil {
		return u, "", fmt.Errorf("create device: %w", err)
	}
	tok, err := db.CreateTokenAs(ctx, u.ID, strings.TrimSpace("device "+label), pipeline.TokenAPI, by)
	if err != nil {
		return u, "", err
	}
	return u, tok, nil
}

// ActiveEmergencies lists the emergencies raised or changed since the
// given time whose segment is still on air (not withdrawn), with when
// each commune got it (Emergency.Raised).
func (db *DB) ActiveEmergencies(ctx context.Context, since time.Time) ([]pipeline.Emergency, error) {
	ems, err := db.emergencies(ctx, db.sql, "e.marked_at >= ? AND s.state <> ?", since.UTC(), string(pipeline.StateWithdrawn))
	if err != nil {
		return nil, fmt.Errorf("active emergencies: %w", err)
	}
	return ems, nil
}

// emergencies reads the emergencies (joined with their segment s) that
// match where, ordered by marked_at and segment, with their communes'
// raise times.
func (db *DB) emergencies(ctx context.Context, q rowsQuerier, where string, args ...any) ([]pipeline.Emergency, error) {
	from := ` FROM emergencies e JOIN segments s ON s.id = e.segment_id WHERE ` + where
	out, err := queryAll(ctx, q, "emergencies", func(sc scanner) (pipeline.Emergency, error) {
		var e pipeline.Emergency
		var targets string
		if err := sc.Scan(&e.SegmentID, &targets, &e.Until, &e.MarkedBy, &e.MarkedAt, &e.RequestedBy); err != nil {
			return e, err
		}
		if targets != "" {
			e.Targets = strings.Split(targets, ",")
		}
		return e, nil
	}, `SELECT e.segment_id, e.targets, e.until, e.marked_by, e.marked_at, e.requested_by`+from+` ORDER BY e.marked_at, e.segment_id`, args...)
	if err != nil || len(out) == 0 {
		return out, err
	}
	type raised struct {
		segment, commune string
		at               time.Time
	}
	rs, err := queryAll(ctx, q, "emergency communes", func(sc scanner) (raised, error) {
		var r raised
		return r, sc.Scan(&r.segment, &r.commune, &r.at)
	}, `SELECT c.segment_id, c.commune_code, c.raised_at FROM emergency_communes c WHERE c.segment_id IN (SELECT e.segment_id`+from+`)`, args...)
	if err != nil {
		return nil, err
	}
	ix := make(map[string]int, len(out))
	for i := range out {
		ix[out[i].SegmentID] = i
	}
	for _, r := range rs {
		i, ok := ix[r.segment]
		if !ok {
			continue
		}
		if out[i].Raised == nil {
			out[i].Raised = map[string]time.Time{}
		}
		out[i].Raised[r.commune] = r.at
	}
	return out, nil
}
