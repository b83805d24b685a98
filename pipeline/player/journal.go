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
}

// Closes reports whether the record ends a play.
func (r *Record) Closes() bool { return r.Kind != Started }

// Done reports whether the record means the item is never played again.
func (r *Record) Done() bool { return r.Kind == Finished || r.Kind == Failed }

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
	case Started, Finished, Failed, Preempted, Interrupted:
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

// Journal is the player's append-only record of what it played. Every
// record is on disk (fsync'd) before Append returns.
type Journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	recs []Record
	seq  int64
}

// OpenJournal opens (or creates) the journal at path. A torn last record
// is moved to a file beside it (path.torn-UNIXNANO) and cut off; the
// journal goes on from its last whole record. It returns the count of
// damaged records skipped and the torn file's name ("" when none).
func OpenJournal(path string) (j *Journal, skipped int, tornFile string, err error) {
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
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
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
	j = &Journal{path: path, f: f, recs: res.Records}
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
	if _, err := j.f.Write(line); err != nil {
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

// Done returns the keys of the items finished or failed.
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

// Open returns the plays started and not closed: after a restart, the
// items that were sounding when the player stopped.
func (j *Journal) Open() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	open := map[string]int{}
	for i, r := range j.recs {
		if r.Kind == Started {
			open[r.Play] = i
		} else {
			delete(open, r.Play)
		}
	}
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
