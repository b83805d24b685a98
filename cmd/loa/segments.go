package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize/english"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

func runUpload(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "upload", "FILE")
	c := registerClient(fs, env)
	title := fs.String("title", "", "title (required)")
	kind := fs.String("kind", "", "radio or tv (required)")
	topic := fs.String("topic", "", "CCHC topic code from the plan, e.g. procedures, digital (required)")
	priority := fs.String("priority", "normal", "normal or priority (an emergency is raised afterwards with 'loa segments emergency')")
	langs := fs.String("languages", "", "target languages, comma-separated (vi, blt, hnj); default all")
	from := fs.String("air-from", "", "first day on air, from 00:00 (2025-03-01), or the first moment (RFC 3339); default now")
	until := fs.String("air-until", "", "last day on air, through its end (2025-03-31), or the moment the window ends (RFC 3339); default 30 days after air-from")
	subs := fs.String("subtitles", "", "Vietnamese subtitle file (SRT or WebVTT)")
	asJSON := fs.Bool("json", false, "print the segment as JSON")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one FILE to upload"}
	}
	req := uploadRequest{path: pos[0], subtitles: *subs, fields: [][2]string{
		{"title", *title}, {"kind", *kind}, {"topic", *topic}, {"priority", *priority},
		{"languages", *langs}, {"air_from", *from}, {"air_until", *until},
	}}
	notes := env.stderr
	if *quiet {
		notes = io.Discard
	}
	res, err := c.upload(ctx, req, progressTo(env.stderr, *quiet), notes)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, res)
	}
	if res.Duplicate {
		fmt.Fprintln(env.stdout, duplicateNote(res))
	} else {
		fmt.Fprintf(env.stdout, "uploaded: segment %s\n", res.ID)
	}
	if len(res.Warnings) > 0 {
		fmt.Fprintf(env.stdout, "subtitles: accepted with %d warning(s):\n", len(res.Warnings))
		for _, f := range res.Warnings {
			fmt.Fprintf(env.stdout, "  %s\n", f)
		}
	}
	printSegment(env.stdout, res.SegmentView)
	return nil
}

// duplicateNote tells the producer that the file was uploaded before, what
// they sent now that was not used (the server's not_used) and the
// commands that put it in force (its replace steps).
func duplicateNote(res api.UploadResponse) string {
	note := fmt.Sprintf("already uploaded: this file is segment %s, kept as first uploaded", res.ID)
	if res.Message == "" {
		// A server from before not_used: it cannot say what differed.
		return note + fmt.Sprintf("; the title, details and subtitles sent now were not used (to replace them, withdraw segment %s and upload again)", res.ID)
	}
	if len(res.NotUsed) == 0 {
		return note + "; everything sent now matches it"
	}
	note += "; not used from this upload: " + strings.Join(res.NotUsed, ", ")
	var how []string
	for _, s := range res.Replace {
		switch s.Method {
		case http.MethodPut:
			var p api.PriorityRequest
			json.Unmarshal(s.Body, &p)
			how = append(how, fmt.Sprintf("for the %s, loa segments priority %s %s", strings.Join(s.Fields, ", "), res.ID, p.Priority))
		case http.MethodDelete:
			how = append(how, fmt.Sprintf("for the %s, loa segments withdraw %s --yes, then upload again", strings.Join(s.Fields, ", "), res.ID))
		}
	}
	if len(how) > 0 {
		note += " (to replace them: " + strings.Join(how, "; ") + ")"
	}
	return note
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// lastDayNote names the last day an air window ending at until airs, in
// the province's time: " (last day on air 2025-03-31)".
func lastDayNote(until time.Time) string {
	if until.IsZero() {
		return ""
	}
	return " (last day on air " + pipeline.LastAirDay(until) + ")"
}

func printSegment(w io.Writer, v api.SegmentView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := v.Probe
	fmt.Fprintf(tw, "id\t%s\n", v.ID)
	fmt.Fprintf(tw, "title\t%s\n", v.Title)
	fmt.Fprintf(tw, "kind\t%s\n", v.Kind)
	fmt.Fprintf(tw, "topic\t%s\n", v.Topic)
	if v.EmergencyEndedAt != nil {
		fmt.Fprintf(tw, "priority\t%s (ended %s; no longer on air first, nothing to end: set the priority with loa segments priority %s normal|priority)\n",
			v.Priority, stamp(*v.EmergencyEndedAt), v.ID)
	} else {
		fmt.Fprintf(tw, "priority\t%s\n", v.Priority)
	}
	fmt.Fprintf(tw, "state\t%s\n", v.State)
	if m := v.MediaRemoval; m != nil {
		fmt.Fprintf(tw, "media removal\tPENDING since %s: %d object(s) not yet moved away, so links issued before the withdrawal still work; retried until the object store takes writes (the worker's log says why, at WARN)\n",
			stamp(m.Since), m.Objects)
	}
	fmt.Fprintf(tw, "languages\t%s\n", strings.Join(v.Languages, ", "))
	fmt.Fprintf(tw, "air window\t%s – %s%s\n", stamp(v.AirFrom), stamp(v.AirUntil), lastDayNote(v.AirUntil))
	fmt.Fprintf(tw, "producer\t%s\n", v.Producer)
	fmt.Fprintf(tw, "file\t%s (%s, %s)\n", v.OriginalName, size(v.Size), v.ContentType)
	fmt.Fprintf(tw, "sha256\t%s\n", v.SHA256)
	fmt.Fprintf(tw, "probe\t%s, %s, audio %s %d Hz %d ch, max %.1f dB\n", p.Format,
		(time.Duration(p.DurationMS) * time.Millisecond).String(), p.AudioCodec, p.SampleRate, p.Channels, p.MaxVolumeDB)
	if p.VideoCodec != "" {
		fmt.Fprintf(tw, "video\t%s %dx%d %.2f fps\n", p.VideoCodec, p.Width, p.Height, p.FrameRate)
	}
	fmt.Fprintf(tw, "stored as\t%s\n", v.OriginalKey)
	if v.SubtitleKey != "" {
		if v.Kind == pipeline.KindRadio {
			fmt.Fprintf(tw, "subtitles\tkept as the transcript its voice-over translators read; a radio segment has no picture, so no subtitle track is made\n")
		} else {
			fmt.Fprintf(tw, "subtitles\tkept; the source of the WebVTT, soft and burned-in subtitles and of the subtitle jobs\n")
		}
	}
	printEmergency(tw, v)
	if v.ProcessStep != "" && v.State == pipeline.StateProbed {
		fmt.Fprintf(tw, "processing\t%s, %.0f%%\n", v.ProcessStep, 100*v.Progress)
	}
	if v.ProcessStep != "" && v.State == pipeline.StateFailed {
		fmt.Fprintf(tw, "failed at\t%s\n", v.ProcessStep)
	}
	if v.ProcessStep == pipeline.StepRenditions && v.State == pipeline.StateProcessed {
		fmt.Fprintf(tw, "processing\tposter, preview and subtitles (the audio airs)\n")
	}
	if v.ProcessError != "" {
		label := "failed"
		if v.State == pipeline.StateProcessed {
			label = "not made" // renditions that failed alone; the audio airs
		}
		fmt.Fprintf(tw, "%s\t%s\n", label, v.ProcessError)
	}
	for _, r := range v.Renditions {
		line := fmt.Sprintf("%s %s, %s", r.Language, r.Name, size(r.Size))
		if r.DurationMS > 0 {
			line += fmt.Sprintf(", %s", time.Duration(r.DurationMS)*time.Millisecond)
		}
		var loud struct{ OutputI, OutputTP float64 }
		if json.Unmarshal(r.Facts, &loud) == nil && loud.OutputI != 0 {
			line += fmt.Sprintf(", %.1f LUFS, %.1f dBTP", loud.OutputI, loud.OutputTP)
		}
		fmt.Fprintf(tw, "rendition\t%s\n", line)
		if r.URL != "" {
			fmt.Fprintf(tw, "  link\t%s\n", r.URL)
		}
	}
	if v.State == pipeline.StateWithdrawn {
		when := ""
		if v.WithdrawnAt != nil {
			when = " " + stamp(*v.WithdrawnAt)
		}
		fmt.Fprintf(tw, "withdrawn\t%s; on no loudspeaker, and no longer in any schedule or bundle (the reason is in the audit log)\n", strings.TrimSpace(when))
	} else {
		for _, va := range v.Variants {
			fmt.Fprintf(tw, "ready to air\t%s, %s\n", va.Language, time.Duration(va.DurationMS)*time.Millisecond)
		}
	}
	keys := make([]string, 0, len(v.Links))
	for k := range v.Links {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(tw, "link %s\t%s\n", k, v.Links[k])
	}
	tw.Flush()
}

// printEmergency writes v's emergency in force and its request waiting
// for confirmation, with the commands that work for the caller (the
// server's emergency_actions) and no others.
func printEmergency(tw io.Writer, v api.SegmentView) {
	a := v.EmergencyActions
	if a == nil {
		a = &api.EmergencyActions{}
	}
	if e := v.Emergency; e != nil {
		where := "the whole province"
		if !e.Province {
			where = "communes " + strings.Join(e.Communes, ", ")
		}
		fmt.Fprintf(tw, "emergency\tIN FORCE for %s, since %s until %s\n", where, stamp(e.Since), stamp(e.Until))
		fmt.Fprintf(tw, "  reason\t%s\n", e.Reason)
		by := e.RaisedBy
		if e.ChangedBy != "" {
			by += " (last changed by " + e.ChangedBy + ")"
		}
		if e.RequestedBy != "" {
			by += ", confirming the request of " + e.RequestedBy
		}
		fmt.Fprintf(tw, "  raised by\t%s; an administrator or the one who raised it (%s) ends or narrows it\n", by, e.RaisedBy)
		if a.End {
			also := ""
			if v.PendingEmergency != nil {
				also = "; also cancels the request waiting"
			}
			fmt.Fprintf(tw, "  end\tloa segments emergency %s --end --reason WHY --yes%s\n", v.ID, also)
			fmt.Fprintf(tw, "  narrow\tloa segments emergency %s --communes C,.. --replace --reason WHY --yes\n", v.ID)
		}
	}
	p := v.PendingEmergency
	if p == nil {
		return
	}
	where := "the whole province"
	if len(p.Targets) > 0 {
		where = "communes " + strings.Join(p.Targets, ", ")
	}
	if p.Expired {
		fmt.Fprintf(tw, "emergency\tEXPIRED request: asked %s for %s until %s, which has passed; it can no longer be confirmed, only cancelled (and asked for again if still needed); never on air\n",
			stamp(p.RequestedAt), where, stamp(p.Until))
	} else {
		fmt.Fprintf(tw, "emergency\tPENDING request: asked %s for %s until %s, waiting for an administrator to confirm it; not on air yet\n",
			stamp(p.RequestedAt), where, stamp(p.Until))
	}
	fmt.Fprintf(tw, "  reason\t%s\n", p.Reason)
	if a.ConfirmRequest {
		fmt.Fprintf(tw, "  confirm\tloa segments emergency %s --confirm-request --yes\n", v.ID)
	}
	stays := ""
	if v.Emergency != nil {
		stays = " (the emergency in force stays on air)"
	}
	switch {
	case a.CancelRequest && a.DeclineRequest:
		fmt.Fprintf(tw, "  decline\tloa segments emergency %s --cancel-request --reason WHY --yes%s\n", v.ID, stays)
	case a.CancelRequest:
		fmt.Fprintf(tw, "  withdraw\tloa segments emergency %s --cancel-request --yes%s\n", v.ID, stays)
	}
}

func runSegmentsList(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "segments list", "")
	c := registerClient(fs, env)
	state := fs.String("state", "", "only segments in this state (probed, withdrawn)")
	pending := fs.Bool("pending-emergency", false, "only segments whose wide emergency request waits for an administrator's confirmation")
	asJSON := fs.Bool("json", false, "print as JSON (emergency_requested: true marks a request waiting)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	if *state != "" {
		q.Set("state", *state)
	}
	if *pending {
		q.Set("pending_emergency", "1")
	}
	var segs []pipeline.Segment
	if err := c.do(ctx, http.MethodGet, "/api/segments?"+q.Encode(), nil, "", &segs); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, segs)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tPRIORITY\tDURATION\tTITLE")
	waiting, expired := 0, 0
	for _, s := range segs {
		prio := string(s.Priority)
		switch {
		case s.EmergencyRequestExpired:
			prio += ", emergency request EXPIRED"
			expired++
		case s.EmergencyRequested:
			prio += ", emergency PENDING"
			waiting++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.State, prio,
			(time.Duration(s.Probe.DurationMS) * time.Millisecond).Round(time.Second), s.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if waiting > 0 {
		if _, err := fmt.Fprintf(env.stdout, "%s waiting for an administrator (marked PENDING): see one with loa segments show ID; an administrator confirms it with loa segments emergency ID --confirm-request --yes\n",
			english.Plural(waiting, "emergency request", "emergency requests")); err != nil {
			return err
		}
	}
	if expired > 0 {
		if _, err := fmt.Fprintf(env.stdout, "%s expired (marked EXPIRED): the end time asked for has passed, so it can no longer be confirmed; cancel it with loa segments emergency ID --cancel-request --reason WHY --yes and ask again if still needed\n",
			english.Plural(expired, "emergency request", "emergency requests")); err != nil {
			return err
		}
	}
	return nil
}

func runSegmentsShow(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "segments show", "ID")
	c := registerClient(fs, env)
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one segment ID"}
	}
	var v api.SegmentView
	if err := c.do(ctx, http.MethodGet, "/api/segments/"+url.PathEscape(pos[0]), nil, "", &v); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, v)
	}
	printSegment(env.stdout, v)
	return nil
}

func runSegmentsWithdraw(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "segments withdraw", "ID")
	c := registerClient(fs, env)
	reason := fs.String("reason", "", "why it is withdrawn (kept in the audit log)")
	yes := fs.Bool("yes", false, "confirm: the segment leaves every commune's schedule at once (its emergencies end) and cannot be put back")
	asJSON := fs.Bool("json", false, "print as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give exactly one segment ID"}
	}
	var v api.SegmentView
	if !*yes {
		// As an emergency: nothing happens without --yes. The segment is
		// read first, so a wrong ID says so and a right one is named.
		if err := c.do(ctx, http.MethodGet, "/api/segments/"+url.PathEscape(pos[0]), nil, "", &v); err != nil {
			return err
		}
		if v.State == pipeline.StateWithdrawn {
			return pipeline.Errorf(pipeline.CodeConflict, "Segment %s (%q) is already withdrawn: nothing to do.", v.ID, v.Title)
		}
		return &pipeline.Error{Code: pipeline.CodeInvalid, Field: "confirm",
			Message: fmt.Sprintf("Nothing was withdrawn: withdrawing segment %s (%q) takes it off every commune's schedule at once, ends its emergencies, and cannot be undone (upload it again to bring it back). Run the same command with --yes to go ahead.", v.ID, v.Title)}
	}
	// --yes is the confirmation the API asks for: the segment's id.
	q := url.Values{"confirm": {pos[0]}, "reason": {*reason}}
	if err := c.do(ctx, http.MethodDelete, "/api/segments/"+url.PathEscape(pos[0])+"?"+q.Encode(), nil, "", &v); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, v)
	}
	fmt.Fprintf(env.stdout, "segment %s withdrawn\n", v.ID)
	return nil
}

func runSegmentsPriority(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "segments priority", "ID normal|priority")
	c := registerClient(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{"give a segment ID and normal or priority (an emergency is 'loa segments emergency')"}
	}
	body, _ := json.Marshal(api.PriorityRequest{Priority: pipeline.Priority(pos[1])})
	var v api.SegmentView
	if err := c.do(ctx, http.MethodPut, "/api/segments/"+url.PathEscape(pos[0])+"/priority", strings.NewReader(string(body)), "application/json", &v); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "segment %s is now %s\n", v.ID, v.Priority)
	return nil
}
