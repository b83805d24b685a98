package schedules

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// BundleFormat is the format name every offline bundle manifest carries.
const BundleFormat = "loa-bundle/1"

// Names of the signed files at the root of an offline bundle.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// MaxManifestBytes bounds a manifest read from outside.
const MaxManifestBytes = 8 << 20

// Manifest lists every file of an offline bundle with its checksum. It is
// signed with Loa's ed25519 key; the signature covers the manifest's exact
// bytes, stored beside it in manifest.sig.
type Manifest struct {
	Format      string `json:"format"`
	Commune     string `json:"commune"`
	CommuneName string `json:"commune_name"`
	// Version and ETag identify the commune's schedule version.
	Version string `json:"version"`
	ETag    string `json:"etag"`
	// Sequence numbers the commune's schedule versions; it only grows, so
	// a device refuses a bundle with a smaller one than it has installed
	// (a replayed older bundle would silently drop a newer emergency).
	Sequence int64 `json:"sequence"`
	// From and Until are the first and last dates (YYYY-MM-DD) covered.
	From       string    `json:"from"`
	Until      string    `json:"until"`
	ValidUntil time.Time `json:"valid_until"`
	CreatedAt  time.Time `json:"created_at"`
	// KeyID is the fingerprint of the public key that signs the manifest.
	KeyID string         `json:"key_id"`
	Files []ManifestFile `json:"files"`
}

// ManifestFile is one file of a bundle: a path relative to the bundle's
// root, its SHA-256 (hex) and size.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size_bytes"`
}

// KeyID returns a short fingerprint of a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// EncodeManifest returns the manifest's canonical bytes (files sorted by
// path, indented JSON, final newline).
func EncodeManifest(m *Manifest) ([]byte, error) {
	c := *m
	c.Files = append([]ManifestFile(nil), m.Files...)
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// SignManifest returns the signature file's content: the base64 ed25519
// signature of data, with a final newline.
func SignManifest(key ed25519.PrivateKey, data []byte) []byte {
	sig := ed25519.Sign(key, data)
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
}

// BundleError says which file of a bundle is wrong and how.
type BundleError struct {
	Path string // file at fault, relative to the bundle root; "" for the bundle
	Err  error
}

// Error renders the problem as "path: what".
func (e *BundleError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

// Unwrap returns the problem, for errors.Is.
func (e *BundleError) Unwrap() error { return e.Err }

// Problems a bundle check finds, for errors.Is.
var (
	ErrBadSignature = errors.New("signature does not match: the manifest was changed or signed by another key")
	ErrChecksum     = errors.New("checksum does not match the signed manifest: the file was changed or damaged")
	ErrSize         = errors.New("size does not match the signed manifest")
	ErrMissingFile  = errors.New("missing from the bundle")
	ErrBadManifest  = errors.New("malformed manifest")
)

// ParseManifest reads a manifest from outside input and checks its shape:
// the format, dates, and every file path (relative, clean, no "..",
// portable characters), checksum (64 hex digits) and size; no path twice.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadManifest, MaxManifestBytes)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if m.Format != BundleFormat {
		return nil, fmt.Errorf("%w: format %q, want %q (a newer Loa may be needed)", ErrBadManifest, m.Format, BundleFormat)
	}
	if _, err := ParseDate(m.From); err != nil {
		return nil, fmt.Errorf("%w: from: %v", ErrBadManifest, err)
	}
	if _, err := ParseDate(m.Until); err != nil {
		return nil, fmt.Errorf("%w: until: %v", ErrBadManifest, err)
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		if err := CheckBundlePath(f.Path); err != nil {
			return nil, fmt.Errorf("%w: file %d: %v", ErrBadManifest, i+1, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%w: file %q listed twice", ErrBadManifest, f.Path)
		}
		seen[f.Path] = true
		if len(f.SHA256) != 64 || strings.Trim(f.SHA256, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%w: file %q: sha256 %q is not 64 lowercase hex digits", ErrBadManifest, f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%w: file %q: negative size", ErrBadManifest, f.Path)
		}
	}
	return &m, nil
}

// CheckBundlePath refuses paths that could leave the bundle or clash with
// its signed files: absolute, unclean, with "..", empty, too long, or
// with characters other than ASCII letters, digits, '.', '_', '-' and '/'.
func CheckBundlePath(p string) error {
	switch {
	case p == "" || len(p) > 200:
		return fmt.Errorf("path %q: empty or longer than 200 bytes", p)
	case path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || p == ".":
		return fmt.Errorf("path %q is not a clean relative path", p)
	case p == ManifestName || p == SignatureName:
		return fmt.Errorf("path %q is reserved", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "" || strings.HasPrefix(part, ".") {
			return fmt.Errorf("path %q has an empty, hidden or parent part", p)
		}
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '/') {
			return fmt.Errorf("path %q has character %q", p, r)
		}
	}
	return nil
}

// VerifyManifest checks the signature file sig against the manifest bytes
// with pub and parses the manifest.
func VerifyManifest(pub ed25519.PublicKey, data, sig []byte) (*Manifest, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return nil, &BundleError{Path: SignatureName, Err: fmt.Errorf("%w (not a base64 ed25519 signature)", ErrBadSignature)}
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, data, raw) {
		return nil, &BundleError{Path: ManifestName, Err: ErrBadSignature}
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, &BundleError{Path: ManifestName, Err: err}
	}
	return m, nil
}

// VerifyBundle checks a bundle folder: the manifest's signature with pub,
// then the size and SHA-256 of every file it lists. The first problem is
// returned as a *BundleError naming the file. Files the manifest does not
// list are returned as extra; they are never played.
func VerifyBundle(fsys fs.FS, pub ed25519.PublicKey) (m *Manifest, extra []string, err error) {
	data, err := readLimited(fsys, ManifestName, MaxManifestBytes)
	if err != nil {
		return nil, nil, &BundleError{Path: ManifestName, Err: err}
	}
	sig, err := readLimited(fsys, SignatureName, 1024)
	if err != nil {
		return nil, nil, &BundleError{Path: SignatureName, Err: err}
	}
	m, err = VerifyManifest(pub, data, sig)
	if err != nil {
		return nil, nil, err
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		listed[f.Path] = true
		if err := CheckFile(fsys, f); err != nil {
			return m, nil, err
		}
	}
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !listed[p] {
			extra = append(extra, p)
		}
		return nil
	})
	return m, extra, nil
}

// CheckFile checks one listed file's size and checksum.
func CheckFile(fsys fs.FS, f ManifestFile) error {
	fh, err := fsys.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &BundleError{Path: f.Path, Err: ErrMissingFile}
	}
	if err != nil {
		return &BundleError{Path: f.Path, Err: err}
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return &BundleError{Path: f.Path, Err: err}
	}
	if n != f.Size {
		return &BundleError{Path: f.Path, Err: fmt.Errorf("%w: %d bytes, want %d", ErrSize, n, f.Size)}
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return &BundleError{Path: f.Path, Err: ErrChecksum}
	}
	return nil
}

func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrMissingFile
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

// ParsePublicKey reads a public key written as base64 (what Loa's API
// publishes and `loa playlist pull` saves).
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("not a base64 ed25519 public key (32 bytes)")
	}
	return ed25519.PublicKey(raw), nil
}
