package sqlstore

import (
	"context"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestLastAdminStaysEnabled: the last administrator who is not disabled
// cannot be disabled, from the command line (no actor) or by anyone else;
// with a second one, either can be.
func TestLastAdminStaysEnabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	add := func(name string) pipeline.User {
		t.Helper()
		u, err := db.CreateUser(ctx, pipeline.NewUser{Name: name, Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	first := add("quan-tri")
	if _, err := db.SetUserDisabled(ctx, first.Name, true, pipeline.Actor{}); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("disabling the only administrator: %v, want a conflict", err)
	}
	second := add("quan-tri-2")
	if _, err := db.SetUserDisabled(ctx, first.Name, true, pipeline.Actor{ID: second.ID}); err != nil {
		t.Fatalf("disabling one of two administrators: %v", err)
	}
	if _, err := db.SetUserDisabled(ctx, second.Name, true, pipeline.Actor{}); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("disabling the last enabled administrator: %v, want a conflict", err)
	}
	if _, err := db.SetUserDisabled(ctx, first.Name, false, pipeline.Actor{}); err != nil {
		t.Fatalf("enabling an administrator again: %v", err)
	}
}
