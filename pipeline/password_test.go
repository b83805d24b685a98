package pipeline

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// TestPasswordForms: a Vietnamese password typed precomposed (NFC) or
// with combining marks (NFD) is one password, however it was set; a hash
// made of the NFD form before passwords were normalised still matches
// what the user types; another password does not.
func TestPasswordForms(t *testing.T) {
	const pw = "mậtkhẩuđủdài"
	nfc, nfd := norm.NFC.String(pw), norm.NFD.String(pw)
	if nfc == nfd {
		t.Fatal("the test password has no marks to compose")
	}
	legacy, err := bcrypt.GenerateFromPassword([]byte(nfd), bcrypt.MinCost) // stored as typed, not normalised
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, setAs, typed string
		legacyHash         bool
		want               bool
	}{
		{"set NFC, typed NFC", nfc, nfc, false, true},
		{"set NFC, typed NFD", nfc, nfd, false, true},
		{"set NFD, typed NFC", nfd, nfc, false, true},
		{"set NFD, typed NFD", nfd, nfd, false, true},
		{"old NFD hash, typed NFD", "", nfd, true, true},
		{"another password", nfc, "matkhaududai", false, false},
		{"old NFD hash, another password", "", "matkhaududai", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hash := string(legacy)
			if !tc.legacyHash {
				if hash, err = HashPassword(tc.setAs, bcrypt.MinCost); err != nil {
					t.Fatal(err)
				}
			}
			if got := CheckPassword(hash, tc.typed); got != tc.want {
				t.Fatalf("CheckPassword = %v, want %v", got, tc.want)
			}
		})
	}
	// The length rule counts the form that is hashed: 12 letters either way.
	if err := ValidatePassword("password", nfd); err != nil {
		t.Fatalf("the NFD form of a valid password: %v", err)
	}
}
