package pipeline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Role is what a user does in Loa; every endpoint lists the roles it allows.
type Role string

// The roles.
const (
	RoleAdmin      Role = "admin"
	RoleProducer   Role = "producer"
	RoleTranslator Role = "translator"
	RoleReviewer   Role = "reviewer"
	RoleOperator   Role = "operator"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleProducer, RoleTranslator, RoleReviewer, RoleOperator}

// User is a person (or a commune device) that signs in to Loa.
type User struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Languages are the languages a translator or reviewer works in.
	Languages []string `json:"languages,omitempty"`
	// Commune is the commune an operator answers for.
	Commune   string    `json:"commune,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Disabled is true while an administrator has disabled the user:
	// their sign-ins, sessions and tokens are all refused.
	Disabled bool `json:"disabled,omitempty"`
}

// Actor is who makes an account change, as the audit log names them: a
// user (ID, through the API or the pages) or, on the server's command
// line where no one is signed in, a Name such as "cli:root".
type Actor struct {
	ID   int64
	Name string
}

// CLIActor is the actor of a command run on the server's command line by
// the operating-system user unixUser ("cli:root"; "cli:?" when unknown).
func CLIActor(unixUser string) Actor {
	if unixUser == "" {
		unixUser = "?"
	}
	return Actor{Name: "cli:" + unixUser}
}

// TokenKind is what a token may do.
type TokenKind string

// The token kinds.
const (
	// TokenAPI signs its user in to every route their role allows.
	TokenAPI TokenKind = "api"
	// TokenMetrics reads /metrics and nothing else (a Prometheus scraper's).
	TokenMetrics TokenKind = "metrics"
)

// TokenInfo describes a token without its secret (only a hash is stored).
type TokenInfo struct {
	ID        int64     `json:"id"`
	User      string    `json:"user"`
	Kind      TokenKind `json:"kind"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
	// CreatedBy names who made it: a user, "cli:<unix user>", or "" when
	// not recorded (made before this was kept, or by the system).
	CreatedBy string `json:"created_by"`
	// LastUsedAt is when the token last signed a request in, to within a
	// few minutes; nil when never used since this was recorded.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// NewUser is what is needed to create a user.
type NewUser struct {
	Name      string
	Role      Role
	Password  string
	Languages []string
	Commune   string
	// CreatedBy is the administrator making the user through the API (the
	// audit log names them); 0 on the server's command line.
	CreatedBy int64
	// CreatedActor names the maker when CreatedBy is 0: "cli:<unix user>"
	// on the server's command line (CLIActor).
	CreatedActor string
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// MaxPasswordBytes is the longest password accepted, in bytes of UTF-8:
// bcrypt reads no further. A plain letter or digit takes one byte, a
// Vietnamese letter with marks (ấ, ệ, ữ) two or three.
const MaxPasswordBytes = 72

// ValidatePassword checks a new password against the one rule for every
// way of setting one (loa user add, a change, a reset): at least
// MinPasswordLen characters, at most MaxPasswordBytes bytes in NFC (as it
// is hashed), valid UTF-8.
// The error is CodeInvalid on field, saying the limits in characters.
func ValidatePassword(field, password string) error {
	if !utf8.ValidString(password) {
		return FieldError(field, "The password is not valid text (UTF-8): type it again.")
	}
	password = norm.NFC.String(password) // as it is hashed (HashPassword)
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return FieldError(field, "The password is %d characters long: it needs at least %d.", n, MinPasswordLen).
			WithKey("password_short", strconv.Itoa(MinPasswordLen))
	}
	if len(password) > MaxPasswordBytes {
		return FieldError(field, "The password is too long: at most %d bytes, that is %d plain letters or digits, "+
			"or about %d Vietnamese letters with marks (ấ, ệ take 3 bytes each); this one takes %d bytes.",
			MaxPasswordBytes, MaxPasswordBytes, MaxPasswordBytes/3, len(password)).
			WithKey("password_long", strconv.Itoa(MaxPasswordBytes), strconv.Itoa(MaxPasswordBytes/3), strconv.Itoa(len(password)))
	}
	return nil
}

// Validate checks a new user's fields.
func (n *NewUser) Validate() error {
	n.Name = strings.TrimSpace(n.Name)
	if utf8.ValidString(n.Name) {
		n.Name = norm.NFC.String(n.Name)
	}
	if err := checkUserName(n.Name); err != nil {
		return err
	}
	if !slices.Contains(Roles, n.Role) {
		return FieldError("role", "Unknown role %q: use admin, producer, translator, reviewer or operator.", n.Role)
	}
	if err := ValidatePassword("password", n.Password); err != nil {
		return err
	}
	for _, l := range n.Languages {
		if !slices.Contains(KnownLanguages, l) {
			return FieldError("languages", "Unknown language %q: use vi, blt (Thái) or hnj (Mông).", l)
		}
	}
	if (n.Role == RoleTranslator || n.Role == RoleReviewer) && len(n.Languages) == 0 {
		return FieldError("languages", "A %s needs at least one language (for example blt or hnj).", n.Role)
	}
	if n.Role == RoleOperator && strings.TrimSpace(n.Commune) == "" {
		return FieldError("commune", "An operator needs the commune they answer for.")
	}
	return nil
}

// HashPassword hashes a password with bcrypt at cost (log2 of the key
// expansion rounds; 0 means DefaultPasswordCost). Each step of cost
// doubles the time: 10 takes about 0.1 s on one core here.
func HashPassword(password string, cost int) (string, error) {
	if cost == 0 {
		cost = DefaultPasswordCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(norm.NFC.String(password)), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// DefaultPasswordCost is the bcrypt cost of every stored password hash
// (bcrypt.DefaultCost). A check costs what the stored hash's cost says,
// so raising it later leaves old hashes working.
const DefaultPasswordCost = bcrypt.DefaultCost

// CheckPassword reports whether password matches hash. Passwords are
// compared in Unicode NFC: Vietnamese keyboards send "ấ" precomposed or
// as "a" and two combining marks, and both are the same password. A hash
// made of the other form (before passwords were normalised) still
// matches the password as typed.
func CheckPassword(hash, password string) bool {
	nfc := norm.NFC.String(password)
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(nfc)) == nil {
		return true
	}
	return nfc != password && bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// tokenPrefix marks Loa API tokens so they are easy to spot in logs and
// secret scanners.
const tokenPrefix = "loa_"

// NewToken returns a fresh random API token and the hash to store. Only the
// hash is kept; the token itself is shown once.
func NewToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("make token: %w", err)
	}
	token = tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return token, HashToken(token), nil
}

// HashToken returns the stored form of a token. Tokens carry 256 random
// bits, so a plain SHA-256 is enough; no slow hash is needed.
func HashToken(token string) string {
	sum := TokenSum(token)
	return hex.EncodeToString(sum[:])
}

// TokenSum is the SHA-256 of a token: HashToken before its hex encoding,
// a fixed-size key for in-memory lookups that costs no allocation for a
// token of up to 128 bytes (Loa's are 56).
func TokenSum(token string) [sha256.Size]byte {
	var buf [128]byte
	if len(token) <= len(buf) {
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(token))
}

// SessionPolicy says how long a browser session lives.
type SessionPolicy struct {
	// Idle ends a session not used for this long.
	Idle time.Duration
	// Max ends a session this long after sign-in, used or not.
	Max time.Duration
}

// ErrTokenRevoked is wrapped by UserByToken's error for a token that
// exists but was revoked (a lost device still polling), as opposed to an
// unknown one (a guess): only guesses count toward throttling.
var ErrTokenRevoked = errors.New("token revoked")

// ErrUserDisabled is wrapped by the errors refusing a disabled user's
// sign-in, session or token.
var ErrUserDisabled = errors.New("user disabled")

// ErrWrongPassword is wrapped by the error refusing a password change
// whose current password is wrong: a caller counts it as a failed
// sign-in, so the change cannot be used to guess.
var ErrWrongPassword = errors.New("wrong current password")

// SignedOut counts what signing a user out everywhere ended: browser
// sessions and live tokens.
type SignedOut struct {
	Sessions int64 `json:"sessions"`
	Tokens   int64 `json:"tokens"`
}
