package translation

import (
	"sort"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// MemoryEntry is one approved translation of a Vietnamese subtitle cue.
type MemoryEntry struct {
	Language string `json:"language"`
	// Key is the Vietnamese text folded for matching (MemoryKey).
	Key string `json:"-"`
	// Source is the Vietnamese cue text as approved; Target its translation,
	// lines separated by "\n".
	Source    string    `json:"source"`
	Target    string    `json:"target"`
	JobID     string    `json:"job_id"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// MemoryKey folds a Vietnamese cue text for matching: NFC, lower case,
// words only, single spaces, so line breaks and punctuation do not matter.
func MemoryKey(s string) string { return foldWords(s) }

// MemoryPairs pairs the cues of an approved translation with its source
// cues by position and returns the entries for the memory. Cues left in
// Vietnamese (the same words as the source) are skipped.
func MemoryPairs(lang, jobID string, source, target *subtitle.File) []MemoryEntry {
	if source == nil || target == nil || len(source.Cues) != len(target.Cues) {
		return nil
	}
	var out []MemoryEntry
	seen := map[string]bool{}
	for i, sc := range source.Cues {
		key := MemoryKey(sc.Text())
		tc := target.Cues[i]
		if key == "" || seen[key] || MemoryKey(tc.Text()) == key || len(tc.Lines) == 0 {
			continue
		}
		seen[key] = true
		out = append(out, MemoryEntry{Language: lang, Key: key, Source: sc.Text(), Target: tc.Text(), JobID: jobID})
	}
	return out
}

// Match is a memory entry that resembles a source cue.
type Match struct {
	Cue    int     `json:"cue"`    // 1-based source cue
	Source string  `json:"source"` // the source cue text
	Memory string  `json:"memory"` // the Vietnamese text the memory holds
	Target string  `json:"target"` // its approved translation
	Score  float64 `json:"score"`  // 1 = same words; 0 = nothing in common
	Exact  bool    `json:"exact"`
}

// Prefill is a subtitle job's starting point: the source file with every
// cue found in the memory replaced by its approved translation, and the
// close matches for the rest.
type Prefill struct {
	File *subtitle.File
	// Exact counts the cues filled from the memory; the others keep the
	// Vietnamese text for the translator to replace.
	Exact int     `json:"exact"`
	Cues  int     `json:"cues"`
	Fuzzy []Match `json:"fuzzy"`
}

// MinFuzzyScore is the lowest score a fuzzy match is listed with.
const MinFuzzyScore = 0.6

// maxFuzzyPerCue bounds the matches listed for one cue.
const maxFuzzyPerCue = 3

// BuildPrefill fills a copy of source from the memory: exact matches
// replace the cue text; for the other cues, up to three entries scoring at
// least MinFuzzyScore are listed, best first. Timings stay the source's.
func BuildPrefill(source *subtitle.File, memory []MemoryEntry) Prefill {
	byKey := make(map[string]MemoryEntry, len(memory))
	for _, m := range memory {
		if m.Key == "" {
			m.Key = MemoryKey(m.Source)
		}
		if prev, ok := byKey[m.Key]; !ok || m.UpdatedAt.After(prev.UpdatedAt) {
			byKey[m.Key] = m
		}
	}
	out := Prefill{File: &subtitle.File{Format: source.Format}, Cues: len(source.Cues)}
	for _, c := range source.Cues {
		nc := subtitle.Cue{Index: c.Index, Start: c.Start, End: c.End, Lines: append([]string(nil), c.Lines...)}
		key := MemoryKey(c.Text())
		if m, ok := byKey[key]; ok && key != "" {
			nc.Lines = splitLines(m.Target)
			out.Exact++
			out.File.Cues = append(out.File.Cues, nc)
			continue
		}
		out.File.Cues = append(out.File.Cues, nc)
		words := strings.Fields(key)
		var ms []Match
		for k, m := range byKey {
			s := similarity(words, strings.Fields(k))
			if s >= MinFuzzyScore {
				ms = append(ms, Match{Cue: c.Index, Source: c.Text(), Memory: m.Source, Target: m.Target, Score: s})
			}
		}
		sort.Slice(ms, func(i, j int) bool {
			if ms[i].Score != ms[j].Score {
				return ms[i].Score > ms[j].Score
			}
			return ms[i].Memory < ms[j].Memory
		})
		if len(ms) > maxFuzzyPerCue {
			ms = ms[:maxFuzzyPerCue]
		}
		out.Fuzzy = append(out.Fuzzy, ms...)
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// similarity is 1 minus the word-level edit distance over the longer
// length: 1 for the same words, 0 for nothing in common.
func similarity(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	n := max(len(a), len(b))
	// Cheap bound first: the distance is at least the length difference.
	if d := len(a) - len(b); float64(n-max(d, -d))/float64(n) < MinFuzzyScore {
		return 0
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return float64(n-prev[len(b)]) / float64(n)
}
