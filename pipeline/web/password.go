package web

import (
	"net/http"
	"net/url"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/api"
)

// accountData is what the account page shows besides the user.
type accountData struct {
	// Changed is true after the user changed their password.
	Changed bool
	// Errors maps a field of the password form (current, new, again,
	// form) to its message.
	Errors map[string]string
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, c *call) error {
	d := accountData{Changed: r.URL.Query().Get("password") == "changed", Errors: map[string]string{}}
	s.render(w, r, c, http.StatusOK, "account", "title_account", d)
	return nil
}

// changePassword changes the signed-in user's password through the API
// (POST /api/me/password, which keeps this session and ends the others);
// a refusal shows the account page again with the message next to the
// field at fault.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	d := accountData{Errors: map[string]string{}}
	current, newPassword := r.PostForm.Get("current"), r.PostForm.Get("new")
	if newPassword != r.PostForm.Get("again") {
		d.Errors["again"] = c.msgs["password_mismatch"]
		s.render(w, r, c, http.StatusUnprocessableEntity, "account", "title_account", d)
		return nil
	}
	err := s.callAPI(r, "POST", "/api/me/password", api.PasswordChangeRequest{Current: current, New: newPassword}, nil)
	if err == nil {
		http.Redirect(w, r, "/account?password=changed", http.StatusSeeOther)
		return nil
	}
	pe, field := formRefusal(err)
	if pe == nil {
		return err
	}
	d.Errors[field] = refusalMessage(c, pe)
	s.render(w, r, c, statusOf(pe.Code), "account", "title_account", d)
	return nil
}

// resetPassword sets another user's password through the API (POST
// /api/users/{name}/password) and goes back to the users page saying so;
// a refusal shows the users page with the message by that user's form.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, c *call) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return refused("form_unreadable", "", "The form could not be read.")
	}
	name := r.PathValue("name")
	err := s.callAPI(r, "POST", "/api/users/"+url.PathEscape(name)+"/password", api.PasswordResetRequest{Password: r.PostForm.Get("password")}, nil)
	if err == nil {
		http.Redirect(w, r, "/admin/users?reset="+url.QueryEscape(name), http.StatusSeeOther)
		return nil
	}
	pe, _ := formRefusal(err)
	if pe == nil {
		return err
	}
	d, lerr := s.usersData(r)
	if lerr != nil {
		return lerr
	}
	d.Form.Role = string(pipeline.RoleProducer)
	d.ResetUser, d.ResetError = name, refusalMessage(c, pe)
	s.render(w, r, c, statusOf(pe.Code), "users", "title_users", d)
	return nil
}

// formRefusal is err as a refusal a password form shows inline (bad
// input, too many tries) and the field at fault ("form" for none); nil
// for any other error, which gets the error page.
func formRefusal(err error) (*pipeline.Error, string) {
	var pe *pipeline.Error
	if !asError(err, &pe) || (pe.Code != pipeline.CodeInvalid && pe.Code != pipeline.CodeRateLimited) {
		return nil, ""
	}
	if pe.Field == "" {
		return pe, "form"
	}
	return pe, pe.Field
}

// refusalMessage is pe's text in the page's language: its catalogue text
// when it names one (Key), else the API's own (English) words on an
// English page or the code's general sentence.
func refusalMessage(c *call, pe *pipeline.Error) string {
	if m := keyedMessage(c.msgs, pe); m != "" {
		return m
	}
	if c.lang == "en" {
		return pe.Message
	}
	if m, ok := c.msgs["err_"+string(pe.Code)]; ok {
		return m
	}
	return c.msgs["err_invalid"]
}
