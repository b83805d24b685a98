package media

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestRefusalCodesListed: RefusalCodes names every code validate.go
// declares, so the pages' catalogues are checked for each one's text.
func TestRefusalCodesListed(t *testing.T) {
	src, err := os.ReadFile("validate.go")
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^\s+Refuse\w+\s+RefusalCode = "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(decl) < 10 {
		t.Fatalf("found %d refusal codes in validate.go: the pattern no longer matches them", len(decl))
	}
	for _, m := range decl {
		if !slices.Contains(RefusalCodes(), RefusalCode(m[1])) {
			t.Errorf("refusal code %q is not in RefusalCodes", m[1])
		}
	}
	r := refuse(RefuseCancels, "they cancel")
	if f := r.Finding(); f.Code != "channels_cancel" || f.Key != "media_channels_cancel" || f.Message != "they cancel" {
		t.Errorf("finding of a refusal: %+v", f)
	}
}
