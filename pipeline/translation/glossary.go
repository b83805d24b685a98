package translation

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/formula"
)

// Term is one glossary entry: a Vietnamese CCHC term and its approved
// translation in one language.
type Term struct {
	Language    string    `json:"language"`
	Term        string    `json:"term"`        // Vietnamese, NFC
	Translation string    `json:"translation"` // NFC
	Note        string    `json:"note,omitempty"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// Glossary limits.
const (
	MaxGlossaryTerms   = 5000
	MaxGlossaryBytes   = 1 << 20
	maxGlossaryTermLen = 200
	maxGlossaryNoteLen = 1000
)

// glossaryHeader is the CSV header Loa writes and recognizes.
var glossaryHeader = []string{"term", "translation", "note"}

// ParseGlossaryCSV reads a glossary for lang from CSV: one term per row,
// columns term (Vietnamese), translation, and an optional note; a first
// row "term,translation[,note]" is skipped. Text must be UTF-8; it is
// stored in NFC. Every problem is reported with its line number.
func ParseGlossaryCSV(data []byte, lang string) ([]Term, error) {
	if len(data) > MaxGlossaryBytes {
		return nil, pipeline.FieldError("file", "The glossary file is over %d KiB: split it.", MaxGlossaryBytes>>10)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, pipeline.FieldError("file", "Line %d of the glossary is not UTF-8 text: save the file as CSV UTF-8 and import it again.", line)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var out []Term
	seen := map[string]int{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, pipeline.FieldError("file", "Line %d of the glossary is not valid CSV (%v): quote fields that contain commas or quotes.", pe.Line, pe.Err)
			}
			return nil, pipeline.FieldError("file", "The glossary is not valid CSV: %v.", err)
		}
		line, _ := r.FieldPos(0)
		if first && len(rec) >= 2 && strings.EqualFold(strings.TrimSpace(rec[0]), "term") {
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, pipeline.FieldError("file", "Line %d of the glossary has %d columns: write term,translation or term,translation,note.", line, len(rec))
		}
		// An exported glossary imports unchanged: undo the export's
		// formula-safe apostrophes.
		t := Term{Language: lang, Term: cleanText(formula.Unsafe(rec[0])), Translation: cleanText(formula.Unsafe(rec[1]))}
		if len(rec) == 3 {
			t.Note = cleanText(formula.Unsafe(rec[2]))
		}
		switch {
		case t.Term == "" || t.Translation == "":
			return nil, pipeline.FieldError("file", "Line %d of the glossary has an empty term or translation: fill both in.", line)
		case utf8.RuneCountInString(t.Term) > maxGlossaryTermLen || utf8.RuneCountInString(t.Translation) > maxGlossaryTermLen:
			return nil, pipeline.FieldError("file", "Line %d of the glossary has a term or translation over %d characters: a glossary holds terms, not sentences.", line, maxGlossaryTermLen)
		case utf8.RuneCountInString(t.Note) > maxGlossaryNoteLen:
			return nil, pipeline.FieldError("file", "Line %d of the glossary has a note over %d characters: shorten it.", line, maxGlossaryNoteLen)
		case !strings.ContainsFunc(t.Term, unicode.IsLetter):
			return nil, pipeline.FieldError("file", "Line %d of the glossary: the term %q has no letters.", line, t.Term)
		}
		key := foldWords(t.Term)
		if prev, ok := seen[key]; ok {
			return nil, pipeline.FieldError("file", "Line %d of the glossary repeats the term %q of line %d: keep one translation per term.", line, t.Term, prev)
		}
		seen[key] = line
		out = append(out, t)
		if len(out) > MaxGlossaryTerms {
			return nil, pipeline.FieldError("file", "The glossary has more than %d terms: split it.", MaxGlossaryTerms)
		}
	}
	return out, nil
}

// WriteGlossaryCSV writes terms as CSV with a header row, the form
// ParseGlossaryCSV reads back; every cell is formula-safe (a translator
// opens it in a spreadsheet).
func WriteGlossaryCSV(w io.Writer, terms []Term) error {
	cw := formula.NewWriter(w)
	if err := cw.Write(glossaryHeader); err != nil {
		return fmt.Errorf("write glossary: %w", err)
	}
	for _, t := range terms {
		if err := cw.Write([]string{t.Term, t.Translation, t.Note}); err != nil {
			return fmt.Errorf("write glossary: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write glossary: %w", err)
	}
	return nil
}

// cleanText trims s, puts it in NFC and turns control characters
// (including line breaks) into spaces.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}
