package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/media/mediatest"
	"github.com/sonla-cchc/loa/media/objects/objectstest"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// translatorToken adds a translator or reviewer with languages and
// returns a token.
func (in *instance) translatorToken(name, role, langs string) string {
	in.t.Helper()
	if _, err := in.loa("mat-khau-dai-du\n", "user", "add", "--name", name, "--role", role, "--languages", langs, "--password-stdin"); err != nil {
		in.t.Fatal(err)
	}
	tok, err := in.loa("", "token", "create", "--user", name)
	if err != nil {
		in.t.Fatal(err)
	}
	return strings.TrimSpace(tok)
}

// TestJobsCLIEndToEnd runs the translators' half with the real binary:
// a producer uploads a TV segment with Vietnamese subtitles; processing
// opens the jobs; a Thái translator lists, claims, downloads, submits a
// broken file (refused with line numbers, exit 3) and a good one; a
// reviewer approves; the glossary goes in and out as CSV.
func TestJobsCLIEndToEnd(t *testing.T) {
	mediatest.Need(t)
	s3 := objectstest.Config(t)
	t.Cleanup(func() { objectstest.Drop(t, s3) })
	in := newInstance(t, s3)
	producer := in.bootstrap()
	admin := in.userToken("quan-tri", "admin", "")
	thai := in.translatorToken("lo-van-a", "translator", "blt")
	mong := in.translatorToken("giang-a-c", "translator", "hnj")
	reviewer := in.translatorToken("duyet", "reviewer", "blt,hnj")
	in.start()

	dir := t.TempDir()
	srt := filepath.Join(dir, "vi.srt")
	os.WriteFile(srt, []byte("1\n00:00:00,500 --> 00:00:03,500\nCải cách hành chính\nlà nhiệm vụ trọng tâm.\n\n2\n00:00:03,700 --> 00:00:07,000\nNộp hồ sơ tại bộ phận một cửa.\n"), 0o644)
	in.must(producer, "upload", mediatest.TVMP4(t, dir), "--title", "Một cửa liên thông", "--kind", "tv", "--topic", "procedures",
		"--languages", "vi,blt,hnj", "--subtitles", srt, "--quiet")

	// Test-only glossary: placeholder translations.
	gloss := filepath.Join(dir, "g.csv")
	os.WriteFile(gloss, []byte("term,translation,note\nmột cửa,ꪀꪱꪉ ꪁꪾ,test\n"), 0o644)
	if out := in.must(admin, "glossary", "import", "--lang", "blt", gloss); !strings.Contains(out, "imported 1 terms") {
		t.Fatalf("import: %s", out)
	}
	badGloss := filepath.Join(dir, "bad.csv")
	os.WriteFile(badGloss, []byte("một cửa\n"), 0o644)
	if _, errOut, code := in.run3(admin, "glossary", "import", "--lang", "blt", badGloss); code != 3 || !strings.Contains(errOut, "Line 1") {
		t.Fatalf("bad glossary: exit %d %s", code, errOut)
	}

	var list []translation.Job
	eventually(t, "processing opening the translation jobs", func() (bool, string) {
		out, errOut, _ := in.run3(thai, "jobs", "list", "--json")
		list = nil
		json.Unmarshal([]byte(out), &list)
		return len(list) == 2, out + errOut
	})
	var sub translation.Job
	for _, j := range list {
		if j.Language != "blt" {
			t.Fatalf("a Thái translator sees %s", j.Language)
		}
		if j.Kind == translation.KindSubtitle {
			sub = j
		}
	}
	if out := in.must(mong, "jobs", "list", "--lang", "blt"); strings.Contains(out, sub.ID) {
		t.Fatalf("a Mông translator sees Thái jobs:\n%s", out)
	}
	if _, _, code := in.run3(mong, "jobs", "claim", sub.ID); code != 3 {
		t.Fatalf("a Mông translator claiming a Thái job: exit %d, want 3 (not found)", code)
	}
	if out := in.must(thai, "jobs", "claim", sub.ID); !strings.Contains(out, "is claimed") {
		t.Fatalf("claim: %s", out)
	}
	in.must(thai, "jobs", "extend", sub.ID)
	work := filepath.Join(dir, "work")
	out, errOut, code := in.run3(thai, "jobs", "get", sub.ID, "--dir", work)
	if code != 0 || strings.Contains(errOut, "\r") {
		// stderr is a pipe here: no progress bar is drawn into it.
		t.Fatalf("get: exit %d\n%s%q", code, out, errOut)
	}
	for _, f := range []string{"source.mp4", "vi.srt", "blt.srt", "glossary-blt.csv"} {
		if st, err := os.Stat(filepath.Join(work, f)); err != nil || st.Size() == 0 {
			t.Fatalf("jobs get did not write %s: %v", f, err)
		}
	}
	target := filepath.Join(work, "blt.srt")
	prefill, _ := os.ReadFile(target)
	if !strings.Contains(string(prefill), "Nộp hồ sơ") {
		t.Fatalf("prefill:\n%s", prefill)
	}
	// Submitted as downloaded, the file is still Vietnamese: refused.
	out, errOut, code = in.run3(thai, "jobs", "submit", sub.ID, target, "--quiet")
	if code != 3 || !strings.Contains(errOut, "line 1, cue 1: error untranslated") {
		t.Fatalf("untranslated submit: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(target, []byte("1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ\n\n2\n00:00:03,700 --> 00:00:07,000\nꪶꪎꪙ ꪹꪕꪉ\n"), 0o644)
	out = in.must(thai, "jobs", "submit", sub.ID, target, "--quiet")
	if !strings.Contains(out, "submitted: job "+sub.ID) || !strings.Contains(out, "warning glossary") {
		t.Fatalf("submit:\n%s", out)
	}
	if _, _, code := in.run3(thai, "jobs", "review", sub.ID, "--approve"); code != 4 {
		t.Fatalf("a translator approving: exit %d, want 4", code)
	}
	// A blank reason is refused before anything changes: the job stays
	// submitted, not taken into review.
	for _, blank := range []string{"", "  "} {
		out, errOut, code := in.run3(reviewer, "jobs", "review", sub.ID, "--request-changes", blank)
		if code != 2 || !strings.Contains(errOut, "needs the reason") {
			t.Fatalf("request changes with %q: exit %d, want 2 asking for a reason\n%s%s", blank, code, out, errOut)
		}
	}
	if show := in.must(admin, "jobs", "show", sub.ID); !strings.Contains(strings.Join(strings.Fields(show), " "), "state submitted") {
		t.Fatalf("after blank requests for changes the job is no longer submitted:\n%s", show)
	}
	out = in.must(reviewer, "jobs", "review", sub.ID, "--request-changes", "Cue 2: dùng thuật ngữ một cửa.")
	if !strings.Contains(out, "changes_requested") {
		t.Fatalf("request changes: %s", out)
	}
	os.WriteFile(target, []byte("1\n00:00:00,500 --> 00:00:03,500\nꪼꪕ ꪼꪕ꫁\nꪹꪕꪉ ꪶꪎꪙ\n\n2\n00:00:03,700 --> 00:00:07,000\nꪀꪱꪉ ꪁꪾ ꪹꪕꪉ\n"), 0o644)
	if out := in.must(thai, "jobs", "submit", sub.ID, target, "--quiet"); !strings.Contains(out, "no errors, no warnings") {
		t.Fatalf("resubmit:\n%s", out)
	}
	if out := in.must(reviewer, "jobs", "review", sub.ID, "--approve"); !strings.Contains(out, "is approved") {
		t.Fatalf("approve: %s", out)
	}
	show := in.must(admin, "jobs", "show", sub.ID)
	for _, want := range []string{"state          approved", "request_changes  duyet", "(Cue 2: dùng thuật ngữ một cửa.)", "Submission 2"} {
		if !strings.Contains(strings.Join(strings.Fields(show), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("jobs show lacks %q:\n%s", want, show)
		}
	}
	if out := in.must(thai, "glossary", "export", "--lang", "blt"); !strings.Contains(out, "một cửa,ꪀꪱꪉ ꪁꪾ,test") {
		t.Fatalf("export:\n%s", out)
	}
}
