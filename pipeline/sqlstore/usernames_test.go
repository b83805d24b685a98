package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestLookAlikeUserNames: a new user whose name differs from another's
// only by case or diacritics is refused naming the other; one with a
// character that imitates another (a Unicode hyphen, a zero-width space)
// is refused naming the character; a name stored before these rules
// still signs in and still blocks its look-alikes.
func TestLookAlikeUserNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	for _, name := range []string{"dich-thai", "prod-b", "admin"} {
		if _, err := db.CreateUser(ctx, pipeline.NewUser{Name: name, Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"}); err != nil {
			t.Fatal(err)
		}
	}
	// As a database from before the rules may hold it: U+2010 in the name.
	hash, err := pipeline.HashPassword("mat-khau-cu-123", 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users (name, role, password_hash, languages, commune, created_at, created_actor)
		VALUES (?, 'producer', ?, '', '', ?, '')`, "Cũ\u2010một", hash, db.Now()); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		code pipeline.Code
		want string
	}{
		{"Dịch-Thái", pipeline.CodeConflict, `A user named "dich-thai" already exists, which "Dịch-Thái" would be confused with (names differ by more than upper and lower case and diacritics)`},
		{"DICH-THAI", pipeline.CodeConflict, `"dich-thai" already exists`},
		{"đich-thai", pipeline.CodeConflict, `"dich-thai" already exists`},
		{"dich-thai", pipeline.CodeConflict, `A user named "dich-thai" already exists: to set their password`},
		{"prod\u2010b", pipeline.CodeInvalid, `"prod‐b" has U+2010 HYPHEN at character 5`},
		{"ad\u200bmin", pipeline.CodeInvalid, "U+200B ZERO WIDTH SPACE at character 3"},
		{"x\u202eevil", pipeline.CodeInvalid, "U+202E RIGHT-TO-LEFT OVERRIDE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.CreateUser(ctx, pipeline.NewUser{Name: c.name, Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
			if pipeline.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%q: %v, want %s saying %q", c.name, err, c.code, c.want)
			}
		})
	}
	users, err := db.Users(ctx)
	if err != nil || len(users) != 4 {
		t.Fatalf("users after the refusals: %d (%v), want 4", len(users), err)
	}
	// The stored look-alike signs in by its own name.
	if u, err := db.Authenticate(ctx, "Cũ\u2010một", "mat-khau-cu-123"); err != nil || u.Name != "Cũ\u2010một" {
		t.Fatalf("a name stored before the rules: %+v %v", u, err)
	}
	// A name in the rules that reads like the stored one is refused,
	// naming it.
	for _, name := range []string{"Cũ-một", "cu-mot"} {
		if _, err := db.CreateUser(ctx, pipeline.NewUser{Name: name, Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"}); pipeline.ErrorCode(err) != pipeline.CodeConflict ||
			!strings.Contains(err.Error(), `A user named "Cũ‐một" already exists, which "`+name+`" would be confused with`) {
			t.Fatalf("%q beside the stored Cũ‐một: %v, want a conflict naming it", name, err)
		}
	}
}
