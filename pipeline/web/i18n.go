package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// catalog holds every text of the pages, per language: messages/vi.json
// and messages/en.json, flat maps from a key to a text. Texts with
// arguments use fmt verbs. Keys starting with js_ or fm_ (a finding's
// text, subtitle.Finding.Key) are also handed to the
// pages' scripts.
type catalog map[string]map[string]string

// pageLanguages are the page languages, the default first.
func pageLanguages() []string { return []string{"vi", "en"} }

// loadCatalog reads the catalogue and checks that every language has the
// same keys, so a text missing in one language is caught at start-up.
func loadCatalog(fsys fs.FS) (catalog, error) {
	cat := catalog{}
	for _, lang := range pageLanguages() {
		data, err := fs.ReadFile(fsys, "messages/"+lang+".json")
		if err != nil {
			return nil, fmt.Errorf("web: read catalogue %s: %w", lang, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
		cat[lang] = m
	}
	def := cat[pageLanguages()[0]]
	for _, lang := range pageLanguages()[1:] {
		var missing []string
		for k := range def {
			if _, ok := cat[lang][k]; !ok {
				missing = append(missing, lang+":"+k)
			}
		}
		for k := range cat[lang] {
			if _, ok := def[k]; !ok {
				missing = append(missing, pageLanguages()[0]+":"+k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, fmt.Errorf("web: catalogue keys missing: %s", strings.Join(missing, ", "))
		}
	}
	return cat, nil
}

// langCookie keeps the chosen page language.
const langCookie = "loa_lang"

// langOf is the request's page language: the cookie's, else Vietnamese.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(pageLanguages(), c.Value) {
		return c.Value
	}
	return pageLanguages()[0]
}

func otherLang(lang string) string {
	if lang == "vi" {
		return "en"
	}
	return "vi"
}

// switchLang sets the language cookie and goes back to the page the user
// was on. It changes only a display preference, so a link (GET) is fine.
func (s *Server) switchLang(w http.ResponseWriter, r *http.Request, c *call) error {
	lang := r.PathValue("lang")
	if !slices.Contains(pageLanguages(), lang) {
		lang = pageLanguages()[0]
	}
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteLaxMode, Secure: s.secure(r), HttpOnly: true,
	})
	http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/"), http.StatusSeeOther)
	return nil
}

// localPath returns p when it is a path on this site, else def, so a
// "next" parameter cannot send the user to another site. A backslash or
// a control character anywhere is refused (browsers read a backslash as
// a slash, and http.Redirect cleans "/./\x" into "/\x", which they
// read as "//x"), and so is a path that decodes to one starting "//".
func localPath(p, def string) string {
	if !strings.HasPrefix(p, "/") || strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return def
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || strings.HasPrefix(u.Path, "//") {
		return def
	}
	return p
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
