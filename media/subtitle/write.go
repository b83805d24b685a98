package subtitle

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteSRT writes f as SRT: cues numbered from 1, times as 00:00:01,000,
// UTF-8 without BOM, LF line ends. This is the form ffmpeg's subtitles
// filter reads.
func WriteSRT(w io.Writer, f *File) error {
	return write(w, f, SRT)
}

// WriteVTT writes f as WebVTT, escaping &, < and > in the text.
func WriteVTT(w io.Writer, f *File) error {
	return write(w, f, VTT)
}

var vttEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func write(w io.Writer, f *File, format Format) error {
	bw := bufio.NewWriter(w)
	sep := byte(',')
	if format == VTT {
		sep = '.'
		bw.WriteString("WEBVTT\n\n")
	}
	for i, c := range f.Cues {
		if err := writable(c); err != nil {
			return fmt.Errorf("write %s: cue %d: %w", format, i+1, err)
		}
		if format == SRT {
			fmt.Fprintf(bw, "%d\n", i+1)
		}
		fmt.Fprintf(bw, "%s --> %s\n", formatTimestamp(c.Start, sep), formatTimestamp(c.End, sep))
		for _, l := range c.Lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if format == VTT {
				l = vttEscape.Replace(l)
			}
			bw.WriteString(l)
			bw.WriteByte('\n')
		}
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}

// writable refuses cues that would not read back as written.
func writable(c Cue) error {
	if c.Start < 0 || c.End < 0 {
		return fmt.Errorf("negative time %s --> %s", FormatTimestamp(c.Start), FormatTimestamp(c.End))
	}
	if c.Start > maxHours*time.Hour || c.End > maxHours*time.Hour {
		return fmt.Errorf("time %s --> %s is beyond %d hours", FormatTimestamp(c.Start), FormatTimestamp(c.End), maxHours)
	}
	for _, l := range c.Lines {
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("text line %q contains a line break; put each line in its own entry of Lines", truncate(l))
		}
		if strings.Contains(l, "-->") {
			return fmt.Errorf("text line %q contains \"-->\"", truncate(l))
		}
	}
	return nil
}
