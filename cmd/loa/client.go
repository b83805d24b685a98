package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/pull"
)

// client talks to a Loa server's HTTP API.
type client struct {
	server string
	token  string
	http   *http.Client
}

func registerClient(fs *flag.FlagSet, env *cliEnv) *client {
	c := &client{http: &http.Client{}}
	fs.StringVar(&c.server, "server", envString(env, "LOA_SERVER", "http://127.0.0.1:8080"), "Loa server URL (LOA_SERVER)")
	fs.StringVar(&c.token, "token", env.getenv("LOA_TOKEN"), "API token (LOA_TOKEN)")
	return c
}

// do sends one request and decodes a JSON answer into out. Errors the
// server reports come back as *pipeline.Error with the server's code;
// a server that cannot be reached is CodeUnavailable.
func (c *client) do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	if c.token == "" {
		return pipeline.Errorf(pipeline.CodeUnauthorized, "No API token: pass --token or set LOA_TOKEN (an administrator makes one with 'loa token create --user NAME').")
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
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("Cannot reach the Loa server at %s: %v.", c.server, errors.Unwrap(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		var eb api.ErrorBody
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&eb); err != nil || eb.Error.Code == "" {
			code := pipeline.CodeInternal
			if resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway {
				code = pipeline.CodeUnavailable
			}
			return &pipeline.Error{Code: code, Message: fmt.Sprintf("The server answered %s.", resp.Status)}
		}
		return &pipeline.Error{Code: eb.Error.Code, Field: eb.Error.Field, Message: eb.Error.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
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

// upload streams a file to the server as multipart, reporting progress,
// and retries when the server cannot be reached or asks to retry later.
func (c *client) upload(ctx context.Context, req uploadRequest, progress io.Writer) (api.UploadResponse, error) {
	var res api.UploadResponse
	backoff := 2 * time.Second
	for attempt := 1; ; attempt++ {
		err := c.uploadOnce(ctx, req, progress, &res)
		if err == nil || pipeline.ErrorCode(err) != pipeline.CodeUnavailable || attempt == 5 || ctx.Err() != nil {
			return res, err
		}
		fmt.Fprintf(progress, "\n%s; retrying in %s (attempt %d of 5)\n", describe(err), backoff, attempt+1)
		select {
		case <-ctx.Done():
			return res, ctx.Err()
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
	var sent atomic.Int64
	go func() {
		pw.CloseWithError(writeUploadBody(mw, req, subs, &countingReader{r: f, n: &sent}, filepath.Base(req.path)))
	}()
	done := make(chan struct{})
	go showProgress(progress, &sent, st.Size(), done)
	err = c.do(ctx, http.MethodPost, "/api/segments", pr, mw.FormDataContentType(), out)
	close(done)
	pr.CloseWithError(io.ErrClosedPipe)
	return err
}

func writeUploadBody(mw *multipart.Writer, req uploadRequest, subs []byte, media io.Reader, name string) error {
	for _, kv := range req.fields {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
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

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// showProgress draws a one-line progress bar until done is closed.
func showProgress(w io.Writer, sent *atomic.Int64, total int64, done <-chan struct{}) {
	start := time.Now()
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	draw := func(final bool) {
		n := sent.Load()
		el := time.Since(start).Seconds()
		rate := float64(n) / max(el, 0.001)
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(n) / float64(total)
		}
		bar := strings.Repeat("#", int(pct/5)) + strings.Repeat(".", 20-int(pct/5))
		line := fmt.Sprintf("\rUploading [%s] %5.1f%% %s/%s %.1f MiB/s", bar, pct, mib(n), mib(total), rate/(1<<20))
		if n < total && rate > 0 {
			line += fmt.Sprintf(" %s left", time.Duration(float64(total-n)/rate*float64(time.Second)).Round(time.Second))
		} else if !final {
			line += " — checking the media on the server"
		}
		fmt.Fprint(w, line+"   ")
		if final {
			fmt.Fprintln(w)
		}
	}
	redrawUntil(done, t.C, draw)
}

func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

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
