package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestTokenSum: the in-memory key of a token is the SHA-256 of all of
// it, for tokens shorter and longer than its stack buffer, and HashToken
// (the stored form) is its hex encoding.
func TestTokenSum(t *testing.T) {
	fresh, stored, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, token string }{
		{"empty", ""},
		{"fresh", fresh},
		{"at the buffer's size", strings.Repeat("a", 128)},
		{"past it", strings.Repeat("a", 127) + "bc"},
		{"long", strings.Repeat("loa_", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := sha256.Sum256([]byte(tt.token))
			if got := TokenSum(tt.token); got != want {
				t.Errorf("TokenSum = %x, want %x", got, want)
			}
			if got := HashToken(tt.token); got != hex.EncodeToString(want[:]) {
				t.Errorf("HashToken = %s, want %x", got, want)
			}
		})
	}
	if HashToken(fresh) != stored {
		t.Errorf("NewToken's hash %s is not HashToken of its token", stored)
	}
	if TokenSum(strings.Repeat("a", 128)) == TokenSum(strings.Repeat("a", 129)) {
		t.Error("a token past the buffer hashes as its first 128 bytes")
	}
}
