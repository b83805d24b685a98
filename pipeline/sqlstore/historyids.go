package sqlstore

import (
	"fmt"
	"strings"
)

// The airing history stores one row per commune and date (migration
// 0021): its segment_ids column is the ids of the segments scheduled that
// day, sorted in byte order, each once, joined by newlines. An id's
// backslashes and newlines are written as \\ and \n, so any id encodes
// and a raw newline always separates two ids. Segment ids are UUIDs in
// practice: they are written as they are.

// appendHistoryIDs appends to dst the segment_ids value of ids, which
// must be sorted and without repeats.
func appendHistoryIDs(dst []byte, ids []string) []byte {
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, '\n')
		}
		if !strings.ContainsAny(id, "\\\n") {
			dst = append(dst, id...)
			continue
		}
		for k := 0; k < len(id); k++ {
			switch id[k] {
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			default:
				dst = append(dst, id[k])
			}
		}
	}
	return dst
}

// eachHistoryID calls yield with each segment id of a segment_ids value,
// in order, until it returns false. An id without escapes is a substring
// of s. A value that no encoding gives (a backslash before anything but
// a backslash or n, or at the end) is an error.
func eachHistoryID(s string, yield func(id string) bool) error {
	if s == "" {
		return nil
	}
	for id := range strings.SplitSeq(s, "\n") {
		if strings.IndexByte(id, '\\') >= 0 {
			var err error
			if id, err = unescapeHistoryID(id); err != nil {
				return err
			}
		}
		if !yield(id) {
			return nil
		}
	}
	return nil
}

// unescapeHistoryID undoes the escapes of one encoded id.
func unescapeHistoryID(e string) (string, error) {
	var b strings.Builder
	b.Grow(len(e))
	for k := 0; k < len(e); k++ {
		if e[k] != '\\' {
			b.WriteByte(e[k])
			continue
		}
		if k++; k == len(e) {
			return "", fmt.Errorf("segment ids %q: a backslash at the end", e)
		}
		switch e[k] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("segment ids %q: unknown escape \\%c", e, e[k])
		}
	}
	return b.String(), nil
}
