package subtitle_test

import (
	"fmt"
	"os"

	"github.com/sonla-cchc/loa/media/subtitle"
)

// A translator submits a Thái subtitle for a Vietnamese segment: parse it,
// check it against the Thái profile and the source, and write the WebVTT
// sidecar.
func Example() {
	source, err := subtitle.Parse([]byte("1\n00:00:01,000 --> 00:00:04,000\nThủ tục hành chính\n\n" +
		"2\n00:00:04,500 --> 00:00:08,000\nđược giải quyết tại xã\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	thai, err := subtitle.Parse([]byte("1\r\n00:00:01,000 --> 00:00:04,000\r\nꪀꪱꪉ ꪁꪾ\r\n\r\n" +
		"2\r\n00:00:04,500 --> 00:00:08,000\r\nThủ tục hành chính được giải quyết tại bộ phận một cửa của xã\r\n"))
	if err != nil {
		fmt.Println(err)
		return
	}

	findings := subtitle.Check(thai, subtitle.ProfileFor("blt"))
	findings = append(findings, subtitle.CompareTiming(source, thai, subtitle.DefaultTolerance)...)
	for _, f := range findings {
		fmt.Println(f)
	}
	fmt.Println("blocked:", subtitle.HasErrors(findings))

	if err := subtitle.WriteVTT(os.Stdout, &subtitle.File{Cues: thai.Cues[:1]}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// line 7, cue 2: error line-too-long: line 1 of cue 2 has 61 characters; the limit is 42, so shorten it or break it into two lines
	// line 7, cue 2: error untranslated: line 1 of cue 2 reads as Vietnamese; translate it into Thái
	// line 5, cue 2: warning cps: cue 2 needs 17.4 characters per second, above the 17 viewers can comfortably read; shorten the text to at most 59 characters if you can
	// blocked: true
	// WEBVTT
	//
	// 00:00:01.000 --> 00:00:04.000
	// ꪀꪱꪉ ꪁꪾ
}

// A file saved in an old Vietnamese encoding is refused with a message the
// uploader can act on.
func ExampleParse_legacyEncoding() {
	tcvn3 := []byte("1\n00:00:01,000 --> 00:00:02,000\nB\xb6o Th\xbeng\n")
	_, err := subtitle.Parse(tcvn3)
	fmt.Println(err)
	// Output:
	// subtitle line 3: the file is not UTF-8 (it looks like TCVN3 (ABC), an old Vietnamese encoding); convert it to Unicode (for example with UniKey's converter), save it as UTF-8 and upload again
}
