package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/pull"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// client talks to a Loa server's HTTP API.
type client struct {
	server string
	token  string
	http   *http.Client
	// timeout bounds one API call (connect, request, whole answer);
	// downloads of media are bounded by the transport's header timeout
	// and a stall timer instead, since a large file may take long.
	timeout time.Duration
}

// maxAnswerBytes bounds a JSON answer read from the server (a bundle index
// with its inline playlists is the largest).
const maxAnswerBytes = 4 * schedules.MaxManifestBytes

func registerClient(fs *flag.FlagSet, env *cliEnv) *client {
	c := &client{http: &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
	}}}
	urlFlag(fs, &c.server, "server", "http://127.0.0.1:8080", "Loa server URL (LOA_SERVER)")
	fs.StringVar(&c.token, "token", "", "API token (LOA_TOKEN)")
	durationFlag(fs, &c.timeout, "timeout", 2*time.Minute, "longest one API call may take (LOA_HTTP_TIMEOUT); media downloads resume instead")
	return c
}

// do sends one request and decodes a JSON answer into out. Errors the
// server reports come back as *pipeline.Error with the server's code;
// a server that cannot be reached is CodeUnavailable.
func (c *client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	if c.token == "" {
		return pipeline.Errorf(pipeline.CodeUnauthorized, "No API token: pass --token or set LOA_TOKEN (an administrator makes one with 'loa token create --user NAME').")
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
				Message: fmt.Sprintf("The Loa server at %s did not answer %s %s within %s (--timeout); try again later.", c.server, method, path, c.timeout)}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("Cannot reach the Loa server at %s: %v.", c.server, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var eb wire.ErrorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb); err != nil || eb.Error.Code == "" {
			code := pipeline.CodeInternal
			if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway {
				code = pipeline.CodeUnavailable
			}
			return &pipeline.Error{Code: code, Message: fmt.Sprintf("The server answered %s.", resp.Status)}
		}
		return &pipeline.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message, Findings: eb.Error.Findings,
			Key: eb.Error.Key, Args: eb.Error.Args}
	}
	if out == nil {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("The answer to %s %s was cut short: %v; try again later.", method, path, err)}
	}
	if len(data) > maxAnswerBytes {
		return pipeline.Errorf(pipeline.CodeInvalid, "The answer to %s %s is over %d MiB, far more than Loa sends: refused (is LOA_SERVER the Loa server?).", method, path, maxAnswerBytes>>20)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return nil
}

// uploadRequest is one upload to send.
type uploadRequest struct {
	path      string
	fields    [][2]string
	subtitles string // path of the subtitle file, or empty
}

// upload streams a file to the server as multipart, drawing a progress
// bar on progress (see progressTo), and retries when the server cannot be
// reached or asks to retry later, saying so on notes.
func (c *client) upload(ctx context.Context, req uploadRequest, progress, notes io.Writer) (api.UploadResponse, error) {
	var res api.UploadResponse
	err := retryUnavailable(ctx, notes, func() error { return c.uploadOnce(ctx, req, progress, &res) })
	return res, err
}

// retryUnavailable runs once up to 5 times while it fails with
// CodeUnavailable (the server cannot be reached, or its store or database
// is down for now), waiting 2, 4, 8 and 16 s between attempts and saying
// so on notes. Any other outcome, or ctx ending, is returned at once.
func retryUnavailable(ctx context.Context, notes io.Writer, once func() error) error {
	backoff := 2 * time.Second
	for attempt := 1; ; attempt++ {
		err := once()
		if err == nil || pipeline.ErrorCode(err) != pipeline.CodeUnavailable || attempt == 5 || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(notes, "%s; retrying in %s (attempt %d of 5)\n", describe(err), backoff, attempt+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

func (c *client) uploadOnce(ctx context.Context, req uploadRequest, progress io.Writer, out *api.UploadResponse) error {
	f, err := os.Open(req.path)
	if err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "Cannot open %s: %v.", req.path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", req.path, err)
	}
	var subs []byte
	if req.subtitles != "" {
		if subs, err = os.ReadFile(req.subtitles); err != nil {
			return pipeline.Errorf(pipeline.CodeInvalid, "Cannot read the subtitle file %s: %v.", req.subtitles, err)
		}
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	bar := newBar(progress, "Uploading "+filepath.Base(req.path), st.Size())
	written := make(chan struct{})
	go func() {
		defer close(written)
		var size int64 // declared only for a regular file: a pipe's length is not known
		if st.Mode().IsRegular() {
			size = st.Size()
		}
		err := writeUploadBody(mw, req, subs, &barReader{r: f, bar: bar}, filepath.Base(req.path), size)
		endBar(bar, progress, err == nil)
		if err == nil {
			fmt.Fprintln(progress, "Sent; the server is checking the media…")
		}
		pw.CloseWithError(err)
	}()
	err = c.do(ctx, http.MethodPost, "/api/segments", pr, mw.FormDataContentType(), out)
	pr.CloseWithError(io.ErrClosedPipe) // stops the writer if the server answered early
	<-written
	return err
}

// writeUploadBody writes an upload's parts: the fields, the subtitles, the
// media's size in bytes when known (size > 0; the server then stores the
// media in one request) and the media.
func writeUploadBody(mw *multipart.Writer, req uploadRequest, subs []byte, media io.Reader, name string, size int64) error {
	for _, kv := range req.fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if size > 0 {
		if err := mw.WriteField("size", strconv.FormatInt(size, 10)); err != nil {
			return err
		}
	}
	if subs != nil {
		w, err := mw.CreateFormFile("subtitles", filepath.Base(req.subtitles))
		if err != nil {
			return err
		}
		if _, err := w.Write(subs); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, name))
	h.Set("Content-Type", contentTypeFor(name))
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, media); err != nil {
		return err
	}
	return mw.Close()
}

func contentTypeFor(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".mp3":
		return "audio/mpeg"
	case ".wav":
		return "audio/wav"
	case ".m4a":
		return "audio/mp4"
	case ".ogg", ".opus":
		return "audio/ogg"
	case ".mp4", ".m4v":
		return "video/mp4"
	case ".mov":
		return "video/quicktime"
	case ".mkv":
		return "video/x-matroska"
	case ".webm":
		return "video/webm"
	}
	return "application/octet-stream"
}

// size prints a byte count in IEC units with a unit that keeps it
// readable: "930 B", "1.2 MiB", "2.0 GiB" (a small file is not "0.0 MiB").
func size(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// redrawUntil calls draw on every tick until done is closed, then once
// more with final set, for one-line progress bars.
func redrawUntil(done <-chan struct{}, tick <-chan time.Time, draw func(final bool)) {
	for {
		select {
		case <-done:
			draw(true)
			return
		case <-tick:
			draw(false)
		}
	}
}

// puller is the client as the bundle puller's.
func (c *client) puller() *pull.Client {
	return &pull.Client{Server: c.server, Token: c.token, HTTP: c.http}
}
