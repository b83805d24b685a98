package player

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/schedules"
)

// Kind is what a journal record says happened to a play.
type Kind string

// Journal record kinds. Started opens a play; each other kind closes it.
const (
	Started     Kind = "started"
	Finished    Kind = "finished"    // played to its end (or within MinPlay of it)
	Failed      Kind = "failed"      // could not be played, or cut short by its slot's end
	Preempted   Kind = "preempted"   // stopped by an emergency; the slot continues after it
	Interrupted Kind = "interrupted" // the player stopped mid-item (restart, power cut)
	// Stopped closes a play cut because the bundle put in force while it
	// sounded no longer holds its item (an emergency ended early, a
	// segment withdrawn); the reason says so. It is reported failed.
	Stopped Kind = "stopped"
	// Skipped marks an entry the player leaves silent on purpose (a
	// filler or ident the bundle has no audio for); it is journalled with
	// its reason for the operator, never uploaded as a play report.
	Skipped Kind = "skipped"
)

// Record is one line of the journal. Play is the id of one attempt to
// play an item, chosen by the player; it is the id of the play report
// the closing record becomes, so a retried upload counts once.
type Record struct {
	Seq       int64     `json:"seq"`
	Kind      Kind      `json:"kind"`
	Play      string    `json:"play"`
	At        time.Time `json:"at"` // when it happened (for started: when sound began)
	Key       string    `json:"key"`
	Entry     string    `json:"entry"`
	Cluster   string    `json:"cluster"`
	SegmentID string    `json:"segment_id,omitempty"`
	// Planned is when the schedule wanted this play to start: the item's
	// start plus Offset.
	Planned time.Time `json:"planned"`
	// Started is when the play began (closing records).
	Started  time.Time `json:"started,omitzero"`
	OffsetMS int64     `json:"offset_ms,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Version  string    `json:"version,omitempty"`
	// Emergency marks the play of an emergency interrupt: cut short by
	// a restart, it plays again from its start (see CloseOpenPlays).
	Emergency bool `json:"emergency,omitempty"`
}

// Closes reports whether the record ends a play.
func (r *Record) Closes() bool { return r.Kind != Started }

// Uploads reports whether the record becomes a play report (every
// closing record but a skip).
func (r *Record) Uploads() bool { return r.Kind != Started && r.Kind != Skipped }

// Done reports whether the record means the item is never played again.
func (r *Record) Done() bool { return r.Kind == Finished || r.Kind == Failed || r.Kind == Skipped }

// Report turns a closing record into the play report the server takes.
func (r *Record) Report() schedules.PlayReport {
	p := schedules.PlayReport{ID: r.Play, Entry: r.Entry, Cluster: r.Cluster, SegmentID: r.SegmentID,
		Started: r.Started, Finished: r.At, Reason: r.Reason, Status: schedules.Failed}
	if r.Kind == Finished {
		p.Status = schedules.Played
	}
	if p.Started.IsZero() {
		p.Started = r.At
	}
	if p.Status == schedules.Failed && p.Reason == "" {
		p.Reason = string(r.Kind)
	}
	return p
}

// maxRecordBytes bounds one journal line.
const maxRecordBytes = 64 << 10

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord renders a record as one line: its CRC-32C in hex, a
// space, its JSON, a newline.
func encodeRecord(r *Record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(js)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(js, crcTable))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// decodeRecord reads one line (without its newline).
func decodeRecord(line []byte) (Record, error) {
	var r Record
	if len(line) < 10 || line[8] != ' ' {
		return r, errors.New("no checksum")
	}
	want, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return r, errors.New("no checksum")
	}
	js := line[9:]
	if crc32.Checksum(js, crcTable) != uint32(want) {
		return r, errors.New("checksum does not match")
	}
	if err := json.Unmarshal(js, &r); err != nil {
		return r, fmt.Errorf("not a record: %w", err)
	}
	if r.Seq <= 0 || r.Play == "" || r.Key == "" || r.At.IsZero() {
		return r, errors.New("record without seq, play, key or time")
	}
	switch r.Kind {
	case Started, Finished, Failed, Preempted, Interrupted, Stopped, Skipped:
	default:
		return r, fmt.Errorf("unknown kind %q", r.Kind)
	}
	return r, nil
}

// ReadResult is what ReadJournal found.
type ReadResult struct {
	Records []Record
	// Good is the length of the journal up to the end of its last whole
	// record; anything after it is Torn (a record cut by a power cut).
	Good int64
	Torn []byte
	// Skipped counts damaged records before the last whole one; they are
	// left in the file and ignored.
	Skipped int
}

// ReadJournal reads a journal. It never fails on content: a damaged
// last line is returned as Torn, a damaged line before it is skipped.
// Records must have increasing sequence numbers; one that does not is
// skipped too.
func ReadJournal(r io.Reader) (ReadResult, error) {
	var res ReadResult
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	var pendingBad []byte // a damaged line: torn if nothing good follows
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Longer than any record: read to its end and count it bad.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return res, fmt.Errorf("read journal: %w", err)
		}
		whole := len(line) > 0 && line[len(line)-1] == '\n'
		var rec Record
		var bad error
		if !whole {
			bad = errors.New("cut short")
		} else {
			rec, bad = decodeRecord(bytes.TrimSuffix(line, []byte("\n")))
			if bad == nil && len(res.Records) > 0 && rec.Seq <= res.Records[len(res.Records)-1].Seq {
				bad = errors.New("sequence goes back")
			}
		}
		if bad != nil {
			if pendingBad != nil {
				res.Skipped++
			}
			pendingBad = append([]byte(nil), line...)
		} else {
			if pendingBad != nil {
				res.Skipped++
				pendingBad = nil
			}
			res.Records = append(res.Records, rec)
		}
		off += int64(len(line))
		if pendingBad == nil {
			res.Good = off
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return res, fmt.Errorf("read journal: %w", err)
		}
	}
	res.Torn = pendingBad
	return res, nil
}

// CompactBytes is the journal's size from which it is compacted once
// the server has acknowledged records (and again each time it has
// doubled since the last compaction).
const CompactBytes = 1 << 20

// KeepDone is how long a finished, failed or skipped record is kept
// after it was written, acknowledged or not: an item is never longer than
// a day (nor its slot), so after this its window is over and the record
// is no longer needed to keep it from playing again.
const KeepDone = 48 * time.Hour

// Journal is the player's append-only record of what it played. Every
// record is on disk (fsync'd) before Append returns. Once the server has
// acknowledged records (Acknowledge), Compact rewrites the file without
// those no longer needed, crash-safely.
type Journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	recs []Record
	seq  int64
	// acked is the highest sequence number the server acknowledged.
	acked int64
	// size is the file's length; compactAt the size from which Compact
	// does its work.
	size, compactAt int64
	// dirDirty says the folder's sync after a compaction failed: the next
	// Append syncs it again, so the compacted file's name is durable
	// before records are added to it.
	dirDirty bool
	// crash, in tests, is called after each step of a compaction; an
	// error stops the compaction there as a crash would.
	crash func(step string) error
}

// compactSuffix names the compacted journal while it is written.
const compactSuffix = ".compact"

// OpenJournal opens (or creates) the journal at path. A torn last record
// is moved to a file beside it (path.torn-UNIXNANO) and cut off; the
// journal goes on from its last whole record. A compacted copy left by a
// crash before it was renamed into place is removed (the journal it was
// made from is whole). It returns the count of damaged records skipped
// and the torn file's name ("" when none).
func OpenJournal(path string) (j *Journal, skipped int, tornFile string, err error) {
	if err := os.Remove(path + compactSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, 0, "", fmt.Errorf("remove an unfinished journal compaction: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, "", fmt.Errorf("open journal: %w", err)
	}
	res, err := ReadJournal(f)
	if err != nil {
		f.Close()
		return nil, 0, "", err
	}
	if len(res.Torn) > 0 {
		tornFile = fmt.Sprintf("%s.torn-%d", path, time.Now().UnixNano())
		if err := pull.WriteFileSync(tornFile, res.Torn); err != nil {
			f.Close()
			return nil, 0, "", fmt.Errorf("set aside the torn journal record: %w", err)
		}
		if err := f.Truncate(res.Good); err != nil {
			f.Close()
			return nil, 0, "", fmt.Errorf("cut the torn journal record: %w", err)
		}
	}
	if _, err := f.Seek(res.Good, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, 0, "", fmt.Errorf("sync journal: %w", err)
	}
	if err := pull.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, 0, "", err
	}
	j = &Journal{path: path, f: f, recs: res.Records, size: res.Good, compactAt: CompactBytes}
	if n := len(res.Records); n > 0 {
		j.seq = res.Records[n-1].Seq
	}
	return j, res.Skipped, tornFile, nil
}

// Append writes r with the next sequence number and syncs it to disk.
func (j *Journal) Append(r Record) (Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Seq = j.seq + 1
	line, err := encodeRecord(&r)
	if err != nil {
		return r, fmt.Errorf("encode journal record: %w", err)
	}
	if len(line) > maxRecordBytes {
		return r, fmt.Errorf("journal record of %d bytes: over %d", len(line), maxRecordBytes)
	}
	if j.dirDirty {
		if err := pull.SyncDir(filepath.Dir(j.path)); err != nil {
			return r, fmt.Errorf("sync the journal's folder after its compaction: %w", err)
		}
		j.dirDirty = false
	}
	n, err := j.f.Write(line)
	j.size += int64(n)
	if err != nil {
		return r, fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return r, fmt.Errorf("sync journal: %w", err)
	}
	j.seq = r.Seq
	j.recs = append(j.recs, r)
	return r, nil
}

// Records returns the records with a sequence number above after.
func (j *Journal) Records(after int64) []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	i := len(j.recs)
	for i > 0 && j.recs[i-1].Seq > after {
		i--
	}
	return append([]Record(nil), j.recs[i:]...)
}

// LastSeq is the sequence number of the last record (0 when none).
func (j *Journal) LastSeq() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq
}

// Acknowledge records that the server has every play report up to seq
// (the upload cursor); Compact may then drop those records.
func (j *Journal) Acknowledge(seq int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.acked = max(j.acked, seq)
}

// Backlog counts the records waiting to be uploaded as play reports.
func (j *Journal) Backlog() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for i := len(j.recs) - 1; i >= 0 && j.recs[i].Seq > j.acked; i-- {
		if j.recs[i].Uploads() {
			n++
		}
	}
	return n
}

// Size is the journal file's length in bytes.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Compact rewrites the journal without the records it no longer needs,
// when it has grown to CompactBytes (or, after a compaction, to twice
// what it kept; force compacts at any size). It keeps every record not
// acknowledged by the server, the start of every play still open, every
// finished, failed or skipped record written at or after keepDoneSince
// (so an item whose window may still be open never plays again), and
// the last record (so sequence numbers go on from it). It returns how
// many records it dropped.
//
// Crash safety: the kept records are written to path.compact, which is
// fsync'd, then renamed over the journal, then the folder is fsync'd. A
// crash before the rename leaves the whole old journal (OpenJournal
// removes the unfinished copy); after it, the compacted one, which holds
// every record still needed. Appends wait while Compact runs.
func (j *Journal) Compact(keepDoneSince time.Time, force bool) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !force && j.size < j.compactAt {
		return 0, nil
	}
	open := j.openPlays()
	var keep []Record
	for i, r := range j.recs {
		k, isOpen := open[r.Play]
		switch {
		case r.Seq > j.acked, i == len(j.recs)-1:
		case r.Kind == Started && isOpen && k == i:
		case r.Done() && !r.At.Before(keepDoneSince):
		default:
			continue
		}
		keep = append(keep, r)
	}
	dropped := len(j.recs) - len(keep)
	if dropped == 0 {
		j.compactAt = max(CompactBytes, 2*j.size)
		return 0, nil
	}
	var buf bytes.Buffer
	for i := range keep {
		line, err := encodeRecord(&keep[i])
		if err != nil {
			return 0, fmt.Errorf("compact journal: %w", err)
		}
		buf.Write(line)
	}
	tmp := j.path + compactSuffix
	nf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, fmt.Errorf("compact journal: %w", err)
	}
	abandon := func(err error) (int, error) {
		nf.Close()
		os.Remove(tmp)
		return 0, fmt.Errorf("compact journal: %w", err)
	}
	if _, err := nf.Write(buf.Bytes()); err != nil {
		return abandon(err)
	}
	if err := nf.Sync(); err != nil {
		return abandon(err)
	}
	if err := j.step("written"); err != nil {
		nf.Close()
		return 0, err
	}
	if err := os.Rename(tmp, j.path); err != nil {
		return abandon(err)
	}
	// The compacted file is the journal now, whatever follows.
	j.f.Close()
	j.f, j.recs, j.size = nf, keep, int64(buf.Len())
	j.compactAt = max(CompactBytes, 2*j.size)
	if err := j.step("renamed"); err != nil {
		return dropped, err
	}
	if err := pull.SyncDir(filepath.Dir(j.path)); err != nil {
		j.dirDirty = true
		return dropped, fmt.Errorf("compact journal: %w", err)
	}
	return dropped, j.step("synced")
}

func (j *Journal) step(name string) error {
	if j.crash == nil {
		return nil
	}
	return j.crash(name)
}

// Done returns the keys of the items finished, failed or skipped.
func (j *Journal) Done() map[string]bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	done := map[string]bool{}
	for _, r := range j.recs {
		if r.Done() {
			done[r.Key] = true
		}
	}
	return done
}

// openPlays maps each play started and not closed to the index of its
// Started record. Call it with j.mu held.
func (j *Journal) openPlays() map[string]int {
	open := map[string]int{}
	for i, r := range j.recs {
		if r.Kind == Started {
			open[r.Play] = i
		} else {
			delete(open, r.Play)
		}
	}
	return open
}

// Open returns the plays started and not closed: after a restart, the
// items that were sounding when the player stopped.
func (j *Journal) Open() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	open := j.openPlays()
	var out []Record
	for i, r := range j.recs {
		if k, ok := open[r.Play]; ok && k == i {
			out = append(out, r)
		}
	}
	return out
}

// Close closes the journal file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.f.Close()
}
