package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/pipeline"
)

// A media job stores its outputs under fixed keys before it records
// them, and a database outage longer than its lease makes it give the
// record up (saveRecorded): the job runs again, and would make the same
// outputs again with ffmpeg. So once every output is stored, the job
// stores a made record beside them (madeKey): what it was made from (the
// inputs' SHA-256), with which settings (renderSettings), and each
// output's key, size and SHA-256. A run that finds a made record for its
// own inputs and settings, and every output still stored with that size
// and SHA-256 (each object is read back and hashed: cheap next to an
// encode), records those outputs instead of making them: no ffmpeg run,
// ReusedMessage logged, Output.Work WorkReused. An output missing,
// partial or overwritten by another run (another submission's render
// shares the keys) fails the check, and the job makes everything again.
// The record is removed once the outputs are recorded; one left behind
// (the job never came back) is under the segment's renditions/ prefix,
// where the orphan sweep and a withdrawal remove it.

// ReusedMessage is the log message of a job that recorded outputs it
// found stored for the same inputs and settings instead of making them.
const ReusedMessage = "job reused the outputs it had stored for the same input; no ffmpeg run"

// WorkReused is the Output.Work of a job that recorded outputs it found
// stored (see ReusedMessage).
const WorkReused = "reused"

// renderVersion names the version of what Loa's renders make from the
// same input and bit rates (ffmpeg commands, filters, writers): raise it
// when one of them changes, so no output of the older code is reused.
const renderVersion = 2 // 2: loudspeaker files measured after encoding, Opus with its own limiter

// madeRecord is what a media job made from an input: stored as JSON at
// madeKey once all its outputs are stored.
type madeRecord struct {
	// Kind is the job kind, Input what it was made from (inputSums) and
	// Settings with what (renderSettings).
	Kind     string `json:"kind"`
	Input    string `json:"input"`
	Settings string `json:"settings"`
	// Renditions are the outputs as they are to be recorded (keys, sizes
	// and SHA-256 of the stored objects); Failures the renditions the
	// input did not allow.
	Renditions []pipeline.Rendition        `json:"renditions"`
	Failures   []pipeline.RenditionFailure `json:"failures,omitempty"`
	// Variant names the rendition that becomes the language's variant
	// (translations), "" for none.
	Variant string `json:"variant,omitempty"`
}

// renderSettings names the settings the outputs of p depend on besides
// their input.
func (p *Processor) renderSettings() string {
	return "v" + strconv.Itoa(renderVersion) + " mp3=" + strconv.Itoa(p.MP3BitRate) + " opus=" + strconv.Itoa(p.OpusBitRate)
}

// madeKey is where the made record of job kind for segmentID's language
// lang, made from input with settings, is stored: the key names a digest
// of all three, so a record is only ever found by a run with the same.
func madeKey(segmentID, lang, kind, input, settings string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + input + "\x00" + settings))
	return renditionKey(segmentID, lang, "made/"+kind+"-"+hex.EncodeToString(h[:12])+".json")
}

// inputSums writes what a job's outputs are made from, as name=sha256
// pairs; it is "" (nothing is reused) when a sum is not known.
func inputSums(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return ""
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pairs[i] + "=" + pairs[i+1])
	}
	return b.String()
}

// objectSum reads key and returns its SHA-256 and size.
func (p *Processor) objectSum(ctx context.Context, key string) (string, int64, error) {
	rc, err := p.Objects.Get(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// storeMade stores rec at its madeKey. A failure is only logged: the
// record saves work, it is not needed for it.
func (p *Processor) storeMade(ctx context.Context, segmentID, lang string, rec madeRecord) {
	if rec.Input == "" {
		return
	}
	data, err := json.Marshal(rec)
	if err == nil {
		_, err = p.Objects.Put(ctx, madeKey(segmentID, lang, rec.Kind, rec.Input, rec.Settings), strings.NewReader(string(data)), int64(len(data)), "application/json")
	}
	if err != nil {
		p.log().Warn("store the record of what a job made", "segment", segmentID, "kind", rec.Kind, "err", err)
	}
}

// dropMade removes the made record of kind, input and settings once its
// outputs are recorded, when the object store can remove.
func (p *Processor) dropMade(ctx context.Context, segmentID, lang, kind, input, settings string) {
	r, ok := p.Objects.(interface {
		Remove(ctx context.Context, key string) error
	})
	if !ok || input == "" {
		return
	}
	if err := r.Remove(ctx, madeKey(segmentID, lang, kind, input, settings)); err != nil {
		p.log().Warn("remove the record of what a job made (the orphan sweep will)", "segment", segmentID, "kind", kind, "err", err)
	}
}

// reusable returns the made record of job kind for segmentID's language
// lang made from input with settings, when one is stored and every
// output it names is stored with its size and SHA-256; nil otherwise
// (with why in the log when a record was found). An input of "" is
// never reused.
func (p *Processor) reusable(ctx context.Context, segmentID, lang, kind, input, settings string) *madeRecord {
	if input == "" {
		return nil
	}
	key := madeKey(segmentID, lang, kind, input, settings)
	rc, err := p.Objects.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, objects.ErrNotFound) {
			p.log().Warn("read the record of what a job made; making it again", "segment", segmentID, "kind", kind, "err", err)
		}
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	var rec madeRecord
	if err == nil {
		err = json.Unmarshal(data, &rec)
	}
	if err == nil && (rec.Kind != kind || rec.Input != input || rec.Settings != settings || len(rec.Renditions) == 0) {
		err = fmt.Errorf("it is for %s from %q with %q", rec.Kind, rec.Input, rec.Settings)
	}
	for _, r := range rec.Renditions {
		if err != nil {
			break
		}
		if r.SegmentID != segmentID || r.Language != lang || r.Key != renditionKey(segmentID, lang, r.Key[strings.LastIndex(r.Key, "/")+1:]) {
			err = fmt.Errorf("output %s is not one of this job's", r.Key)
			break
		}
		sum, size, gerr := p.objectSum(ctx, r.Key)
		switch {
		case gerr != nil:
			err = fmt.Errorf("output %s: %w", r.Key, gerr)
		case size != r.Size || sum != r.SHA256:
			err = fmt.Errorf("output %s is not what was made: %d bytes, sha256 %s, made %d bytes, sha256 %s", r.Key, size, sum, r.Size, r.SHA256)
		}
	}
	if err != nil {
		p.log().Warn("stored outputs not reused; making them again", "segment", segmentID, "kind", kind, "record", key, "err", err)
		return nil
	}
	p.log().Info(ReusedMessage, "segment", segmentID, "kind", kind, "language", lang, "outputs", len(rec.Renditions), "input", input)
	return &rec
}
