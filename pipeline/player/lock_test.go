package player

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestLockDir: a second player on the same folder is refused, naming the
// pid of the one holding it; once that one lets go, the folder can be
// taken again; a lock file a dead player left (its pid inside) does not
// stop the next one.
func TestLockDir(t *testing.T) {
	tests := []struct {
		name     string
		leftover string // a lock file's content left by an earlier run, "" for none
	}{
		{"fresh folder", ""},
		{"lock file of a player that died", "999999\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.leftover != "" {
				if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(tt.leftover), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			release, err := LockDir(dir)
			if err != nil {
				t.Fatalf("first player: %v", err)
			}
			// flock locks belong to the open file, so a second open in this
			// process is refused as another process would be.
			_, err = LockDir(dir)
			var le *LockedError
			if !errors.As(err, &le) || le.PID != os.Getpid() {
				t.Fatalf("second player: err %v; want a LockedError naming pid %d", err, os.Getpid())
			}
			if pipeline.ErrorCode(err) != pipeline.CodeConflict {
				t.Errorf("code %s, want a conflict (exit 3)", pipeline.ErrorCode(err))
			}
			if msg := err.Error(); !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, dir) {
				t.Errorf("message %q names neither the pid nor the folder", msg)
			}
			release()
			release2, err := LockDir(dir)
			if err != nil {
				t.Fatalf("after the first let go: %v", err)
			}
			release2()
		})
	}
}
