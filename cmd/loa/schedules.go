package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
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

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// scheduleCommands are the commune, schedule and playlist commands.
func scheduleCommands() []command {
	return []command{
		{"communes import", "import the commune registry from a YAML or CSV file", runCommunesImport},
		{"communes list", "list communes with their current schedule version", runCommunesList},
		{"device add", "make a loudspeaker device's token for one commune", runDeviceAdd},
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
		var eb api.ErrorBody
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
	var res sqlstore.ImportResult
	if err := c.do(ctx, "POST", "/api/communes/import?name="+url.QueryEscape(filepath.Base(pos[0])), bytes.NewReader(data), "application/octet-stream", &res); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "imported %d communes (%d new), %d clusters, %d slots; their schedules are rebuilt shortly (or now: loa schedule build)\n",
		res.Communes, res.Created, res.Clusters, res.Slots)
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
		built := "-"
		if !s.BuiltAt.IsZero() {
			built = s.BuiltAt.In(broadcast.Location()).Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.Code, s.Name, s.Kind, s.Clusters, orDash(s.ETag), built)
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
	return nil
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
	return nil
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
	fmt.Fprintf(env.stdout, "%s (%s) %s, schedule version %s\n", doc.Name, doc.Commune, doc.Date, orDash(doc.Version))
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Cluster, r.Start.In(loc).Format("15:04:05"), (time.Duration(r.DurationMS) * time.Millisecond).Round(time.Second), name, played)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range doc.Unmatched {
		fmt.Fprintf(env.stdout, "reported but not in this schedule: %s %s %s %s %s\n", p.Cluster, p.EntryID, p.Status, p.Started.In(loc).Format("15:04:05"), p.Reason)
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
	reason := fs.String("reason", "", "why the emergency is raised (required; goes into the audit log)")
	confirmRequest := fs.Bool("confirm-request", false, "administrators: confirm the province-wide emergency a producer asked for")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give the segment ID"}
	}
	if *confirmRequest {
		var res broadcast.EmergencyResult
		if err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(pos[0])+"/emergency/confirm", strings.NewReader(`{"confirm":true}`), "application/json", &res); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "emergency %s for the whole province until %s; new schedule versions for: %s\n", res.SegmentID,
			res.Until.In(broadcast.Location()).Format("2006-01-02 15:04"), strings.Join(res.Build.Changed, ", "))
		return nil
	}
	req := api.EmergencyRequest{Province: *province, Confirm: *yes, Reason: *reason}
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
	var res broadcast.EmergencyResult
	if err := c.do(ctx, "POST", "/api/segments/"+url.PathEscape(pos[0])+"/emergency", bytes.NewReader(body), "application/json", &res); err != nil {
		if pipeline.ErrorCode(err) == pipeline.CodeInvalid && !*yes {
			return fmt.Errorf("%s (add --yes)", describe(err))
		}
		return err
	}
	if res.Pending {
		fmt.Fprintln(env.stdout, res.Message)
		return nil
	}
	fmt.Fprintf(env.stdout, "emergency %s until %s; new schedule versions for: %s\n", res.SegmentID,
		res.Until.In(broadcast.Location()).Format("2006-01-02 15:04"), strings.Join(res.Build.Changed, ", "))
	return nil
}

// bundlePaths are the folders a pull uses beside the bundle folder dir:
// the staging folder it assembles the new bundle in, the folder partial
// downloads wait in (so a broken download resumes), and the pinned
// public key.
func bundlePaths(dir string) (staging, partial, pinned string) {
	dir = filepath.Clean(dir)
	return dir + ".staging", dir + ".partial", dir + ".pub"
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
	return pull(ctx, env, c, *commune, *days, *from, *dir, *keyFile)
}

func pull(ctx context.Context, env *cliEnv, c *client, commune string, days int, from, dir, keyFile string) error {
	staging, partial, pinned := bundlePaths(dir)
	pub, err := trustedKey(ctx, c, keyFile, pinned, env.stderr)
	if err != nil {
		return err
	}
	q := url.Values{"days": {fmt.Sprint(days)}}
	if from != "" {
		q.Set("from", from)
	}
	var idx api.BundleIndex
	if err := c.do(ctx, "GET", "/api/communes/"+url.PathEscape(commune)+"/bundle?"+q.Encode(), nil, "", &idx); err != nil {
		return err
	}
	m, err := schedules.VerifyManifest(pub, []byte(idx.Manifest), []byte(idx.Signature))
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "The server's bundle manifest is refused: %v. Nothing was changed in %s.", err, dir)
	}
	if err := trustBundle(m, commune, dir, env.clock()); err != nil {
		return err
	}
	if old, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName)); err == nil && bytes.Equal(old, []byte(idx.Manifest)) {
		if _, _, err := schedules.VerifyBundle(os.DirFS(dir), pub); err == nil {
			fmt.Fprintf(env.stdout, "%s is up to date: schedule version %s, %s to %s\n", dir, m.Version, m.From, m.Until)
			return nil
		}
	}
	if err := os.RemoveAll(staging); err != nil {
		return fmt.Errorf("clear %s: %w", staging, err)
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", partial, err)
	}
	// The staging folder exists even when the bundle lists no file (a
	// commune with nothing scheduled): an empty bundle is valid.
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", staging, err)
	}
	fail := func(err error) error {
		os.RemoveAll(staging)
		return &pipeline.Error{Code: pipeline.ErrorCode(err), Err: err,
			Message: fmt.Sprintf("%s; the previous bundle in %s is left as it was.", strings.TrimSuffix(describe(err), "."), dir)}
	}
	var fetched, reused int
	var fetchedBytes int64
	for _, f := range m.Files {
		dst := filepath.Join(staging, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fail(err)
		}
		if content, ok := idx.Inline[f.Path]; ok {
			if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
				return fail(err)
			}
			continue
		}
		if schedules.CheckFile(os.DirFS(dir), f) == nil {
			if err := linkOrCopy(filepath.Join(dir, filepath.FromSlash(f.Path)), dst); err != nil {
				return fail(err)
			}
			reused++
			continue
		}
		link, ok := idx.Links[f.Path]
		if !ok {
			return fail(pipeline.Errorf(pipeline.CodeInternal, "The server listed %s but sent no link for it.", f.Path))
		}
		part := filepath.Join(partial, f.SHA256)
		n, resumed, err := download(ctx, c.http, link, part, f)
		if err != nil {
			return fail(fmt.Errorf("download %s: %w", f.Path, err))
		}
		if resumed > 0 {
			fmt.Fprintf(env.stderr, "resumed %s from byte %d\n", f.Path, resumed)
		}
		if err := os.Rename(part, dst); err != nil {
			return fail(err)
		}
		fetched++
		fetchedBytes += n
	}
	if err := os.WriteFile(filepath.Join(staging, schedules.ManifestName), []byte(idx.Manifest), 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(staging, schedules.SignatureName), []byte(idx.Signature), 0o644); err != nil {
		return fail(err)
	}
	if _, _, err := schedules.VerifyBundle(os.DirFS(staging), pub); err != nil {
		return fail(pipeline.Errorf(pipeline.CodeInvalid, "The downloaded bundle does not verify: %v", err))
	}
	if err := swapIn(staging, dir); err != nil {
		return fail(err)
	}
	os.RemoveAll(partial)
	fmt.Fprintf(env.stdout, "%s: schedule version %s, %s to %s; %d files downloaded (%s), %d reused; verified\n",
		dir, m.Version, m.From, m.Until, fetched, mib(fetchedBytes), reused)
	return nil
}

// trustBundle checks what the signature alone does not: the signed
// manifest is for the commune asked for, has not expired, and is not older
// than the bundle installed in dir (a replayed older bundle would silently
// drop a newer emergency). Each refusal says why and keeps dir as it is.
func trustBundle(m *schedules.Manifest, commune, dir string, now time.Time) error {
	if m.Commune != commune {
		return pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle signed for commune %q, not %q: refused (a wrong mirror or a tampered answer). The bundle in %s is kept.", m.Commune, commune, dir)
	}
	if !m.ValidUntil.IsZero() && !now.Before(m.ValidUntil) {
		return pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle that expired at %s (schedule version %d, %s to %s): refused (a stale mirror or a replayed answer). The bundle in %s is kept; pull again from the province's server.",
			m.ValidUntil.In(broadcast.Location()).Format("2006-01-02 15:04"), m.Sequence, m.From, m.Until, dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, schedules.ManifestName))
	if err != nil {
		return nil // nothing installed yet (or unreadable: verify says so)
	}
	var installed schedules.Manifest
	if json.Unmarshal(data, &installed) != nil || installed.Commune != commune {
		return nil
	}
	if m.Sequence < installed.Sequence {
		return pipeline.Errorf(pipeline.CodeConflict, "The server sent schedule version %d of %s, older than version %d installed in %s: refused (a stale mirror or a replayed bundle would drop newer changes such as an emergency). The installed bundle is kept. If the province restored its server from a backup, remove the folder and pull again.",
			m.Sequence, commune, installed.Sequence, dir)
	}
	return nil
}

// trustedKey returns the key bundles must be signed with: the given file,
// or the key pinned by the first pull, or (on the first pull) the
// server's, which is then pinned.
func trustedKey(ctx context.Context, c *client, keyFile, pinned string, stderr io.Writer) (ed25519.PublicKey, error) {
	if keyFile != "" {
		return readKey(keyFile)
	}
	var sk api.SigningKey
	if err := c.do(ctx, "GET", "/api/signing-key", nil, "", &sk); err != nil {
		return nil, err
	}
	server, err := schedules.ParsePublicKey(sk.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("the server's signing key: %w", err)
	}
	if _, err := os.Stat(pinned); err == nil {
		pin, err := readKey(pinned)
		if err != nil {
			return nil, err
		}
		if !pin.Equal(server) {
			return nil, pipeline.Errorf(pipeline.CodeConflict, "The server signs with key %s, not the key %s pinned in %s at the first pull. If the province changed its key, remove %s (or pass --public-key) and pull again.",
				schedules.KeyID(server), schedules.KeyID(pin), pinned, pinned)
		}
		return pin, nil
	}
	if err := os.MkdirAll(filepath.Dir(pinned), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pinned, []byte(sk.PublicKey+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("pin the signing key: %w", err)
	}
	fmt.Fprintf(stderr, "pinned the server's signing key %s in %s: check this fingerprint against the Communes page (or ship the key with --public-key)\n", schedules.KeyID(server), pinned)
	return server, nil
}

func readKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "Cannot read the public key %s: %v.", path, err)
	}
	k, err := schedules.ParsePublicKey(string(data))
	if err != nil {
		return nil, pipeline.Errorf(pipeline.CodeInvalid, "%s: %v.", path, err)
	}
	return k, nil
}

// download fetches link into part, resuming from part's size with an
// HTTP Range request, and checks size and checksum. It returns the bytes
// fetched now and the offset it resumed from.
// downloadStall is how long a media download may go without a byte.
const downloadStall = time.Minute

// stallReader restarts the stall timer on every read that brings bytes.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
}

func (s stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(downloadStall)
	}
	return n, err
}

func download(ctx context.Context, hc *http.Client, link, part string, f schedules.ManifestFile) (int64, int64, error) {
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if have > f.Size {
		os.Remove(part)
		have = 0
	}
	var n int64
	if have < f.Size {
		// A download that stalls (no byte for downloadStall) is cut; the
		// next pull resumes it.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stall := time.AfterFunc(downloadStall, cancel)
		defer stall.Stop()
		req, err := http.NewRequestWithContext(ctx, "GET", link, nil)
		if err != nil {
			return 0, 0, err
		}
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, &pipeline.Error{Code: pipeline.CodeUnavailable, Message: "The object store cannot be reached; pull again later (the download resumes).", Err: err}
		}
		defer resp.Body.Close()
		flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
		switch resp.StatusCode {
		case http.StatusPartialContent:
		case http.StatusOK:
			flags |= os.O_TRUNC
			have = 0
		default:
			return 0, 0, pipeline.Errorf(pipeline.CodeUnavailable, "The object store answered %s; pull again later (links last the day).", resp.Status)
		}
		out, err := os.OpenFile(part, flags, 0o644)
		if err != nil {
			return 0, 0, err
		}
		n, err = io.Copy(out, io.LimitReader(stallReader{resp.Body, stall}, f.Size-have))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, have, &pipeline.Error{Code: pipeline.CodeUnavailable, Message: "The download broke off; pull again (it resumes where it stopped).", Err: err}
		}
	}
	if err := schedules.CheckFile(os.DirFS(filepath.Dir(part)), schedules.ManifestFile{Path: filepath.Base(part), SHA256: f.SHA256, Size: f.Size}); err != nil {
		if errors.Is(err, schedules.ErrChecksum) || errors.Is(err, schedules.ErrSize) {
			os.Remove(part)
		}
		return n, have, pipeline.Errorf(pipeline.CodeInvalid, "%s: %v; the download was removed, pull again", f.Path, errors.Unwrap(err))
	}
	return n, have, nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// swapIn replaces dir with staging by two renames; if the second fails,
// the old bundle is put back.
func swapIn(staging, dir string) error {
	old := dir + ".old"
	os.RemoveAll(old)
	hadOld := false
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("move the old bundle aside: %w", err)
		}
		hadOld = true
	}
	if err := os.Rename(staging, dir); err != nil {
		if hadOld {
			os.Rename(old, dir)
		}
		return fmt.Errorf("put the new bundle in place: %w", err)
	}
	return os.RemoveAll(old)
}

func runPlaylistVerify(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "playlist verify", "DIR")
	keyFile := fs.String("public-key", "", "trusted public key file (base64); default the key pinned beside DIR by 'loa playlist pull' (LOA_PUBLIC_KEY)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"give the bundle folder"}
	}
	dir := pos[0]
	if *keyFile == "" {
		_, _, *keyFile = bundlePaths(dir)
	}
	pub, err := readKey(*keyFile)
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
		m.CommuneName, m.Commune, m.Version, m.From, m.Until, len(m.Files), mib(total), m.KeyID)
	if time.Now().After(m.ValidUntil) {
		fmt.Fprintf(env.stdout, "warning: the bundle expired at %s; pull a new one\n", m.ValidUntil.In(broadcast.Location()).Format("2006-01-02 15:04"))
	}
	return nil
}
