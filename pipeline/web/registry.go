package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
	"github.com/sonla-cchc/loa/pipeline/translation"
	"github.com/sonla-cchc/loa/pipeline/wire"
	"github.com/sonla-cchc/loa/schedules"
)

// The admin's registry and glossary pages: communes with their clusters
// and slots (list, one commune, import of the YAML or CSV registry), and
// the glossary of each translation language (list, CSV export, import).

type communesData struct {
	Communes []pipeline.CommuneSummary
	// Key is the key that signs the communes' bundles, to pin on devices
	// out of band (nil when this server signs none).
	Key      *wire.SigningKey
	Imported *schedules.ImportResult
	// AllowRemovals is the import form's box, ticked (a dry run says
	// whether the import would be refused as sent).
	AllowRemovals bool
	Error         string
	Detail        string
	// Devices are every commune's players; HasDevices is false when the
	// server keeps no heartbeats.
	Devices    []devRow
	HasDevices bool
}

// maxFormFile is the largest registry or glossary file a form takes.
const maxFormFile = 8 << 20

func (s *Server) communesPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.showCommunes(w, r, c, http.StatusOK, communesData{})
}

func (s *Server) showCommunes(w http.ResponseWriter, r *http.Request, c *call, status int, d communesData) error {
	if err := s.callAPI(r, "GET", "/api/communes", nil, &d.Communes); err != nil {
		return err
	}
	var err error
	if d.Devices, d.HasDevices, err = s.devices(r, "/api/devices"); err != nil {
		return err
	}
	var key wire.SigningKey
	switch err := s.callAPI(r, "GET", "/api/signing-key", nil, &key); {
	case err == nil:
		d.Key = &key
	case pipeline.ErrorCode(err) != pipeline.CodeUnavailable:
		return err
	}
	s.render(w, r, c, status, "communes", "title_communes", d)
	return nil
}

// declaredTooLarge refuses a form whose Content-Length is over limit
// before a byte of it is read: 413 naming shown (the file's limit) in
// the page's language, and the connection closed instead of drained.
func declaredTooLarge(w http.ResponseWriter, r *http.Request, field string, limit, shown int64) error {
	if r.ContentLength <= limit {
		return nil
	}
	w.Header().Set("Connection", "close")
	size := pipeline.SizeText(shown)
	return (&pipeline.Error{Code: pipeline.CodeTooLarge, Field: field,
		Message: fmt.Sprintf("The file is over the %s limit: choose a smaller file.", size)}).WithKey("form_too_large", size)
}

// formFileRefusal is the status and message a form page shows for
// formFile's error: 413 with the limit for a file announced too large,
// otherwise 422 asking for the file.
func formFileRefusal(c *call, err error) (int, string) {
	if pipeline.ErrorCode(err) == pipeline.CodeTooLarge {
		return http.StatusRequestEntityTooLarge, keyedMessage(c.msgs, err)
	}
	return http.StatusUnprocessableEntity, c.msgs["reg_need_file"]
}

// formFile reads the one file of a small multipart form.
func formFile(w http.ResponseWriter, r *http.Request, field string) (name string, data []byte, form map[string]string, err error) {
	if err := declaredTooLarge(w, r, field, maxFormFile+64<<10, maxFormFile); err != nil {
		return "", nil, nil, err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormFile+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return "", nil, nil, refused("file_missing", field, "Choose a file.")
	}
	form = map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, nil, refused("file_cut_8", field, "The upload was cut short (at most 8 MiB): send the file again.")
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormFile+1))
		part.Close()
		if err != nil {
			return "", nil, nil, refused("upload_cut", field, "The upload was cut short: send the file again.")
		}
		if part.FormName() == field {
			name, data = part.FileName(), b
		} else if len(b) < 1024 {
			form[part.FormName()] = string(b)
		}
	}
	if name == "" || len(data) == 0 {
		return "", nil, form, refused("file_missing", field, "Choose a file.")
	}
	if len(data) > maxFormFile {
		return "", nil, form, refused("file_over_8", field, "The file is over 8 MiB.")
	}
	return name, data, form, nil
}

// importCommunes sends a registry file (YAML or CSV) to the API.
func (s *Server) importCommunes(w http.ResponseWriter, r *http.Request, c *call) error {
	name, data, form, err := formFile(w, r, "file")
	if err != nil {
		status, msg := formFileRefusal(c, err)
		return s.showCommunes(w, r, c, status, communesData{Error: msg})
	}
	ext := strings.ToLower(path.Ext(name))
	if ext != ".yaml" && ext != ".yml" && ext != ".csv" {
		return s.showCommunes(w, r, c, http.StatusUnprocessableEntity, communesData{Error: c.msgs["reg_bad_type"]})
	}
	target := "/api/communes/import?name=" + url.QueryEscape("registry"+ext)
	if form["allow_removals"] == "yes" {
		target += "&allow_removals=1"
	}
	if form["dry_run"] == "yes" {
		target += "&dry_run=1"
	}
	var res schedules.ImportResult
	if err := s.callAPIBody(r, "POST", target, strings.NewReader(string(data)), "", &res); err != nil {
		if pipeline.ErrorCode(err) != pipeline.CodeInvalid {
			return err
		}
		msg, detail := refusalText(c, err)
		return s.showCommunes(w, r, c, http.StatusUnprocessableEntity, communesData{Error: msg, Detail: detail})
	}
	return s.showCommunes(w, r, c, http.StatusOK, communesData{Imported: &res, AllowRemovals: form["allow_removals"] == "yes"})
}

func (s *Server) communePage(w http.ResponseWriter, r *http.Request, c *call) error {
	var v api.CommuneView
	if err := s.callAPI(r, "GET", "/api/communes/"+url.PathEscape(r.PathValue("code")), nil, &v); err != nil {
		return err
	}
	s.render(w, r, c, http.StatusOK, "commune", fmt.Sprintf(c.msgs["title_commune"], v.Name), v)
	return nil
}

type glossaryData struct {
	Lang, LangName string
	Languages      []string
	Terms          []translation.Term
	Imported       *api.GlossaryImport
	Error, Detail  string
	CanImport      bool
}

// glossaryLang is the glossary language a request asks for: Thái unless
// it names Mông.
func glossaryLang(r *http.Request, form map[string]string) string {
	l := r.URL.Query().Get("lang")
	if form != nil && form["lang"] != "" {
		l = form["lang"]
	}
	if l != pipeline.LangHmong {
		l = pipeline.LangThai
	}
	return l
}

func (s *Server) glossaryPage(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.showGlossary(w, r, c, http.StatusOK, glossaryData{Lang: glossaryLang(r, nil)})
}

func (s *Server) showGlossary(w http.ResponseWriter, r *http.Request, c *call, status int, d glossaryData) error {
	d.Languages = []string{pipeline.LangThai, pipeline.LangHmong}
	if c.user.Role != pipeline.RoleAdmin {
		d.Languages = slices.DeleteFunc(slices.Clone(c.user.Languages), func(l string) bool {
			return l != pipeline.LangThai && l != pipeline.LangHmong
		})
	}
	if !slices.Contains(d.Languages, d.Lang) {
		if len(d.Languages) == 0 {
			return pipeline.Errorf(pipeline.CodeNotFound, "None of your languages has a glossary.")
		}
		d.Lang = d.Languages[0]
	}
	d.LangName = c.msgs["lang_"+d.Lang]
	d.CanImport = c.user.Role == pipeline.RoleAdmin
	if err := s.callAPI(r, "GET", "/api/glossary/"+d.Lang, nil, &d.Terms); err != nil {
		return err
	}
	if r.Method != http.MethodGet {
		r = r.Clone(r.Context())
		r.URL = &url.URL{Path: "/glossary", RawQuery: "lang=" + d.Lang}
	}
	s.render(w, r, c, status, "glossary", "title_glossary", d)
	return nil
}

// importGlossary sends a CSV glossary (term,translation[,note]) to the
// API; "replace" removes the terms the file does not list.
func (s *Server) importGlossary(w http.ResponseWriter, r *http.Request, c *call) error {
	_, data, form, err := formFile(w, r, "file")
	lang := glossaryLang(r, form)
	if err != nil {
		status, msg := formFileRefusal(c, err)
		return s.showGlossary(w, r, c, status, glossaryData{Lang: lang, Error: msg})
	}
	target := "/api/glossary/" + lang
	if form["replace"] == "yes" {
		target += "?replace=1"
	}
	var res api.GlossaryImport
	if err := s.callAPIBody(r, "PUT", target, strings.NewReader(string(data)), "text/csv; charset=utf-8", &res); err != nil {
		if pipeline.ErrorCode(err) != pipeline.CodeInvalid {
			return err
		}
		msg, detail := refusalText(c, err)
		return s.showGlossary(w, r, c, http.StatusUnprocessableEntity, glossaryData{Lang: lang, Error: msg, Detail: detail})
	}
	return s.showGlossary(w, r, c, http.StatusOK, glossaryData{Lang: lang, Imported: &res})
}
