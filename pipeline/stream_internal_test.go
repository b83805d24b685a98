package pipeline

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestSizedReader passes exactly the declared bytes and refuses a body of
// another length on field "size" without handing on the last declared
// byte of a longer one (so a store given the length stores nothing); a
// body cut short by the client stays an interruption, not a size error.
func TestSizedReader(t *testing.T) {
	cut := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF))
	cases := []struct {
		name     string
		r        io.Reader
		declared int64
		want     string // bytes handed on before the end or the error
		err      error  // nil, errSize (a *Error on "size"), or the reader's own
	}{
		{"exact", strings.NewReader("abcdef"), 6, "abcdef", nil},
		{"exact, one byte a read", iotest.OneByteReader(strings.NewReader("abcdef")), 6, "abcdef", nil},
		{"exact, data and EOF together", iotest.DataErrReader(strings.NewReader("abcdef")), 6, "abcdef", nil},
		{"short", strings.NewReader("abcde"), 6, "abcde", errSize},
		{"long", strings.NewReader("abcdefg"), 6, "", errSize},
		{"long, one byte a read", iotest.OneByteReader(strings.NewReader("abcdefg")), 6, "abcde", errSize},
		{"cut by the client", cut, 6, "abc", io.ErrUnexpectedEOF},
		{"cut right at the end", io.MultiReader(strings.NewReader("abcdef"), iotest.ErrReader(io.ErrUnexpectedEOF)), 6, "", io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got bytes.Buffer
			_, err := io.Copy(&got, &sizedReader{r: c.r, declared: c.declared, left: c.declared})
			if got.String() != c.want {
				t.Fatalf("handed on %q, want %q", got.String(), c.want)
			}
			if c.err != nil && got.Len() >= int(c.declared) {
				t.Fatalf("handed on all %d declared bytes (%q) of a body it refuses", got.Len(), got.String())
			}
			switch {
			case c.err == nil && err != nil:
				t.Fatalf("error %v, want none", err)
			case c.err == errSize:
				var e *Error
				if !errors.As(err, &e) || e.Field != "size" || e.Code != CodeInvalid {
					t.Fatalf("error %v, want a refusal on field size", err)
				}
			case c.err != nil && !errors.Is(err, c.err):
				t.Fatalf("error %v, want %v", err, c.err)
			}
		})
	}
}

// errSize stands for "a refusal on field size" in TestSizedReader's table.
var errSize = errors.New("size refusal")
