package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/wire"
)

// recorder is an in-memory http.ResponseWriter for calling the API in
// process.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(code int) {
	if rec.code == 0 {
		rec.code = code
	}
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return rec.body.Write(p)
}

// callAPI calls Loa's HTTP API in process as the page's user: the request
// carries the browser's session cookie, so the API applies the same roles
// and visibility as for any other client. body, when not nil, is sent as
// JSON; out, when not nil, receives the JSON answer. An API error comes
// back as a *pipeline.Error with its code, message and field.
func (s *Server) callAPI(r *http.Request, method, target string, body, out any) error {
	if body == nil {
		return s.callAPIBody(r, method, target, nil, "", out)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("api %s %s: encode: %w", method, target, err)
	}
	return s.callAPIBody(r, method, target, bytes.NewReader(data), "application/json", out)
}

// callAPIBody is callAPI with a raw body of the given content type (a
// file streamed from a form: a subtitle, a voice-over, a CSV); body may
// be nil.
func (s *Server) callAPIBody(r *http.Request, method, target string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(r.Context(), method, target, body)
	if err != nil {
		return fmt.Errorf("api %s %s: %w", method, target, err)
	}
	req.Host = r.Host
	req.RemoteAddr = r.RemoteAddr
	if ck, err := r.Cookie(sessionCookie); err == nil {
		req.AddCookie(ck)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := &recorder{header: http.Header{}}
	s.cfg.API.ServeHTTP(rec, req)
	if rec.code >= 400 {
		var eb wire.ErrorBody
		if err := json.Unmarshal(rec.body.Bytes(), &eb); err != nil || eb.Error.Code == "" {
			return fmt.Errorf("api %s %s: status %d: %s", method, target, rec.code, rec.body.String())
		}
		return &pipeline.Error{Code: eb.Error.Code, Message: eb.Error.Message, Field: eb.Error.Field, Findings: eb.Error.Findings,
			Key: eb.Error.Key, Args: eb.Error.Args}
	}
	if out != nil {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("api %s %s: decode answer: %w", method, target, err)
		}
	}
	return nil
}

// asError finds the *pipeline.Error in err's chain.
func asError(err error, target **pipeline.Error) bool { return errors.As(err, target) }
