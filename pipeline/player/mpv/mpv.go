// Package mpv runs one mpv process per item and watches it over mpv's
// JSON IPC socket. mpv's exit status is no proof of play (with a missing
// audio device it exits at once; a stalled mpv never exits), so a
// Process is ready only when its audio output is open, and playing only
// while its playback position advances.
package mpv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say what to play and where.
type Options struct {
	Binary string // default "mpv"
	File   string
	// Start is the offset into the file to start from.
	Start time.Duration
	// AO is mpv's audio output driver ("" for mpv's choice; "null" for
	// tests); Device its --audio-device (an ALSA or PulseAudio device,
	// e.g. "alsa/plughw:1,0"; "" for the default).
	AO     string
	Device string
	// SocketDir holds the IPC socket (default os.TempDir()).
	SocketDir string
	// Extra arguments, before the file.
	Extra []string
	// Spawner, when set, starts mpv so that it dies with this process.
	Spawner *Spawner
	// PidDir, when set, holds a pid file while mpv runs, so that the
	// next run kills an mpv this one left (KillLeftovers).
	PidDir string
}

// Process is one mpv playing one file, started paused.
type Process struct {
	cmd    *exec.Cmd
	conn   net.Conn
	sock   string
	output *tail
	wmu    sync.Mutex
	enc    *json.Encoder

	mu      sync.Mutex
	nextID  int64
	waiting map[int64]chan reply
	end     *EndFile // the end-file event, when it came
	exited  chan struct{}
	exitErr error
	done    chan struct{} // closed at end-file or exit
	once    sync.Once
}

// EndFile is how mpv said the file ended.
type EndFile struct {
	Reason    string `json:"reason"` // eof, stop, quit, error, redirect
	FileError string `json:"file_error"`
}

type reply struct {
	Error string          `json:"error"`
	Data  json.RawMessage `json:"data"`
}

type message struct {
	Event     string          `json:"event"`
	RequestID *int64          `json:"request_id"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
	Reason    string          `json:"reason"`
	FileError string          `json:"file_error"`
}

// Error is a failure to play, with mpv's last words.
type Error struct {
	What   string
	Output string // the end of mpv's output
}

func (e *Error) Error() string {
	if e.Output == "" {
		return e.What
	}
	return e.What + ": " + e.Output
}

// Start runs mpv paused on the file and waits until the file is loaded
// and its audio output is open, so that Play starts sound at once. It
// fails (with an *Error carrying mpv's output) when mpv exits first or
// the output does not open within ctx.
func Start(ctx context.Context, o Options) (*Process, error) {
	bin := o.Binary
	if bin == "" {
		bin = "mpv"
	}
	dir := o.SocketDir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, "mpv-*.sock")
	if err != nil {
		return nil, fmt.Errorf("mpv socket: %w", err)
	}
	sock := f.Name()
	f.Close()
	os.Remove(sock)
	args := []string{"--no-config", "--no-video", "--no-input-terminal", "--quiet", "--idle=no", "--keep-open=no",
		"--pause", "--input-ipc-server=" + sock, "--msg-level=all=warn"}
	if o.AO != "" {
		args = append(args, "--ao="+o.AO)
	}
	if o.Device != "" {
		args = append(args, "--audio-device="+o.Device)
	}
	if o.Start > 0 {
		args = append(args, "--start="+strconv.FormatFloat(o.Start.Seconds(), 'f', 3, 64))
	}
	args = append(args, o.Extra...)
	args = append(args, "--", o.File)
	p := &Process{sock: sock, output: &tail{max: 2000}, waiting: map[int64]chan reply{}, exited: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o.Spawner != nil {
		err = o.Spawner.start(p.cmd)
	} else {
		err = p.cmd.Start()
	}
	if err != nil {
		return nil, &Error{What: fmt.Sprintf("cannot run %s: %v", bin, err)}
	}
	var pidf string
	if o.PidDir != "" {
		pidf = pidFile(o.PidDir, p.cmd.Process.Pid)
		if err := os.WriteFile(pidf, []byte(sock+"\n"), 0o644); err != nil {
			p.Kill()
			p.cmd.Wait()
			return nil, &Error{What: fmt.Sprintf("cannot keep mpv's pid file: %v", err)}
		}
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		if pidf != "" {
			os.Remove(pidf)
		}
		close(p.exited)
		p.finish()
		os.Remove(sock)
	}()
	fail := func(what string) (*Process, error) {
		p.Kill()
		<-p.exited
		return nil, &Error{What: what, Output: p.output.String()}
	}
	// Connect as soon as mpv has made its socket.
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			p.conn = c
			break
		}
		select {
		case <-p.exited:
			return fail(fmt.Sprintf("mpv exited at once (%v)", p.exitErr))
		case <-ctx.Done():
			return fail("mpv did not open its control socket in time")
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.enc = json.NewEncoder(p.conn)
	go p.read()
	// Ready: the file loaded and the audio output open.
	for {
		var ao string
		if err := p.get(ctx, "current-ao", &ao); err == nil && ao != "" {
			return p, nil
		}
		select {
		case <-p.done:
			return fail("mpv could not open the file or the audio output")
		case <-ctx.Done():
			return fail("mpv's audio output did not open in time")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (p *Process) read() {
	sc := bufio.NewScanner(p.conn)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var m message
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch {
		case m.RequestID != nil && m.Event == "":
			p.mu.Lock()
			ch := p.waiting[*m.RequestID]
			delete(p.waiting, *m.RequestID)
			p.mu.Unlock()
			if ch != nil {
				ch <- reply{Error: m.Error, Data: m.Data}
			}
		case m.Event == "end-file":
			p.mu.Lock()
			p.end = &EndFile{Reason: m.Reason, FileError: m.FileError}
			p.mu.Unlock()
			p.finish()
		}
	}
	p.finish()
}

func (p *Process) finish() { p.once.Do(func() { close(p.done) }) }

// command sends one IPC command and waits for its reply.
func (p *Process) command(ctx context.Context, args ...any) (reply, error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan reply, 1)
	p.waiting[id] = ch
	p.mu.Unlock()
	p.wmu.Lock()
	err := p.enc.Encode(map[string]any{"command": args, "request_id": id})
	p.wmu.Unlock()
	if err != nil {
		return reply{}, fmt.Errorf("mpv ipc: %w", err)
	}
	select {
	case r := <-ch:
		if r.Error != "success" {
			return r, fmt.Errorf("mpv %v: %s", args, r.Error)
		}
		return r, nil
	case <-p.done:
		return reply{}, errors.New("mpv ended")
	case <-ctx.Done():
		return reply{}, ctx.Err()
	}
}

func (p *Process) get(ctx context.Context, name string, out any) error {
	r, err := p.command(ctx, "get_property", name)
	if err != nil {
		return err
	}
	return json.Unmarshal(r.Data, out)
}

// Play unpauses: sound starts. It returns when mpv has acknowledged.
func (p *Process) Play(ctx context.Context) error {
	_, err := p.command(ctx, "set_property", "pause", false)
	return err
}

// Seek moves to an absolute position in the file.
func (p *Process) Seek(ctx context.Context, pos time.Duration) error {
	_, err := p.command(ctx, "seek", pos.Seconds(), "absolute+exact")
	return err
}

// Position returns the playback position in the file.
func (p *Process) Position(ctx context.Context) (time.Duration, error) {
	var s float64
	if err := p.get(ctx, "time-pos", &s); err != nil {
		return 0, err
	}
	return time.Duration(s * float64(time.Second)), nil
}

// Done is closed when the file has ended or mpv has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// End returns how the file ended (nil when mpv exited without saying)
// and mpv's output.
func (p *Process) End() (*EndFile, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end, p.output.String()
}

// Stop asks mpv to quit, and kills it if it has not within a second.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	p.command(ctx, "quit")
	cancel()
	select {
	case <-p.exited:
	case <-time.After(time.Second):
		p.Kill()
		<-p.exited
	}
	if p.conn != nil {
		p.conn.Close()
	}
}

// Kill kills mpv at once (a stalled mpv does not quit when asked).
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	if p.conn != nil {
		p.conn.Close()
	}
}

// Pid is mpv's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the mpv process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(bytes.TrimSpace(t.b)), "\n")
	var keep []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "[ao/null]") && !strings.HasPrefix(l, "[ao] Trying") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 6 {
		keep = keep[len(keep)-6:]
	}
	return strings.Join(keep, "; ")
}

// Look finds the mpv binary, for a clear error at start-up.
func Look(bin string) (string, error) {
	if bin == "" {
		bin = "mpv"
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("%s not found: install mpv (apt-get install mpv) or pass --mpv PATH", bin)
	}
	return filepath.Clean(p), nil
}
