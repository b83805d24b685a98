package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

func itoa(n int) string { return strconv.Itoa(n) }

// userForm is the create-user form as typed, kept to show it again with
// the error next to the field at fault.
type userForm struct {
	Name, Role, Commune string
	Languages           []string
}

type usersData struct {
	Users     []pipeline.User
	Roles     []pipeline.Role
	Languages []string
	Form      userForm
	// Errors maps a field to its message.
	Errors map[string]string
	// Token is a token just made, shown once, and whose it is.
	Token, TokenUser string
	Notice           string
	// Tokens are the live tokens of every user (no secrets).
	Tokens []pipeline.TokenInfo
	// Reset names a user whose password was just set; ResetUser and
	// ResetError a refused reset and why.
	Reset, ResetUser, ResetError string
	// Pending are the segments whose wide emergency request waits for an
	// administrator's confirmation (on the segment's page).
	Pending []pipeline.Segment
}

func (s *Server) usersData(r *http.Request) (usersData, error) {
	d := usersData{Roles: pipeline.Roles, Languages: pipeline.KnownLanguages, Errors: map[string]string{}}
	if err := s.callAPI(r, "GET", "/api/users", nil, &d.Users); err != nil {
		return d, err
	}
	// Live tokens only: the API leaves revoked ones out unless asked.
	if err := s.callAPI(r, "GET", "/api/tokens", nil, &d.Tokens); err != nil {
		return d, err
	}
	if err := s.callAPI(r, "GET", "/api/segments?pending_emergency=1", nil, &d.Pending); err != nil {
		return d, err
	}
	return d, nil
}

// userAction disables, enables or signs a user out everywhere through the
// API (POST /api/users/{name}/ACTION) and goes back to the users page.
func (s *Server) userAction(action string) func(w http.ResponseWriter, r *http.Request, c *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := s.callAPI(r, "POST", "/api/users/"+url.PathEscape(r.PathValue("name"))+"/"+action, nil, nil); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
		return nil
	}
}

// revokeToken revokes a token by id through the API.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.callAPI(r, "DELETE", "/api/tokens/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	return nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := s.usersData(r)
	if err != nil {
		return err
	}
	d.Form.Role = string(pipeline.RoleProducer)
	if name := r.URL.Query().Get("created"); name != "" {
		d.Notice = name
	}
	d.Reset = r.URL.Query().Get("reset")
	s.render(w, r, c, http.StatusOK, "users", "title_users", d)
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	f := userForm{
		Name: strings.TrimSpace(r.PostForm.Get("name")), Role: r.PostForm.Get("role"),
		Commune: strings.TrimSpace(r.PostForm.Get("commune")), Languages: r.PostForm["languages"],
	}
	req := api.NewUserRequest{Name: f.Name, Role: pipeline.Role(f.Role), Password: r.PostForm.Get("password"), Languages: f.Languages, Commune: f.Commune}
	err := s.callAPI(r, "POST", "/api/users", req, nil)
	if err == nil {
		http.Redirect(w, r, "/admin/users?created="+url.QueryEscape(f.Name), http.StatusSeeOther)
		return nil
	}
	var pe *pipeline.Error
	if !asError(err, &pe) || (pe.Code != pipeline.CodeInvalid && pe.Code != pipeline.CodeConflict) {
		return err
	}
	d, lerr := s.usersData(r)
	if lerr != nil {
		return lerr
	}
	d.Form = f
	field := pe.Field
	if pe.Code == pipeline.CodeConflict {
		field = "name"
	}
	if field == "" {
		field = "form"
	}
	d.Errors[field] = fieldMessage(c, field, pe)
	s.render(w, r, c, statusOf(pe.Code), "users", "title_users", d)
	return nil
}

// fieldMessage is the text shown next to a field for an API refusal: the
// catalogue's text for the field in the page's language, with the API's
// own (English) explanation when the page is in English.
func fieldMessage(c *call, field string, pe *pipeline.Error) string {
	if c.lang == "en" {
		return pe.Message
	}
	if m := keyedMessage(c.msgs, pe); m != "" {
		return m
	}
	key := "fe_" + field
	if pe.Code == pipeline.CodeConflict {
		key = "fe_name_taken"
	}
	if m, ok := c.msgs[key]; ok {
		return m
	}
	return c.msgs["err_invalid"]
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	name := r.PathValue("name")
	var tr api.TokenResponse
	if err := s.callAPI(r, "POST", "/api/users/"+url.PathEscape(name)+"/tokens?label="+url.QueryEscape(r.PostForm.Get("label")), nil, &tr); err != nil {
		return err
	}
	d, err := s.usersData(r)
	if err != nil {
		return err
	}
	d.Form.Role = string(pipeline.RoleProducer)
	d.Token, d.TokenUser = tr.Token, name
	s.render(w, r, c, http.StatusCreated, "users", "title_users", d)
	return nil
}
