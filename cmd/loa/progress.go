package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressTo is where a command draws its progress bars: w when it is a
// terminal and the user did not ask for quiet, else nowhere, so logs and
// pipes get no carriage-return lines.
func progressTo(w io.Writer, quiet bool) io.Writer {
	if quiet || !isTerminal(w) {
		return io.Discard
	}
	return w
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar makes a byte-counting progress bar (github.com/schollz/progressbar)
// drawn on w; total <= 0 means the size is unknown (a spinner). It draws
// nothing when w is io.Discard.
func newBar(w io.Writer, label string, total int64) *progressbar.ProgressBar {
	if total <= 0 {
		total = -1
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetVisibility(w != io.Discard),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// barReader counts what is read from r into bar. A file that grew since
// its size was read (still being written) raises the bar's total instead
// of overrunning it.
type barReader struct {
	r   io.Reader
	bar *progressbar.ProgressBar
	n   int64
}

func (b *barReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.n += int64(n)
		if max := b.bar.GetMax64(); max > 0 && b.n > max {
			b.bar.ChangeMax64(b.n)
		}
		b.bar.Add(n)
	}
	return n, err
}

// endBar ends a bar drawn on w: filled when the transfer completed, left
// where it stopped otherwise; either way the next output starts on a new
// line.
func endBar(bar *progressbar.ProgressBar, w io.Writer, completed bool) {
	if completed && bar.GetMax64() > 0 {
		bar.Finish() // draws the full bar, then the completion newline
		return
	}
	bar.Exit()
	if !completed {
		fmt.Fprintln(w)
	}
}
