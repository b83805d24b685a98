package player

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sonla-cchc/loa/pipeline"
)

// LockFile is the file in the player's folder that one running player
// holds an exclusive lock on (flock), with its pid written in it.
const LockFile = "player.lock"

// LockedError says the folder is another running player's.
type LockedError struct {
	Dir string
	PID int // 0 when the holder's pid could not be read
}

func (e *LockedError) Error() string {
	who := "another loa player"
	stop := "stop it first"
	if e.PID > 0 {
		who += " (pid " + strconv.Itoa(e.PID) + ")"
		stop += " (systemctl stop loa-player, or kill " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("%s already plays from %s: two players on one folder would close each other's plays and both drive the loudspeakers; %s, or give this one another --dir",
		who, e.Dir, stop)
}

// Unwrap gives the refusal its code (a conflict: `loa player` exits 3).
func (e *LockedError) Unwrap() error { return pipeline.Errorf(pipeline.CodeConflict, "%s", e.Error()) }

// LockDir takes the exclusive lock on dir's LockFile for this process
// and writes its pid there; it fails with a *LockedError when another
// process holds it. The lock goes with the process (a kill -9 or a
// power cut leaves no stale lock); release gives it up earlier.
func LockDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the player's lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			data, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write the pid to %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
