package objects_test

import (
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sonla-cchc/loa/media/objects"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

var dispositionCases = []struct {
	name     string // the name asked for
	want     string // the name a client decodes from filename*
	fallback string // the ASCII filename=
}{
	{"Bản tin cải cách hành chính tháng 11.mp3", "Bản tin cải cách hành chính tháng 11.mp3", "Ban tin cai cach hanh chinh thang 11.mp3"},
	{"ĐƯỜNG DÂY NÓNG – Sơn La.wav", "ĐƯỜNG DÂY NÓNG – Sơn La.wav", "DUONG DAY NONG _ Son La.wav"},
	{"Thông báo \"khẩn\"; 100% xã.mp3", "Thông báo \"khẩn\"; 100% xã.mp3", "Thong bao _khan_; 100_ xa.mp3"},
	{"ꪼꪕ ꪀꪱ.mp3", "ꪼꪕ ꪀꪱ.mp3", "__ __.mp3"},
	{"report.csv", "report.csv", "report.csv"},
	{"line\nbreak\x00.mp3", "line_break_.mp3", "line_break_.mp3"},
	{"bad\xffutf8.mp3", "bad_utf8.mp3", "bad_utf8.mp3"},
}

// checkDisposition asserts that header is ASCII, parses as an attachment
// whose name is want, and carries fallback as its plain filename=.
func checkDisposition(t *testing.T, header, want, fallback string) {
	t.Helper()
	for i := 0; i < len(header); i++ {
		if c := header[i]; c >= utf8.RuneSelf || c < ' ' {
			t.Fatalf("header %q has byte %#x at %d: not printable ASCII", header, c, i)
		}
	}
	disp, params, err := mime.ParseMediaType(header)
	if err != nil {
		t.Fatalf("parse %q: %v", header, err)
	}
	if disp != "attachment" || params["filename"] != want {
		t.Fatalf("parse %q: %s, filename %q; want attachment, %q", header, disp, params["filename"], want)
	}
	before, _, ok := strings.Cut(header, "; filename*=")
	if !ok {
		t.Fatalf("header %q has no filename*=", header)
	}
	if _, params, err := mime.ParseMediaType(before); err != nil || params["filename"] != fallback {
		t.Fatalf("fallback of %q: %q, %v; want %q", header, params["filename"], err, fallback)
	}
}

func TestAttachment(t *testing.T) {
	t.Parallel()
	for _, c := range dispositionCases {
		checkDisposition(t, objects.Attachment(c.name), c.want, c.fallback)
	}
	if got := objects.Attachment(""); got != "attachment" {
		t.Fatalf("empty name: %q, want attachment", got)
	}
}

// TestPresignUTF8Name fetches presigned links through MinIO and reads the
// Content-Disposition header the store sends back.
func TestPresignUTF8Name(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := objectstest.New(t)
	if _, err := s.Put(ctx, "k", strings.NewReader("xin chào"), -1, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	for _, c := range dispositionCases {
		link, err := s.Presign(ctx, "k", time.Hour, c.name)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: fetch link: %s", c.name, resp.Status)
		}
		checkDisposition(t, resp.Header.Get("Content-Disposition"), c.want, c.fallback)
	}
}

// FuzzAttachment checks that any name gives an ASCII header that parses
// back to the name (with control characters and bad UTF-8 as _).
func FuzzAttachment(f *testing.F) {
	for _, c := range dispositionCases {
		f.Add(c.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		h := objects.Attachment(name)
		for i := 0; i < len(h); i++ {
			if c := h[i]; c >= utf8.RuneSelf || c < ' ' || c == 0x7f {
				t.Fatalf("Attachment(%q) = %q: byte %#x is not printable ASCII", name, h, c)
			}
		}
		disp, params, err := mime.ParseMediaType(h)
		if err != nil || disp != "attachment" {
			t.Fatalf("Attachment(%q) = %q: parse: %s %v", name, h, disp, err)
		}
		want := strings.Map(func(r rune) rune {
			if r < ' ' || (r >= 0x7f && r < 0xa0) {
				return '_'
			}
			return r
		}, strings.ToValidUTF8(name, "_"))
		if params["filename"] != want && !(want == "" && h == "attachment") {
			t.Fatalf("Attachment(%q) = %q decodes to %q, want %q", name, h, params["filename"], want)
		}
	})
}
