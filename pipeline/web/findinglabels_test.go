package web_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/sonla-cchc/loa/media"
	"github.com/sonla-cchc/loa/media/subtitle"
	"github.com/sonla-cchc/loa/pipeline/translation"
)

// TestFindingCodesLabelled: every code a subtitle or voice-over
// submission's finding can carry has its label (fc_CODE) in each
// catalogue, so the job page never shows a finding as a bare "Lỗi (English
// text)". The voice-over's media codes come from AirableFindings and the
// decode refusal (media.RefuseCorrupt).
func TestFindingCodesLabelled(t *testing.T) {
	codes := []string{
		subtitle.CodeEmptyCue, subtitle.CodeBadTiming, subtitle.CodeTooManyLines, subtitle.CodeLineTooLong,
		subtitle.CodeCPS, subtitle.CodeTooShort, subtitle.CodeTooLong, subtitle.CodeOverlap, subtitle.CodeOrder,
		subtitle.CodeGap, subtitle.CodeScript, subtitle.CodeUntranslated, subtitle.CodeCueCount,
		subtitle.CodeTiming, subtitle.CodePastEnd,
		translation.CodeGlossary, translation.CodeDuration, translation.CodeAudio,
		string(media.RefuseSilent), string(media.RefuseCorrupt), string(media.RefuseCancels),
	}
	for _, lang := range []string{"vi", "en"} {
		data, err := os.ReadFile("messages/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(data, &msgs); err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			if msgs["fc_"+c] == "" {
				t.Errorf("%s catalogue has no label fc_%s: the job page shows that finding without one", lang, c)
			}
		}
	}
}
