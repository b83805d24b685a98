package sqlstore

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestPasswordCost checks the bcrypt cost of stored hashes: a store as
// Open returns it hashes at pipeline.DefaultPasswordCost (10), a store
// given a PasswordCost hashes at that, and both sign in.
func TestPasswordCost(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  int
		want int
	}{
		{"as opened", 0, pipeline.DefaultPasswordCost},
		{"lowered", bcrypt.MinCost, bcrypt.MinCost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := setup(t)
			db.PasswordCost = tc.set // setup's is the lowest; 0 is the store's own default
			u, err := db.CreateUser(ctx, pipeline.NewUser{Name: "bien-tap", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
			if err != nil {
				t.Fatal(err)
			}
			var hash string
			if err := db.sql.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", u.ID).Scan(&hash); err != nil {
				t.Fatal(err)
			}
			if got, err := bcrypt.Cost([]byte(hash)); err != nil || got != tc.want {
				t.Errorf("stored hash cost = %d (%v), want %d", got, err, tc.want)
			}
			if _, err := db.Authenticate(ctx, "bien-tap", "mat-khau-dai-du"); err != nil {
				t.Errorf("sign-in with the right password: %v", err)
			}
			if _, err := db.Authenticate(ctx, "bien-tap", "sai-mat-khau-roi"); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
				t.Errorf("sign-in with a wrong password: %v, want unauthorized", err)
			}
		})
	}
}
