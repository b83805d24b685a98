package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize/english"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// scheduleCommands are the commune, schedule and playlist commands.
func scheduleCommands() []command {
	return []command{
		{"communes import", "import the commune registry from a YAML or CSV file", runCommunesImport},
		{"communes list", "list communes with their current schedule version", runCommunesList},
		{"device add", "make a loudspeaker device's token for one commune", runDeviceAdd},
		{"device list", "the commune players and how each stands by its last heartbeat (online, late, offline, never)", runDeviceList},
		{"schedule build", "build the schedules now (all communes, or --commune)", runScheduleBuild},
		{"schedule show", "a commune's schedule for a date beside what was played", runScheduleShow},
		{"schedule explain", "why each item is in a commune's schedule, and why others are not", runScheduleExplain},
		{"segments emergency", "mark a segment emergency for some communes or the province", runSegmentsEmergency},
		{"playlist pull", "download a commune's signed offline bundle (only what changed)", runPlaylistPull},
		{"playlist verify", "check an offline bundle's signature and every checksum", runPlaylistVerify},
	}
}

// text fetches a plain-text answer.
func (c *client) text(ctx context.Context, path string) (string, error) {
	if c.token == "" {
		return "", pipeline.Errorf(pipeline.CodeUnauthorized, "No API token: pass --token or set LOA_TOKEN.")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.server, "/")+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: fmt.Sprintf("Cannot reach the Loa server at %s.", c.server)}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode >= 400 {
		var eb wire.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
			return "", &pipeline.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
		}
		return "", pipeline.Errorf(pipeline.CodeInternal, "The server answered %s.", resp.Status)
	}
	return string(data), nil
}

func runCommunesImport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "communes import", "FILE")
	c := registerClient(fs, env)
	allowRemovals := fs.Bool("allow-removals", false, "remove the clusters of the file's communes that the file no longer lists, and stored communes whose code differs from one in the file only by case or diacritics (without it such an import is refused and nothing changes)")
	dryRun := fs.Bool("dry-run", false, "check the file with the server and say what importing it would change (communes new or changed, clusters added, changed, removed); nothing is written")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one FILE (.yaml, .yml or .csv)"}
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot read %s: %v.", pos[0], err)
	}
	// Check locally first: the parser names the line of every problem.
	if _, err := schedules.ParseRegistry(filepath.Base(pos[0]), bytes.NewReader(data)); err != nil {
		return &pipeline.Error{Code: pipeline.CodeInvalid, Message: "The registry has problems; fix them and import again:\n" + err.Error(), Err: err}
	}
	target := "/api/communes/import?name=" + url.QueryEscape(filepath.Base(pos[0]))
	if *allowRemovals {
		target += "&allow_removals=1"
	}
	if *dryRun {
		target += "&dry_run=1"
	}
	var res schedules.ImportResult
	if err := c.do(ctx, "POST", target, bytes.NewReader(data), "application/octet-stream", &res); err != nil {
		return err
	}
	if *dryRun {
		return printImportDiff(env.stdout, res, *allowRemovals)
	}
	fmt.Fprintf(env.stdout, "imported %d communes (%d new), %d clusters, %d slots; their schedules are rebuilt shortly (or now: loa schedule build)\n",
		res.Communes, res.Created, res.Clusters, res.Slots)
	if len(res.Removed) > 0 {
		fmt.Fprintf(env.stdout, "removed %s the file no longer lists (their loudspeakers get no schedule):\n", english.Plural(len(res.Removed), "cluster", ""))
		for _, r := range res.Removed {
			fmt.Fprintf(env.stdout, "  %s\n", r)
		}
	}
	if len(res.RemovedCommunes) > 0 {
		fmt.Fprintf(env.stdout, "removed %s whose code differed from the file's only by case or diacritics (their devices and operators now answer for the file's commune):\n",
			english.Plural(len(res.RemovedCommunes), "commune", ""))
		for _, r := range res.RemovedCommunes {
			fmt.Fprintf(env.stdout, "  %s, replaced by %s\n", r.Code, r.ReplacedBy)
		}
	}
	return nil
}

// printImportDiff writes what a dry run of an import says it would
// change.
func printImportDiff(w io.Writer, res schedules.ImportResult, allowRemovals bool) error {
	d := res.Diff
	if !res.DryRun || d == nil {
		return fmt.Errorf("the server did not answer the dry run (an older server?): nothing was imported, but what would change is unknown")
	}
	fmt.Fprintf(w, "dry run, nothing was imported: the file has %d communes (%d new), %d clusters, %d slots\n", res.Communes, res.Created, res.Clusters, res.Slots)
	refs := func(rs []schedules.ClusterRef) string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.String()
		}
		return strings.Join(out, ", ")
	}
	if len(d.NewCommunes) > 0 {
		fmt.Fprintf(w, "new communes (%d): %s\n", len(d.NewCommunes), strings.Join(d.NewCommunes, ", "))
	}
	if len(d.ChangedCommunes) > 0 {
		fmt.Fprintf(w, "communes renamed or of another kind (%d): %s\n", len(d.ChangedCommunes), strings.Join(d.ChangedCommunes, ", "))
	}
	for _, l := range []struct {
		what string
		rs   []schedules.ClusterRef
	}{{"clusters added", d.Added}, {"clusters changed (name, languages or slots)", d.Changed}, {"clusters removed", d.Removed}} {
		list := "none"
		if len(l.rs) > 0 {
			list = refs(l.rs)
		}
		fmt.Fprintf(w, "%s (%d): %s\n", l.what, len(l.rs), list)
	}
	fmt.Fprintf(w, "clusters unchanged: %d\n", d.Unchanged)
	if len(res.RemovedCommunes) > 0 {
		list := make([]string, len(res.RemovedCommunes))
		for i, r := range res.RemovedCommunes {
			list[i] = r.Code + " (" + r.ReplacedBy + ")"
		}
		fmt.Fprintf(w, "stored communes whose code differs from the file's only by case or diacritics (%d): %s; the import replaces them only with --allow-removals, and is refused without it\n",
			len(list), strings.Join(list, ", "))
	}
	if len(d.Removed) > 0 && !allowRemovals {
		fmt.Fprintf(w, "the import would be refused as it is: it removes %s, whose loudspeakers would get no schedule; if they are really gone, import with --allow-removals, else correct the file\n",
			english.Plural(len(d.Removed), "cluster", ""))
	}
	return nil
}

func runCommunesList(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "communes list", "")
	c := registerClient(fs, env)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var list []pipeline.CommuneSummary
	if err := c.do(ctx, "GET", "/api/communes", nil, "", &list); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, list)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tNAME\tKIND\tCLUSTERS\tSCHEDULE ETAG\tBUILT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.Code, s.Name, s.Kind, s.Clusters, orDash(s.ETag), stamp(s.BuiltAt))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runDeviceAdd(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "device add", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "commune code (required)")
	label := fs.String("label", "", "a label for the device, e.g. its place")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *commune == "" {
		return usageError{"--commune is required"}
	}
	var res api.DeviceResponse
	if err := c.do(ctx, "POST", "/api/communes/"+url.PathEscape(*commune)+"/devices?label="+url.QueryEscape(*label), nil, "", &res); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "device %s for commune %s; its token (shown once):\n", res.User.Name, *commune)
	fmt.Fprintln(env.stdout, res.Token)
	base := res.PlaylistURL
	if base == "" {
		base = strings.TrimRight(c.server, "/")
	}
	fmt.Fprintf(env.stderr, "a controller polls %s/api/communes/%s/clusters/CLUSTER/playlists/YYYY-MM-DD.m3u8 (or .json) with 'Authorization: Bearer TOKEN'\n", base, url.PathEscape(*commune))
	return nil
}

func runDeviceList(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "device list", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "one commune's players; default every one you may see (an operator's own commune's, every commune's for an admin)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	path := "/api/devices"
	if *commune != "" {
		path = "/api/communes/" + url.PathEscape(*commune) + "/devices"
	}
	var list []api.DeviceView
	if err := c.do(ctx, "GET", path, nil, "", &list); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.stdout, "no devices (loa device add --commune C makes one)")
		return nil
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMUNE\tDEVICE\tSTATE\tLAST HEARTBEAT\tAGO\tVERSION\tREPORTS WAITING\tCLOCK OFFSET\tLABEL\tPROBLEM")
	for _, d := range list {
		last, ago, version, waiting, clock := "-", "-", "-", "-", "-"
		var problems []string
		if hb := d.Heartbeat; hb != nil {
			last, ago = stamp(d.LastHeartbeat), (time.Duration(d.AgeSeconds) * time.Second).String()
			version, waiting, clock = orDash(hb.BundleVersion), fmt.Sprint(hb.Backlog), fmt.Sprintf("%+d ms", hb.ClockOffsetMS)
			if hb.Expired {
				problems = append(problems, "SCHEDULE EXPIRED")
			}
			if hb.LastError != "" {
				problems = append(problems, "last error: "+strings.Join(strings.Fields(hb.LastError), " "))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Commune, d.Name, d.State, last, ago, version, waiting, clock,
			orDash(strings.Join(strings.Fields(d.Label), " ")), orDash(strings.Join(problems, "; ")))
	}
	return tw.Flush()
}

func runScheduleBuild(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "schedule build", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "only these communes (codes, comma-separated)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var res broadcast.BuildResult
	path := "/api/schedules/build"
	if *commune != "" {
		path += "?commune=" + url.QueryEscape(*commune)
	}
	if err := c.do(ctx, "POST", path, nil, "", &res); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, res)
	}
	fmt.Fprintf(env.stdout, "built %d communes for %d days from %s in %s (builder %s); new versions: %d %v\n",
		res.Communes, res.Days, res.Start, res.Took.Round(time.Millisecond), res.BuildNS.Round(time.Microsecond), len(res.Changed), res.Changed)
	return notBuiltError(res.NotBuilt)
}

// notBuiltError is the refusal (exit 3) of the communes a build left
// out, each with its problem, after the others were built; nil when none.
func notBuiltError(nb []broadcast.NotBuilt) error {
	if len(nb) == 0 {
		return nil
	}
	var b strings.Builder
	verb := "were"
	if len(nb) == 1 {
		verb = "was"
	}
	fmt.Fprintf(&b, "%s %s not built (the others were; a commune not built keeps the schedule it had):", english.Plural(len(nb), "commune", ""), verb)
	for _, n := range nb {
		fmt.Fprintf(&b, "\n  %s: %s", n.Commune, n.Problem)
	}
	b.WriteString("\nTo correct it: " + broadcast.NotBuiltFix + ".")
	return pipeline.Errorf(pipeline.CodeInvalid, "%s", b.String())
}

func runScheduleShow(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "schedule show", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "commune code (required)")
	date := fs.String("date", "", "date YYYY-MM-DD; default today in Sơn La")
	cluster := fs.String("cluster", "", "only this cluster")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *commune == "" {
		return usageError{"--commune is required"}
	}
	q := url.Values{}
	if *date != "" {
		q.Set("date", *date)
	}
	if *cluster != "" {
		q.Set("cluster", *cluster)
	}
	var doc broadcast.ShowDoc
	if err := c.do(ctx, "GET", "/api/communes/"+url.PathEscape(*commune)+"/schedule?"+q.Encode(), nil, "", &doc); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, doc)
	}
	loc := broadcast.Location()
	fmt.Fprintf(env.stdout, "%s (%s) %s, schedule version %s, %s\n", doc.Name, doc.Commune, doc.Date, orDash(doc.Version), zoneNote(env.clock()))
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tSCHEDULED\tLENGTH\tITEM\tPLAYED")
	for _, r := range doc.Rows {
		name := r.Kind
		if r.Title != "" {
			name = fmt.Sprintf("%s [%s] %s", r.Kind, r.Language, r.Title)
		}
		played := "-"
		if r.Kind == "relay" {
			played = "(relay)"
		}
		var parts []string
		for _, p := range r.Reports {
			if p.Status == "played" {
				s := "played " + p.Started.In(loc).Format("15:04:05")
				if p.Finished != nil {
					s += "-" + p.Finished.In(loc).Format("15:04:05")
				}
				parts = append(parts, s)
			} else {
				parts = append(parts, "FAILED "+p.Started.In(loc).Format("15:04:05")+": "+p.Reason)
			}
		}
		if len(parts) > 0 {
			played = strings.Join(parts, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Cluster, r.Start.In(loc).Round(time.Second).Format("15:04:05"), (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Second), name, played)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range doc.Unmatched {
		fmt.Fprintf(env.stdout, "reported from an earlier version of this schedule: %s %s segment %s %s %s %s\n", p.Cluster, p.EntryID, orDash(p.SegmentID), p.Status, p.Started.In(loc).Format("15:04:05"), p.Reason)
	}
	return nil
}

func runScheduleExplain(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "schedule explain", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "commune code (required)")
	cluster := fs.String("cluster", "", "only this cluster")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *commune == "" {
		return usageError{"--commune is required"}
	}
	text, err := c.text(ctx, "/api/communes/"+url.PathEscape(*commune)+"/explain?cluster="+url.QueryEscape(*cluster))
	if err != nil {
		return err
	}
	_, err = io.WriteString(env.stdout, text)
	return err
}

func runSegmentsEmergency(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "segments emergency", "ID")
	c := registerClient(fs, env)
	communes := fs.String("communes", "", "target commune codes, comma-separated")
	province := fs.Bool("province", false, "every commune of the province")
	until := fs.String("until", "", "end of the emergency (RFC 3339); default 24 hours from now")
	yes := fs.Bool("yes", false, "confirm: the target communes' loudspeakers are interrupted at once")
	reason := fs.String("reason", "", "why the emergency is raised, or ended with --end (required; goes into the audit log)")
	confirmRequest := fs.Bool("confirm-request", false, "administrators: confirm the wide emergency (many communes or the province) a producer asked for")
	replace := fs.Bool("replace", false, "make --communes (or --province) the emergency's whole list: communes in force left out lose the alert (an administrator or who raised it only); without it they are added")
	end := fs.Bool("end", false, "end the emergency in force now, before its end time, and cancel a request waiting for confirmation (with --reason and --yes)")
	cancelRequest := fs.Bool("cancel-request", false, "drop only the wide request waiting for an administrator's confirmation, leaving an emergency in force on air: its requester withdraws it, an administrator declines it (with --reason, told to the requester); with --yes")
	var wait waitFlag
	fs.Var(&wait, "wait", fmt.Sprintf("when the segment is still being processed, wait for it (--wait: up to %s; --wait=30m: up to that), then raise the emergency; processing that fails ends the wait (exit 3)", defaultEmergencyWait))
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give the segment ID"}
	}
	if *cancelRequest {
		if *end || *confirmRequest || *communes != "" || *province || *until != "" || *replace || wait.d > 0 {
			return usageError{"--cancel-request takes only --reason and --yes"}
		}
		return cancelEmergencyRequest(ctx, env, c, pos[0], *reason, *yes)
	}
	if *end {
		if *confirmRequest || *communes != "" || *province || *until != "" || *replace || wait.d > 0 {
			return usageError{"--end takes only --reason and --yes"}
		}
		return endEmergency(ctx, env, c, pos[0], *reason, *yes)
	}
	if *confirmRequest {
		if wait.d > 0 {
			return usageError{"--confirm-request takes only --yes (the request was accepted once the segment was ready)"}
		}
		body, _ := json.Marshal(api.ConfirmRequest{Confirm: *yes})
		var res broadcast.EmergencyResult
		if err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(pos[0])+"/emergency/confirm", bytes.NewReader(body), "application/json", &res); err != nil {
			var pe *pipeline.Error
			if errors.As(err, &pe) && pe.Field == "confirm" && !*yes {
				// Refused input (exit 3): nothing was confirmed.
				return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
					Message: fmt.Sprintf("Nothing was raised: confirming the emergency segment %s was asked for interrupts the loudspeakers of every commune the request names at once ('loa segments show %s' lists them). Run the same command with --yes to go ahead.", pos[0], pos[0])}
			}
			return err
		}
		where := "the whole province" // a request without targets
		if n := len(res.Targets); n > 0 {
			where = fmt.Sprintf("%d communes", n)
			if n <= 8 {
				where += " (" + strings.Join(res.Targets, ", ") + ")"
			}
		}
		fmt.Fprintf(env.stdout, "emergency %s for %s until %s; new schedule versions for: %s\n", res.SegmentID, where,
			stamp(res.Until), strings.Join(res.Build.Changed, ", "))
		return nil
	}
	req := api.EmergencyRequest{Province: *province, Confirm: *yes, Reason: *reason, Replace: *replace}
	if *communes != "" {
		req.Communes = strings.Split(*communes, ",")
	}
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return usageError{fmt.Sprintf("--until %q: write RFC 3339, e.g. 2025-03-03T18:00:00+07:00", *until)}
		}
		req.Until = t
	}
	body, _ := json.Marshal(req)
	raise := func() (broadcast.EmergencyResult, error) {
		var res broadcast.EmergencyResult
		err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(pos[0])+"/emergency", bytes.NewReader(body), "application/json", &res)
		return res, err
	}
	res, err := raise()
	if err != nil && *yes && wait.d > 0 && notReady(err) {
		// Still processing: wait for it, then ask again, the same request.
		if err := waitProcessed(ctx, env, c, pos[0], wait.d, time.Second); err != nil {
			return err
		}
		res, err = raise()
	}
	if err != nil {
		var pe *pipeline.Error
		waits := ""
		if wait.d > 0 {
			waits = fmt.Sprintf(" With --wait it first waits (up to %s) for the segment's processing to end if it has not, then raises the emergency.", wait.d)
		}
		if errors.As(err, &pe) && pe.Field == "confirm" && !*yes {
			// Refused input (exit 3): nothing was raised. The server's
			// answer says what is in force, added and would be dropped,
			// or that it would only be stored for an administrator.
			what, _, _ := strings.Cut(pe.Message, " To go ahead")
			goAhead := "Run the same command with --yes to go ahead."
			if pe.Key == pipeline.KeyEmergencyNeedsConfirmation {
				goAhead = "Run the same command with --yes to store the request, then call an administrator to confirm it."
			}
			return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
				Message: fmt.Sprintf("Nothing was raised: %s %s%s", what, goAhead, waits)}
		}
		if notReady(err) && !*yes && wait.d > 0 {
			return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
				Message: fmt.Sprintf("Nothing was raised: segment %s is still being processed. Run the same command with --yes to go ahead.%s", pos[0], waits)}
		}
		if notReady(err) && !*yes {
			// The dry run of a segment still processing: --yes alone
			// would be refused the same way.
			return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
				Message: fmt.Sprintf("Nothing was raised: segment %s is not ready to air in any language yet (still processing?), so the same command with --yes would be refused. Run it with --yes --wait to raise the emergency as soon as processing ends (waiting up to %s; --wait=DURATION for longer).", pos[0], defaultEmergencyWait)}
		}
		return err
	}
	if res.Pending {
		fmt.Fprintln(env.stdout, res.Message)
		return nil
	}
	fmt.Fprintf(env.stdout, "emergency %s until %s; new schedule versions for: %s\n", res.SegmentID,
		stamp(res.Until), strings.Join(res.Build.Changed, ", "))
	if p := res.Plan; p != nil && p.InForce != nil {
		fmt.Fprintf(env.stdout, "kept: %s; added: %s; lost the alert: %s\n", orNone(p.Kept), orNone(p.Added), orNone(p.Dropped))
	}
	if res.Message != "" {
		fmt.Fprintln(env.stdout, res.Message)
	}
	return nil
}

// defaultEmergencyWait is how long 'loa segments emergency --wait' waits
// for processing at most: a process job is cut after 5 minutes
// (pipeline/worker's River JobTimeout) and the longest segment media
// accepts (media.DefaultLimits MaxDuration, 2 h of radio) takes about
// that on a slow machine, so 15 minutes covers it with two retries.
const defaultEmergencyWait = 15 * time.Minute

// waitFlag is --wait[=DURATION]: zero when absent, defaultEmergencyWait
// when given bare.
type waitFlag struct{ d time.Duration }

func (w *waitFlag) String() string {
	if w == nil || w.d == 0 {
		return ""
	}
	return w.d.String()
}

// IsBoolFlag lets --wait stand alone.
func (w *waitFlag) IsBoolFlag() bool { return true }

func (w *waitFlag) Set(v string) error {
	switch v {
	case "true":
		w.d = defaultEmergencyWait
		return nil
	case "false":
		w.d = 0
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q: give a duration such as 30m or 1h, or --wait alone for %s", v, defaultEmergencyWait)
	}
	w.d = d
	return nil
}

// notReady tells whether err is the server's refusal of an emergency on a
// segment still being processed.
func notReady(err error) bool {
	var pe *pipeline.Error
	return errors.As(err, &pe) && pe.Key == pipeline.KeySegmentNotReady
}

// waitProcessed polls segment id (GET /api/segments/{id}) every poll until
// it is ready to air in some language, and returns nil then. Processing
// that failed, a withdrawn segment (exit 3) or max elapsed (exit 5) ends
// the wait with an error saying nothing was raised, as does ctx's end
// (Ctrl-C). It prints one line to stderr about every 5 seconds: the
// state, the step and how long it has waited.
func waitProcessed(ctx context.Context, env *cliEnv, c *client, id string, max, poll time.Duration) error {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	var last time.Time
	var state pipeline.State = "unknown"
	for {
		var v api.SegmentView
		err := c.do(wctx, "GET", "/api/segments/"+url.PathEscape(id), nil, "", &v)
		waited := time.Since(start).Round(time.Second)
		switch {
		case ctx.Err() != nil:
			return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: ctx.Err(),
				Message: fmt.Sprintf("Stopped waiting for segment %s after %s: nothing was raised. Run the command again to raise the emergency.", id, waited)}
		case wctx.Err() != nil:
			return &pipeline.Error{Code: pipeline.CodeTimeout,
				Message: fmt.Sprintf("Segment %s is still not ready to air after %s of waiting (state %s): nothing was raised. Look at 'loa segments show %s'; run the command again with a longer --wait=DURATION if processing is moving.", id, max, state, id)}
		case err != nil:
			return fmt.Errorf("waiting for segment %s to be processed: %w", id, err)
		case len(v.Variants) > 0:
			fmt.Fprintf(env.stderr, "segment %s: ready to air after %s of waiting; raising the emergency\n", id, waited)
			return nil
		case v.State == pipeline.StateFailed:
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s failed processing after %s of waiting: %s. Nothing was raised: upload the recording again, then raise the emergency.", id, waited, v.ProcessError)
		case v.State == pipeline.StateWithdrawn:
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s was withdrawn while waiting for its processing: nothing was raised.", id)
		}
		state = v.State
		if last.IsZero() || time.Since(last) >= 5*time.Second {
			last = time.Now()
			step := v.ProcessStep
			if step == "" {
				step = "queued"
			}
			fmt.Fprintf(env.stderr, "segment %s: still processing (%s, %s, %.0f%%), waited %s of at most %s\n", id, v.State, step, 100*v.Progress, waited, max)
		}
		select {
		case <-wctx.Done():
		case <-time.After(poll):
		}
	}
}

// orNone joins codes with ", ", or says "none".
func orNone(codes []string) string {
	if len(codes) == 0 {
		return "none"
	}
	return strings.Join(codes, ", ")
}

// endEmergency ends segment id's emergency in force (and cancels its
// request waiting for confirmation); without yes nothing ends (exit 3).
func endEmergency(ctx context.Context, env *cliEnv, c *client, id, reason string, yes bool) error {
	body, _ := json.Marshal(api.EndEmergencyRequest{Confirm: yes, Reason: reason})
	var res broadcast.EndResult
	if err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency/end", bytes.NewReader(body), "application/json", &res); err != nil {
		var pe *pipeline.Error
		if errors.As(err, &pe) && pe.Field == "confirm" && !yes {
			// Refused input (exit 3): nothing was ended. The server's
			// answer says which communes lose it and what else ends.
			what, _, _ := strings.Cut(pe.Message, " To go ahead")
			what = strings.TrimPrefix(what, "Nothing was ended: ")
			return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
				Message: fmt.Sprintf("Nothing was ended: %s Run the same command with --reason WHY --yes to go ahead.", what)}
		}
		return err
	}
	if !res.Ended {
		fmt.Fprintf(env.stdout, "emergency request of %s cancelled; nothing was on air\n", res.SegmentID)
		return nil
	}
	where := "the whole province"
	if n := len(res.Targets); n == 1 {
		where = "commune " + res.Targets[0]
	} else if n > 0 {
		where = fmt.Sprintf("%d communes", n)
		if n <= 8 {
			where += " (" + strings.Join(res.Targets, ", ") + ")"
		}
	}
	fmt.Fprintf(env.stdout, "emergency %s ended for %s; it airs nowhere now, as when an emergency runs out (to air it again in its own air window: loa segments priority %s normal); new schedule versions for: %s\n", res.SegmentID, where, res.SegmentID, strings.Join(res.Build.Changed, ", "))
	return nil
}

// cancelEmergencyRequest drops only segment id's wide request waiting
// for an administrator's confirmation (an emergency in force stays);
// without yes nothing is dropped (exit 3).
func cancelEmergencyRequest(ctx context.Context, env *cliEnv, c *client, id, reason string, yes bool) error {
	body, _ := json.Marshal(api.CancelRequestBody{Confirm: yes, Reason: reason})
	var res broadcast.CancelResult
	if err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(id)+"/emergency/request/cancel", bytes.NewReader(body), "application/json", &res); err != nil {
		var pe *pipeline.Error
		if errors.As(err, &pe) && pe.Field == "confirm" && !yes {
			what, _, _ := strings.Cut(pe.Message, " To go ahead")
			what = strings.TrimPrefix(what, "Nothing was cancelled: ")
			more := "--yes"
			if strings.Contains(pe.Message, `"reason"`) {
				more = "--reason WHY --yes"
			}
			return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm", Err: err,
				Message: fmt.Sprintf("Nothing was cancelled: %s Run the same command with %s to go ahead.", what, more)}
		}
		return err
	}
	what := "withdrawn"
	if res.Declined {
		what = "declined; its requester is told"
	}
	fmt.Fprintf(env.stdout, "emergency request of %s %s; it was on no loudspeaker\n", res.SegmentID, what)
	if e := res.InForce; e != nil {
		where := "the whole province"
		if !e.Province {
			where = "communes " + strings.Join(e.Communes, ", ")
		}
		fmt.Fprintf(env.stdout, "the emergency in force is unchanged: %s until %s\n", where, stamp(e.Until))
	}
	return nil
}

func runPlaylistPull(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "playlist pull", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", "", "commune code (required)")
	days := fs.Int("days", 2, "days to cover, from --from (1 to 14)")
	from := fs.String("from", "", "first date YYYY-MM-DD; default today in Sơn La")
	dir := fs.String("dir", "", "bundle folder (required); replaced only by a complete, verified bundle")
	keyFile := fs.String("public-key", "", "trusted public key file (base64); default the key pinned at the first pull (LOA_PUBLIC_KEY)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *commune == "" || *dir == "" {
		return usageError{"--commune and --dir are required"}
	}
	res, err := pull.Bundle(ctx, c.puller(), pull.Options{Commune: *commune, Days: *days, From: *from, Dir: *dir, KeyFile: *keyFile, Progress: env.stderr, Now: env.clock()})
	if err != nil {
		return err
	}
	m := res.Manifest
	if res.UpToDate {
		fmt.Fprintf(env.stdout, "%s is up to date: schedule version %s, %s to %s (%s)\n", *dir, m.Version, m.From, m.Until, daysHeld(res))
		return nil
	}
	fmt.Fprintf(env.stdout, "%s: schedule version %s, %s to %s (%s); %d files downloaded (%s), %d reused; verified\n",
		*dir, m.Version, m.From, m.Until, daysHeld(res), res.Fetched, size(res.Bytes), res.Reused)
	return nil
}

// daysHeld says how many days a pulled bundle covers, and, when fewer
// than asked, that the server has not built the rest yet.
func daysHeld(res pull.Result) string {
	if res.Days >= res.DaysAsked {
		return fmt.Sprintf("%d day(s)", res.Days)
	}
	return fmt.Sprintf("%d of the %d days asked: the server has not built the later days yet; pull again after its next build", res.Days, res.DaysAsked)
}

// verifyDir is the bundle folder 'loa playlist verify' checks: --dir, as
// 'loa playlist pull' takes it, or the one argument (the older form).
func verifyDir(flagDir string, pos []string) (string, error) {
	switch {
	case len(pos) > 1:
		return "", usageError{"give one bundle folder: --dir DIR"}
	case len(pos) == 1 && flagDir != "" && filepath.Clean(pos[0]) != filepath.Clean(flagDir):
		return "", usageError{fmt.Sprintf("two bundle folders given (--dir %s and %s): give one, as --dir DIR", flagDir, pos[0])}
	case len(pos) == 1:
		return pos[0], nil
	case flagDir != "":
		return flagDir, nil
	}
	return "", usageError{"give the bundle folder: --dir DIR (the folder 'loa playlist pull --dir' filled)"}
}

func runPlaylistVerify(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "playlist verify", "[DIR]")
	dirFlag := fs.String("dir", "", "bundle folder, as given to 'loa playlist pull --dir' (or give it as the argument)")
	keyFile := fs.String("public-key", "", "trusted public key file (base64); default the key pinned beside DIR by 'loa playlist pull' (LOA_PUBLIC_KEY)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	dir, err := verifyDir(*dirFlag, pos)
	if err != nil {
		return err
	}
	if *keyFile == "" {
		_, _, pinned := pull.Paths(dir)
		if _, err := os.Stat(pinned); errors.Is(err, os.ErrNotExist) {
			return pipeline.Errorf(pipeline.CodeInvalid, "No public key to check %s with: 'loa playlist pull' pins the server's key beside the folder it fills (%s), and there is none. Give the province's public key with --public-key FILE (an administrator has it on the admin Communes page).", dir, pinned)
		}
		*keyFile = pinned
	}
	pub, err := pull.ReadKey(*keyFile)
	if err != nil {
		return err
	}
	m, extra, err := schedules.VerifyBundle(os.DirFS(dir), pub)
	if err != nil {
		var be *schedules.BundleError
		if errors.As(err, &be) && be.Path != "" {
			return pipeline.Errorf(pipeline.CodeInvalid, "REFUSED: %s: %v. Do not play this bundle; pull it again.", filepath.Join(dir, filepath.FromSlash(be.Path)), be.Err)
		}
		return pipeline.Errorf(pipeline.CodeInvalid, "REFUSED: %v. Do not play this bundle; pull it again.", err)
	}
	for _, x := range extra {
		fmt.Fprintf(env.stderr, "note: %s is not in the manifest; it is not part of the bundle\n", filepath.Join(dir, x))
	}
	var total int64
	for _, f := range m.Files {
		total += f.Size
	}
	fmt.Fprintf(env.stdout, "OK: %s (%s), schedule version %s, %s to %s, %d files (%s), signed by key %s\n",
		m.CommuneName, m.Commune, m.Version, m.From, m.Until, len(m.Files), size(total), m.KeyID)
	if time.Now().After(m.ValidUntil) {
		fmt.Fprintf(env.stdout, "warning: the bundle expired at %s; pull a new one\n", stamp(m.ValidUntil))
	}
	return nil
}
