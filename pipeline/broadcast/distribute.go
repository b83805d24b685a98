package broadcast

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// PlaylistTag is the ETag of one rendering (format "m3u8" or "json") of
// one cluster's playlist for one date. It changes exactly when the
// commune's schedule version does, and costs no database read beyond the
// commune's head. It is weak: the presigned links inside differ between
// two renderings of the same version. It names the commune too: two
// communes whose schedules are alike have one head ETag, but their
// playlists name each its own commune and version.
func PlaylistTag(head pipeline.CommuneHead, cluster, date, format string) string {
	return `W/"` + schedules.ContentTag(head.Code, head.ETag, cluster, date, format) + `"`
}

// LinkTTL is how long links in a playlist for date stay valid: through
// the end of that day (plus an hour), at least an hour, at most the
// seven days S3 allows.
func LinkTTL(now time.Time, date schedules.Date) time.Duration {
	end := date.AddDays(1).In(Location()).Add(time.Hour)
	return min(max(end.Sub(now), time.Hour), objects.MaxPresign)
}

// Playlist renders one cluster's playlist for one date of the commune's
// current version, with presigned links. Emergency interrupts come first.
func (s *Service) Playlist(ctx context.Context, head pipeline.CommuneHead, cluster string, date schedules.Date) (schedules.PlaylistDoc, error) {
	doc := schedules.PlaylistDoc{Commune: head.Code, CommuneName: head.Name, Cluster: cluster, Date: date.String(),
		Version: head.VersionID, ETag: head.ETag, TimeZone: schedules.DefaultTimeZone, Entries: []schedules.Entry{}}
	if head.VersionID == "" {
		return doc, pipeline.Errorf(pipeline.CodeNotFound, "Commune %s has no schedule yet: an administrator runs 'loa schedule build' (or waits for the nightly build).", head.Code)
	}
	items, err := s.Store.VersionItems(ctx, head.VersionID, cluster, date.String())
	if err != nil {
		return doc, err
	}
	if len(items) == 0 {
		if err := s.checkCluster(ctx, head.Code, cluster); err != nil {
			return doc, err
		}
	}
	ttl := LinkTTL(s.now(), date)
	for _, it := range orderEntries(items) {
		e := entryOf(it)
		if it.AudioKey != "" {
			u, err := s.Objects.Presign(ctx, it.AudioKey, ttl, "")
			if err != nil {
				return doc, &pipeline.Error{Code: pipeline.CodeUnavailable, Message: "The object store cannot sign links now; try again shortly.", Err: err}
			}
			e.URL = u
		}
		doc.Entries = append(doc.Entries, e)
	}
	return doc, nil
}

func (s *Service) checkCluster(ctx context.Context, commune, cluster string) error {
	reg, err := s.Store.Registry(ctx)
	if err != nil {
		return err
	}
	c := reg.Commune(commune)
	if c != nil {
		for _, cl := range c.Clusters {
			if cl.ID == cluster {
				return nil
			}
		}
	}
	var ids []string
	if c != nil {
		for _, cl := range c.Clusters {
			ids = append(ids, cl.ID)
		}
	}
	return pipeline.Errorf(pipeline.CodeNotFound, "Commune %s has no cluster %q; its clusters are: %s.", commune, cluster, strings.Join(ids, ", "))
}

// orderEntries puts interrupts first, then the programme in time order.
func orderEntries(items []pipeline.ScheduleItem) []pipeline.ScheduleItem {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b pipeline.ScheduleItem) int {
		ai, bi := a.Kind == string(schedules.EntryInterrupt), b.Kind == string(schedules.EntryInterrupt)
		switch {
		case ai && !bi:
			return -1
		case bi && !ai:
			return 1
		}
		return strings.Compare(a.Cluster+a.Date, b.Cluster+b.Date)*4 + cmpInt(a.SlotStart, b.SlotStart)*2 + cmpInt(a.Position, b.Position)
	})
	return out
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func entryOf(it pipeline.ScheduleItem) schedules.Entry {
	return schedules.Entry{
		ID: it.EntryID, Kind: schedules.EntryKind(it.Kind), Start: it.Start, DurationMS: it.DurationMS,
		SegmentID: it.SegmentID, Title: it.Title, Language: schedules.Language(it.Language), Priority: it.Priority,
		Why: it.Why, SHA256: it.SHA256, Size: it.Size,
	}
}

// Bundle is an offline bundle of one commune for some days: the signed
// manifest and every file it lists.
type Bundle struct {
	Manifest  *schedules.Manifest
	Raw       []byte // the manifest's signed bytes
	Signature []byte // manifest.sig
	Files     []BundleFile
}

// Days is how many days the bundle covers: from through until of its
// manifest (fewer than asked when the later days are not built yet).
func (b *Bundle) Days() int {
	from, err1 := schedules.ParseDate(b.Manifest.From)
	until, err2 := schedules.ParseDate(b.Manifest.Until)
	if err1 != nil || err2 != nil {
		return 0
	}
	return until.DaysSince(from) + 1
}

// BundleFile is one file of a bundle: a playlist held in memory, or a
// media object read from the store.
type BundleFile struct {
	schedules.ManifestFile
	Data      []byte // playlists
	ObjectKey string // media
}

// MediaPath is where a media file with the given checksum lives in a bundle.
func MediaPath(sha string) string { return "media/" + sha + ".mp3" }

// Bundle assembles the offline bundle of a commune's current version for
// days dates from `from`: per cluster and date an M3U8 and a JSON
// playlist with relative paths, the media they play (each once), and the
// manifest signed with the service's key. The bundle never claims a day
// the version was not built for: it runs from `from` to the last built
// day within the range asked (the manifest's until, and its valid_until
// the end of that day), so it may cover fewer days than asked; a from
// that was not built is a CodeNotFound naming the built days
// (bundleRange).
func (s *Service) Bundle(ctx context.Context, head pipeline.CommuneHead, from schedules.Date, days int) (*Bundle, error) {
	if len(s.Key) == 0 {
		return nil, pipeline.Errorf(pipeline.CodeUnavailable, "This server has no signing key, so it cannot make bundles: set LOA_SIGNING_KEY or LOA_DATA.")
	}
	if days < 1 || days > 14 {
		return nil, pipeline.FieldError("days", "days must be 1 to 14.")
	}
	if head.VersionID == "" {
		return nil, pipeline.Errorf(pipeline.CodeNotFound, "Commune %s has no schedule yet: an administrator runs 'loa schedule build' (or waits for the nightly build).", head.Code)
	}
	v, err := s.Store.Version(ctx, head.VersionID)
	if err != nil {
		return nil, err
	}
	until, err := bundleRange(from, days, s.now(), v)
	if err != nil {
		return nil, err
	}
	items, err := s.Store.VersionItems(ctx, head.VersionID, "", "")
	if err != nil {
		return nil, err
	}
	type key struct{ cluster, date string }
	groups := map[key][]pipeline.ScheduleItem{}
	var keys []key
	media := map[string]BundleFile{}
	for _, it := range items {
		d, err := schedules.ParseDate(it.Date)
		if err != nil || d.Before(from) || until.Before(d) {
			continue
		}
		k := key{it.Cluster, it.Date}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
		if it.AudioKey != "" && it.SHA256 != "" {
			media[it.SHA256] = BundleFile{ManifestFile: schedules.ManifestFile{Path: MediaPath(it.SHA256), SHA256: it.SHA256, Size: it.Size}, ObjectKey: it.AudioKey}
		}
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.cluster+"\x00"+a.date, b.cluster+"\x00"+b.date) })
	b := &Bundle{}
	for _, k := range keys {
		var entries []schedules.Entry
		for _, it := range orderEntries(groups[k]) {
			e := entryOf(it)
			if it.SHA256 != "" {
				e.URL = MediaPath(it.SHA256)
			}
			entries = append(entries, e)
		}
		base := k.date + "_" + schedules.SafeName(k.cluster)
		var m3u bytes.Buffer
		if err := schedules.WriteM3U8(&m3u, fmt.Sprintf("%s — %s — %s", head.Name, k.cluster, k.date), entries); err != nil {
			return nil, err
		}
		doc := schedules.PlaylistDoc{Commune: head.Code, CommuneName: head.Name, Cluster: k.cluster, Date: k.date,
			Version: v.ID, ETag: v.ETag, TimeZone: schedules.DefaultTimeZone, Entries: entries}
		js, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, err
		}
		b.Files = append(b.Files, memFile(base+".m3u8", m3u.Bytes()), memFile(base+".json", append(js, '\n')))
	}
	shas := make([]string, 0, len(media))
	for sha := range media {
		shas = append(shas, sha)
	}
	slices.Sort(shas)
	for _, sha := range shas {
		b.Files = append(b.Files, media[sha])
	}
	m := &schedules.Manifest{
		Format: schedules.BundleFormat, Commune: head.Code, CommuneName: head.Name, Version: v.ID, ETag: v.ETag, Sequence: v.Seq,
		From: from.String(), Until: until.String(), ValidUntil: until.AddDays(1).In(Location()).UTC(),
		CreatedAt: v.BuiltAt.UTC(), KeyID: schedules.KeyID(s.PublicKey()),
	}
	for _, f := range b.Files {
		m.Files = append(m.Files, f.ManifestFile)
	}
	raw, err := schedules.EncodeManifest(m)
	if err != nil {
		return nil, err
	}
	b.Manifest, b.Raw, b.Signature = m, raw, schedules.SignManifest(s.Key, raw)
	return b, nil
}

// bundleRange returns the last day of a bundle of days dates from
// `from`: the last of them the commune's version v was built for. It
// refuses a first day the server has no business signing (a 422 naming
// the allowed range): from may be yesterday (a device whose clock is a
// little behind the server's near midnight asks for its own today) up to
// the last day built (or today, when the last build is older); a far date
// would make a signed, valid but empty bundle (a device that installed it
// would go silent) or a date JSON cannot hold. A from inside that window
// but not built (yesterday before a build that starts today, today after
// the last build ran out) is a CodeNotFound naming the days built: a
// bundle never claims a day no schedule was built for. A version that does
// not say its days (none stored) is taken as built for the range asked.
func bundleRange(from schedules.Date, days int, now time.Time, v pipeline.ScheduleVersion) (schedules.Date, error) {
	today := schedules.DateOf(now.In(Location()))
	until := from.AddDays(days - 1)
	first, last := today.AddDays(-1), today
	start, err := schedules.ParseDate(v.Start)
	known := err == nil && v.Days > 0
	end := start.AddDays(v.Days - 1)
	if known && last.Before(end) {
		last = end
	}
	if from.Before(first) || last.Before(from) {
		return until, pipeline.FieldError("from", "from %s is outside the days this server builds: ask for a date from %s (yesterday) to %s (the last day built), or leave from out for today.", from, first, last)
	}
	if !known {
		return until, nil
	}
	if from.Before(start) || end.Before(from) {
		return until, pipeline.Errorf(pipeline.CodeNotFound, "No schedule of commune %s is built for %s: the current one (version %d) covers %s to %s. Ask for a day in it, or wait for the next build (the nightly one, or an administrator's 'loa schedule build').",
			v.Commune, from, v.Seq, start, end)
	}
	if end.Before(until) {
		until = end
	}
	return until, nil
}

// PublicKey returns the key that verifies bundle manifests.
func (s *Service) PublicKey() []byte {
	if len(s.Key) == 0 {
		return nil
	}
	return s.Key[32:]
}

func memFile(path string, data []byte) BundleFile {
	sum := sha256.Sum256(data)
	return BundleFile{ManifestFile: schedules.ManifestFile{Path: path, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))}, Data: data}
}

// Open returns the content of one bundle file.
func (s *Service) Open(ctx context.Context, f BundleFile) (io.ReadCloser, error) {
	if f.ObjectKey == "" {
		return io.NopCloser(bytes.NewReader(f.Data)), nil
	}
	rc, err := s.Objects.Get(ctx, f.ObjectKey)
	if err != nil {
		return nil, &pipeline.Error{Code: pipeline.CodeUnavailable, Message: "The object store cannot be read now; try again shortly.", Err: err}
	}
	return rc, nil
}

// CheckMedia makes sure every media object of the bundle is in the store
// with the manifest's size, so an archive the store cannot finish is not
// started; the error is CodeUnavailable.
func (s *Service) CheckMedia(ctx context.Context, b *Bundle) error {
	for _, f := range b.Files {
		if f.ObjectKey == "" {
			continue
		}
		o, err := s.Objects.Stat(ctx, f.ObjectKey)
		if err != nil {
			return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
				Message: fmt.Sprintf("The object store cannot serve %s of the bundle now; try again shortly.", f.Path)}
		}
		if o.Size != f.Size {
			return &pipeline.Error{Code: pipeline.CodeUnavailable,
				Message: fmt.Sprintf("%s in the object store has %d bytes, not the %d the bundle lists; try again after the next schedule build.", f.Path, o.Size, f.Size)}
		}
	}
	return nil
}

// TarSize is the exact length of the archive WriteTar writes for b, for a
// Content-Length that lets a client notice an archive cut short.
func (s *Service) TarSize(b *Bundle) (int64, error) {
	var n countingWriter
	err := writeTar(&n, b, func(f BundleFile) (io.ReadCloser, error) {
		return io.NopCloser(io.LimitReader(zeros{}, f.Size)), nil
	})
	return int64(n), err
}

type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// WriteTar streams the bundle as one tar archive: manifest.json,
// manifest.sig, the playlists, then the media.
func (s *Service) WriteTar(ctx context.Context, w io.Writer, b *Bundle) error {
	return writeTar(w, b, func(f BundleFile) (io.ReadCloser, error) { return s.Open(ctx, f) })
}

func writeTar(w io.Writer, b *Bundle, open func(BundleFile) (io.ReadCloser, error)) error {
	tw := tar.NewWriter(w)
	mod := b.Manifest.CreatedAt
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: mod, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s: %d bytes, want %d", name, n, size)
		}
		return err
	}
	if err := add(schedules.ManifestName, int64(len(b.Raw)), bytes.NewReader(b.Raw)); err != nil {
		return err
	}
	if err := add(schedules.SignatureName, int64(len(b.Signature)), bytes.NewReader(b.Signature)); err != nil {
		return err
	}
	for _, f := range b.Files {
		rc, err := open(f)
		if err != nil {
			return err
		}
		err = add(f.Path, f.Size, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("bundle %s: %w", f.Path, err)
		}
	}
	return tw.Close()
}
