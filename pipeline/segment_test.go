package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMetaValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ok := func() Meta { return Meta{Title: " Một cửa ", Kind: KindRadio, Topic: "procedures"} }
	cases := []struct {
		name  string
		edit  func(*Meta)
		field string
	}{
		{"defaults", func(*Meta) {}, ""},
		{"empty title", func(m *Meta) { m.Title = "  " }, "title"},
		{"two-line title", func(m *Meta) { m.Title = "a\nb" }, "title"},
		{"long title", func(m *Meta) { m.Title = strings.Repeat("ễ", MaxTitleLen+1) }, "title"},
		{"bad utf-8 title", func(m *Meta) { m.Title = "C\xe1i" }, "title"},
		{"tab in title", func(m *Meta) { m.Title = "Tin B\ttab" }, "title"},
		{"right-to-left override in title", func(m *Meta) { m.Title = "Tin B\u202ertl" }, "title"},
		{"zero-width space in title", func(m *Meta) { m.Title = "Một\u200b cửa" }, "title"},
		{"title typed with combining marks", func(m *Meta) { m.Title = " Mo\u0323\u0302t cu\u031b\u0309a" }, ""},
		{"no kind", func(m *Meta) { m.Kind = "" }, "kind"},
		{"bad kind", func(m *Meta) { m.Kind = "podcast" }, "kind"},
		{"no topic", func(m *Meta) { m.Topic = "" }, "topic"},
		{"bad priority", func(m *Meta) { m.Priority = "high" }, "priority"},
		{"window backwards", func(m *Meta) { m.AirFrom = now.Add(time.Hour); m.AirUntil = now }, "air_until"},
		{"window over", func(m *Meta) { m.AirFrom = now.Add(-72 * time.Hour); m.AirUntil = now.Add(-time.Hour) }, "air_until"},
		{"window ends now", func(m *Meta) { m.AirFrom = now.Add(-72 * time.Hour); m.AirUntil = now }, "air_until"},
		{"window began, not over", func(m *Meta) { m.AirFrom = now.Add(-72 * time.Hour); m.AirUntil = now.Add(time.Minute) }, ""},
		{"bad language", func(m *Meta) { m.Languages = []string{"vi", "th"} }, "languages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := ok()
			c.edit(&m)
			err := m.Validate(now)
			var e *Error
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.Title != "Một cửa" || m.Priority != PriorityNormal || len(m.Languages) != 3 || (c.name == "defaults" && !m.AirFrom.Equal(now)) || !m.AirUntil.After(now) {
					t.Fatalf("defaults not filled: %+v", m)
				}
				return
			}
			if !errors.As(err, &e) || e.Field != c.field || e.Code != CodeInvalid {
				t.Fatalf("got %v, want an invalid-%s error", err, c.field)
			}
		})
	}
}

func TestNewUserValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		u     NewUser
		field string
	}{
		{NewUser{Name: "admin", Role: RoleAdmin, Password: "mat-khau-dai-du"}, ""},
		{NewUser{Name: "lo van a", Role: RoleAdmin, Password: "mat-khau-dai-du"}, "name"},
		{NewUser{Name: "prod\u2010b", Role: RoleAdmin, Password: "mat-khau-dai-du"}, "name"},
		{NewUser{Name: "x%2Fy", Role: RoleAdmin, Password: "mat-khau-dai-du"}, "name"},
		{NewUser{Name: `x\y`, Role: RoleAdmin, Password: "mat-khau-dai-du"}, "name"},
		{NewUser{Name: "x?y", Role: RoleAdmin, Password: "mat-khau-dai-du"}, "name"},
		{NewUser{Name: "Lò-Văn-A", Role: RoleAdmin, Password: "mat-khau-dai-du"}, ""},
		{NewUser{Name: "a", Role: "root", Password: "mat-khau-dai-du"}, "role"},
		{NewUser{Name: "a", Role: RoleAdmin, Password: "short"}, "password"},
		{NewUser{Name: "a", Role: RoleTranslator, Password: "mat-khau-dai-du"}, "languages"},
		{NewUser{Name: "a", Role: RoleTranslator, Password: "mat-khau-dai-du", Languages: []string{"en"}}, "languages"},
		{NewUser{Name: "a", Role: RoleOperator, Password: "mat-khau-dai-du"}, "commune"},
		{NewUser{Name: "a", Role: RoleOperator, Password: "mat-khau-dai-du", Commune: "Suối Tọ"}, ""},
	}
	for _, c := range cases {
		err := c.u.Validate()
		var e *Error
		if c.field == "" && err != nil || c.field != "" && (!errors.As(err, &e) || e.Field != c.field) {
			t.Errorf("%+v: got %v, want field %q", c.u, err, c.field)
		}
	}
}

func TestTokens(t *testing.T) {
	t.Parallel()
	a, ha, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := NewToken()
	if a == b || !strings.HasPrefix(a, "loa_") || HashToken(a) != ha || ha == a {
		t.Fatalf("tokens %q %q hash %q", a, b, ha)
	}
}

func TestCleanFileName(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"../../etc/passwd":       "passwd",
		`C:\Users\a\bản tin.mp3`: "bản tin.mp3",
		"a\nb\x00c.mp3":          "abc.mp3",
		"bad\xffname.wav":        "badname.wav",
		strings.Repeat("x", 300): strings.Repeat("x", 120),
	}
	for in, want := range cases {
		if got := cleanFileName(in); got != want {
			t.Errorf("cleanFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
