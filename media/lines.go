package media

import "sync"

// maxLineLen bounds one buffered stderr/stdout line; longer lines are cut.
const maxLineLen = 8 << 10

// lineWriter is an io.Writer that calls fn for each complete line written to
// it (split on \n or \r, which ffmpeg uses for its status line). Call flush
// after the writer's producer is done to deliver a final unterminated line.
type lineWriter struct {
	mu  sync.Mutex
	fn  func(line string)
	buf []byte
}

// Write implements io.Writer; it never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if b == '\n' || b == '\r' {
			if len(w.buf) > 0 {
				w.fn(string(w.buf))
				w.buf = w.buf[:0]
			}
			continue
		}
		if len(w.buf) < maxLineLen {
			w.buf = append(w.buf, b)
		}
	}
	return len(p), nil
}

// flush delivers a final line that had no terminator.
func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(string(w.buf))
		w.buf = w.buf[:0]
	}
}
