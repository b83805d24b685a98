// Package pull fetches a commune's signed offline bundle from a Loa
// server into a folder: the manifest's signature is checked first, only
// missing or changed files are downloaded (resuming broken downloads),
// every file is verified, and the new bundle replaces the old one by
// renames that survive a power cut. `loa playlist pull` and `loa player`
// both use it.
package pull

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
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// Client talks to a Loa server's API with a bearer token.
type Client struct {
	Server string // base URL, e.g. http://127.0.0.1:8080
	Token  string
	HTTP   *http.Client
}

// Do sends one request. A JSON answer is decoded into out (when not nil);
// a 304 is returned as is, with out untouched. Errors the server reports
// come back as *pipeline.Error with the server's code; a server that
// cannot be reached is CodeUnavailable. The response's body is closed.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, contentType string, header http.Header, out any) (*http.Response, error) {
	if c.Token == "" {
		return nil, pipeline.Errorf(pipeline.CodeUnauthorized, "No API token: pass --token or set LOA_TOKEN.")
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Server, "/")+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("Cannot reach the Loa server at %s: %v.", c.Server, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var eb wire.ErrorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb); err != nil || eb.Error.Code == "" {
			code := pipeline.CodeInternal
			if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
				code = pipeline.CodeUnavailable
			}
			return resp, &pipeline.Error{Code: code, Message: fmt.Sprintf("The server answered %s.", resp.Status)}
		}
		return resp, &pipeline.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
	}
	if out == nil || resp.StatusCode == http.StatusNotModified {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp, &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: fmt.Sprintf("%s %s: the answer broke off or is not JSON.", method, path)}
	}
	return resp, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Paths are the folders a pull uses beside the bundle folder dir: the
// staging folder it assembles the new bundle in, the folder partial
// downloads wait in (so a broken download resumes), and the pinned
// public key.
func Paths(dir string) (staging, partial, pinned string) {
	dir = filepath.Clean(dir)
	return dir + ".staging", dir + ".partial", dir + ".pub"
}

// Options say what to pull and where.
type Options struct {
	Commune string
	Days    int    // 1 to 14
	From    string // YYYY-MM-DD; "" for today in Sơn La (the server's)
	Dir     string
	// KeyFile is the trusted public key; "" for the key pinned at the
	// first pull (beside Dir).
	KeyFile string
	// ETag, when set, is sent as If-None-Match: an unchanged index is
	// answered 304 and nothing else is read.
	ETag string
	// NotOlder refuses a bundle created before this time (a device never
	// takes a bundle older than the one it has).
	NotOlder time.Time
	// Progress gets notes such as resumed downloads and the fingerprint
	// of a key pinned at the first pull; nil for none.
	Progress io.Writer
	// Now is the device's clock for the bundle's valid_until; zero for
	// the machine's.
	Now time.Time
}

// Result says what a pull did.
type Result struct {
	Manifest    *schedules.Manifest // nil when NotModified
	ETag        string              // the index's ETag, for the next pull
	NotModified bool                // the server answered 304: nothing was read
	UpToDate    bool                // the bundle in Dir already was this one
	Fetched     int
	Reused      int
	Bytes       int64     // bytes downloaded
	ServerDate  time.Time // the server's Date header, for clock checks
	// Days is how many days the bundle covers (the manifest's from
	// through until); DaysAsked how many were asked for. Days is smaller
	// when the server has not built the later days yet: a later pull
	// brings them. Both are 0 when NotModified.
	Days, DaysAsked int
}

// Bundle pulls the commune's bundle into o.Dir. The folder is replaced
// only by a complete, verified bundle; on any error it is left as it was.
func Bundle(ctx context.Context, c *Client, o Options) (Result, error) {
	var res Result
	staging, partial, pinned := Paths(o.Dir)
	// Nothing is written (no pinned key, no staging or partial folder)
	// before the server has answered that the caller may read the commune
	// and the manifest has verified: a refused pull leaves the disk as it
	// was.
	pub, pin, err := TrustedKey(ctx, c, o.KeyFile, pinned)
	if err != nil {
		return res, err
	}
	q := url.Values{"days": {fmt.Sprint(max(o.Days, 1))}}
	if o.From != "" {
		q.Set("from", o.From)
	}
	var hdr http.Header
	if o.ETag != "" {
		hdr = http.Header{"If-None-Match": {o.ETag}}
	}
	var idx wire.BundleIndex
	resp, err := c.Do(ctx, "GET", "/api/communes/"+url.PathEscape(o.Commune)+"/bundle?"+q.Encode(), nil, "", hdr, &idx)
	if err != nil {
		return res, err
	}
	res.ETag = resp.Header.Get("ETag")
	res.ServerDate, _ = http.ParseTime(resp.Header.Get("Date"))
	if resp.StatusCode == http.StatusNotModified {
		res.NotModified = true
		return res, nil
	}
	m, err := schedules.VerifyManifest(pub, []byte(idx.Manifest), []byte(idx.Signature))
	if err != nil {
		return res, &pipeline.Error{Code: pipeline.CodeInvalid, Err: err, Message: fmt.Sprintf("The server's bundle manifest is refused: %v. Nothing was changed in %s.", err, o.Dir)}
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := Trust(m, o.Commune, o.Dir, now); err != nil {
		return res, err
	}
	covered, err := Covers(m, o.From, max(o.Days, 1), now, o.Dir)
	if err != nil {
		return res, err
	}
	res.Days, res.DaysAsked = covered, max(o.Days, 1)
	if !o.NotOlder.IsZero() && m.CreatedAt.Before(o.NotOlder) {
		return res, pipeline.Errorf(pipeline.CodeInvalid, "The server sent a bundle built %s, older than the one in %s (%s); it is refused.",
			m.CreatedAt.Format(time.RFC3339), o.Dir, o.NotOlder.Format(time.RFC3339))
	}
	res.Manifest = m
	if old, err := os.ReadFile(filepath.Join(o.Dir, schedules.ManifestName)); err == nil && bytes.Equal(old, []byte(idx.Manifest)) {
		if _, _, err := schedules.VerifyBundle(os.DirFS(o.Dir), pub); err == nil {
			if err := pinKey(pin, pinned, pub, o.Progress); err != nil {
				return res, err
			}
			res.UpToDate = true
			return res, nil
		}
	}
	if err := os.RemoveAll(staging); err != nil {
		return res, fmt.Errorf("clear %s: %w", staging, err)
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return res, fmt.Errorf("make %s: %w", partial, err)
	}
	// The staging folder exists even when the bundle lists no file (a
	// commune with nothing scheduled): an empty bundle is valid.
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return res, fmt.Errorf("make %s: %w", staging, err)
	}
	fail := func(err error) (Result, error) {
		os.RemoveAll(staging)
		return res, &pipeline.Error{Code: pipeline.ErrorCode(err), Err: err,
			Message: fmt.Sprintf("%s; the previous bundle in %s is left as it was.", strings.TrimSuffix(describe(err), "."), o.Dir)}
	}
	for _, f := range m.Files {
		dst := filepath.Join(staging, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fail(err)
		}
		if content, ok := idx.Inline[f.Path]; ok {
			if err := writeSynced(dst, []byte(content)); err != nil {
				return fail(err)
			}
			continue
		}
		if schedules.CheckFile(os.DirFS(o.Dir), f) == nil {
			if err := linkOrCopy(filepath.Join(o.Dir, filepath.FromSlash(f.Path)), dst); err != nil {
				return fail(err)
			}
			res.Reused++
			continue
		}
		link, ok := idx.Links[f.Path]
		if !ok {
			return fail(pipeline.Errorf(pipeline.CodeInternal, "The server listed %s but sent no link for it.", f.Path))
		}
		part := filepath.Join(partial, f.SHA256)
		n, resumed, err := download(ctx, c.httpClient(), link, part, f)
		if err != nil {
			return fail(fmt.Errorf("download %s: %w", f.Path, err))
		}
		if resumed > 0 && o.Progress != nil {
			fmt.Fprintf(o.Progress, "resumed %s from byte %d\n", f.Path, resumed)
		}
		if err := os.Rename(part, dst); err != nil {
			return fail(err)
		}
		res.Fetched++
		res.Bytes += n
	}
	if err := writeSynced(filepath.Join(staging, schedules.ManifestName), []byte(idx.Manifest)); err != nil {
		return fail(err)
	}
	if err := writeSynced(filepath.Join(staging, schedules.SignatureName), []byte(idx.Signature)); err != nil {
		return fail(err)
	}
	if _, _, err := schedules.VerifyBundle(os.DirFS(staging), pub); err != nil {
		return fail(pipeline.Errorf(pipeline.CodeInvalid, "The downloaded bundle does not verify: %v", err))
	}
	if err := syncTree(staging); err != nil {
		return fail(err)
	}
	// The key is pinned with the first bundle it verified, before that
	// bundle is put in place: a bundle in o.Dir always has its key beside
	// it (the player loads it with that key).
	if err := pinKey(pin, pinned, pub, o.Progress); err != nil {
		return fail(err)
	}
	if err := SwapIn(staging, o.Dir); err != nil {
		return fail(err)
	}
	os.RemoveAll(partial)
	return res, nil
}

func describe(err error) string {
	var e *pipeline.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}

// TrustedKey returns the key bundles must be signed with: the given file,
// or the key pinned by the first pull, or (on the first pull) the
// server's. It writes nothing: for the server's key on the first pull it
// also returns pin, the text to pin (pinKey) once a bundle signed with it
// has verified; pin is "" otherwise.
func TrustedKey(ctx context.Context, c *Client, keyFile, pinned string) (key ed25519.PublicKey, pin string, err error) {
	if keyFile != "" {
		key, err := ReadKey(keyFile)
		return key, "", err
	}
	if _, err := os.Stat(pinned); err == nil {
		pinnedKey, err := ReadKey(pinned)
		if err != nil {
			return nil, "", err
		}
		var sk wire.SigningKey
		if _, err := c.Do(ctx, "GET", "/api/signing-key", nil, "", nil, &sk); err != nil {
			return nil, "", err
		}
		server, err := schedules.ParsePublicKey(sk.PublicKey)
		if err != nil {
			return nil, "", fmt.Errorf("the server's signing key: %w", err)
		}
		if !pinnedKey.Equal(server) {
			return nil, "", pipeline.Errorf(pipeline.CodeConflict, "The server signs with key %s, not the key %s pinned in %s at the first pull. If the province changed its key, remove %s (or pass --public-key) and pull again.",
				schedules.KeyID(server), schedules.KeyID(pinnedKey), pinned, pinned)
		}
		return pinnedKey, "", nil
	}
	var sk wire.SigningKey
	if _, err := c.Do(ctx, "GET", "/api/signing-key", nil, "", nil, &sk); err != nil {
		return nil, "", err
	}
	server, err := schedules.ParsePublicKey(sk.PublicKey)
	if err != nil {
		return nil, "", fmt.Errorf("the server's signing key: %w", err)
	}
	return server, sk.PublicKey + "\n", nil
}

// pinKey writes pin (from TrustedKey) to the file pinned, and says so with
// the key's fingerprint on progress; an empty pin writes nothing.
func pinKey(pin, pinned string, key ed25519.PublicKey, progress io.Writer) error {
	if pin == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(pinned), 0o755); err != nil {
		return fmt.Errorf("pin the signing key: %w", err)
	}
	if err := WriteFileSync(pinned, []byte(pin)); err != nil {
		return fmt.Errorf("pin the signing key: %w", err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "pinned the server's signing key %s in %s: ask an administrator to check this fingerprint against the admin Communes page (or ship the key with --public-key)\n", schedules.KeyID(key), pinned)
	}
	return nil
}

// ReadKey reads a base64 public key file.
func ReadKey(path string) (ed25519.PublicKey, error) {
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

// DownloadStall is how long a media download may go without a byte
// before it is cut (the next pull resumes it).
const DownloadStall = time.Minute

// stallReader pushes its timer back on every byte read.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
}

func (s stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(DownloadStall)
	}
	return n, err
}

// Trust checks what the signature alone does not: the signed manifest is
// for the commune asked for, has not expired at now, and is not older than
// the bundle installed in dir (a replayed older bundle would silently drop
// a newer emergency). Each refusal says why and that dir is kept.
func Trust(m *schedules.Manifest, commune, dir string, now time.Time) error {
	if m.Commune != commune {
		return pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle signed for commune %q, not %q: refused (a wrong mirror or a tampered answer). %s", m.Commune, commune, keptIn(dir))
	}
	if !m.ValidUntil.IsZero() && !now.Before(m.ValidUntil) {
		return pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle that expired at %s (schedule version %d, %s to %s): refused (a stale mirror or a replayed answer). %s Pull again from the province's server.",
			m.ValidUntil.In(time.FixedZone("ICT", 7*3600)).Format("2006-01-02 15:04"), m.Sequence, m.From, m.Until, keptIn(dir))
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

// DateSkew is how far the server's clock may be from the device's when a
// pull leaves from out: near midnight the server's "today" may already be
// (or still be) the device's tomorrow (or yesterday).
const DateSkew = 5 * time.Minute

// Covers checks the days the signed manifest covers against those asked
// for: it must start on the day asked, from (YYYY-MM-DD), or, when from
// is "", on the device's today at now in Sơn La (within DateSkew of the
// server's, near midnight), and reach at least the device's today (or
// from, when that is later). It may end before from+days-1: the server
// signs only the days it has built, and the rest comes with a later pull.
// A bundle that starts on another day (a far future one, signed but
// empty, or yesterday's replayed) or skips today would leave the
// loudspeakers without today's schedule; it is refused with what was sent
// and asked, and dir is kept. Covers returns how many days the bundle
// covers (its from through its until).
func Covers(m *schedules.Manifest, from string, days int, now time.Time, dir string) (int, error) {
	loc := localtime.Location()
	today := schedules.DateOf(now.In(loc))
	mFrom, err1 := schedules.ParseDate(m.From)
	mUntil, err2 := schedules.ParseDate(m.Until)
	// The days the manifest may start on, and the day it must reach.
	var first, latest schedules.Date
	asked := ""
	if from != "" {
		d, err := schedules.ParseDate(from)
		if err != nil {
			return 0, pipeline.FieldError("from", "from %q is not a date: write YYYY-MM-DD.", from)
		}
		first, latest = d, d
		asked = fmt.Sprintf("%s to %s", d, d.AddDays(days-1))
	} else {
		first = schedules.DateOf(now.Add(-DateSkew).In(loc))
		latest = schedules.DateOf(now.Add(DateSkew).In(loc))
		asked = fmt.Sprintf("today (%s) for %d day(s)", today, days)
	}
	if err1 != nil || err2 != nil || mFrom.Before(first) || latest.Before(mFrom) || mUntil.Before(mFrom) {
		return 0, pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle for %s to %s, which does not start on the first day asked for, %s: refused (a wrong mirror or a tampered answer would leave the loudspeakers without today's schedule). %s",
			m.From, m.Until, asked, keptIn(dir))
	}
	need := today
	if need.Before(mFrom) {
		need = mFrom
	}
	if mUntil.Before(need) {
		return 0, pipeline.Errorf(pipeline.CodeConflict, "The server sent a bundle for %s to %s, which does not cover %s, today on this device (%s asked): refused (a wrong or stale mirror, or a server whose schedules ran out: an administrator runs 'loa schedule build'). %s",
			m.From, m.Until, need, asked, keptIn(dir))
	}
	return mUntil.DaysSince(mFrom) + 1, nil
}

// keptIn says what a refusal left in dir: the installed bundle, or
// nothing when none was installed yet.
func keptIn(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, schedules.ManifestName)); err == nil {
		return fmt.Sprintf("The bundle in %s is kept.", dir)
	}
	return fmt.Sprintf("Nothing was installed in %s.", dir)
}

// download fetches link into part, resuming from part's size with an
// HTTP Range request, and checks size and checksum. It returns the bytes
// fetched now and the offset it resumed from. The file is synced.
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
		// A download that stalls (no byte for DownloadStall) is cut; the
		// next pull resumes it.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stall := time.AfterFunc(DownloadStall, cancel)
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
		if err == nil {
			err = out.Sync()
		}
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
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// writeSynced writes a new file and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncTree syncs every folder under root (files are synced as they are
// written), so the staged bundle's names are on disk before the swap.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return SyncDir(p)
		}
		return nil
	})
}

// SwapIn replaces dir with staging by two renames, syncing the parent
// folder after them so the swap survives a power cut; if the second
// rename fails, the old bundle is put back.
func SwapIn(staging, dir string) error {
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
	if err := SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// WriteFileSync writes data to path so that after a power cut the file
// holds either its old content or all of data: a temporary file beside
// it is written and synced, renamed into place, and the folder synced.
func WriteFileSync(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir syncs a folder, so that the names renamed into it survive a
// power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}
