package sqlstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// TestBuildClaimLease walks one build key through the lives of its
// claims on an injected clock: a claim held and renewed is refused to
// others, an owner that stops renewing (it died) loses the claim to the
// next attempt, the dead owner can then neither renew nor finish, and a
// finished build is done for everyone.
func TestBuildClaimLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	now := time.Date(2025, 3, 2, 18, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	const key, lease = "nightly/2025-03-03", time.Minute

	step := func(name string, owner string, want pipeline.BuildClaim) {
		t.Helper()
		got, err := db.BeginBuild(ctx, key, owner, lease)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != want {
			t.Fatalf("%s: BeginBuild by %s = %+v, want %+v", name, owner, got, want)
		}
	}
	step("a free key", "a", pipeline.BuildClaim{Claimed: true})
	step("a live claim", "b", pipeline.BuildClaim{Owner: "a", Until: now.Add(lease)})

	now = now.Add(45 * time.Second)
	if until, err := db.RenewBuild(ctx, key, "a", lease); err != nil || !until.Equal(now.Add(lease)) {
		t.Fatalf("renew by the owner: %v %v", until, err)
	}
	now = now.Add(45 * time.Second) // past the first lease, within the renewed one
	step("a renewed claim", "b", pipeline.BuildClaim{Owner: "a", Until: now.Add(15 * time.Second)})

	now = now.Add(16 * time.Second) // a stopped renewing: it died
	step("an expired claim", "b", pipeline.BuildClaim{Claimed: true, TakenFrom: "a"})
	step("the claim taken over", "c", pipeline.BuildClaim{Owner: "b", Until: now.Add(lease)})
	if _, err := db.RenewBuild(ctx, key, "a", lease); !errors.Is(err, pipeline.ErrClaimLost) {
		t.Fatalf("renew by the dead owner: %v, want pipeline.ErrClaimLost", err)
	}
	if err := db.FinishBuild(ctx, key, "a", 7, 7, false); !errors.Is(err, pipeline.ErrClaimLost) {
		t.Fatalf("finish by the dead owner: %v, want pipeline.ErrClaimLost", err)
	}
	if err := db.FinishBuild(ctx, key, "a", 0, 0, true); !errors.Is(err, pipeline.ErrClaimLost) {
		t.Fatalf("release by the dead owner: %v, want pipeline.ErrClaimLost", err)
	}
	step("the claim still held after the dead owner's finish", "c", pipeline.BuildClaim{Owner: "b", Until: now.Add(lease)})

	if err := db.FinishBuild(ctx, key, "b", 7, 3, false); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	step("a finished build", "c", pipeline.BuildClaim{Done: true})
	if _, err := db.RenewBuild(ctx, key, "b", lease); !errors.Is(err, pipeline.ErrClaimLost) {
		t.Fatalf("renew a finished build: %v, want pipeline.ErrClaimLost", err)
	}

	// A failed build releases the key at once.
	const other = "nightly/2025-03-04"
	if c, err := db.BeginBuild(ctx, other, "d", lease); err != nil || !c.Claimed {
		t.Fatalf("claim %s: %+v %v", other, c, err)
	}
	if err := db.FinishBuild(ctx, other, "d", 0, 0, true); err != nil {
		t.Fatal(err)
	}
	if c, err := db.BeginBuild(ctx, other, "e", lease); err != nil || c != (pipeline.BuildClaim{Claimed: true}) {
		t.Fatalf("claim after a failed build: %+v %v", c, err)
	}
}

// TestBuildClaimWithoutLease takes over a claim left unfinished by a
// binary from before leases (no owner, no lease end).
func TestBuildClaimWithoutLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO schedule_builds (build_key, started_at) VALUES (?, ?)", "nightly/2025-03-03", db.Now()); err != nil {
		t.Fatal(err)
	}
	c, err := db.BeginBuild(ctx, "nightly/2025-03-03", "a", time.Minute)
	if err != nil || c != (pipeline.BuildClaim{Claimed: true}) {
		t.Fatalf("claim left by an old binary: %+v %v", c, err)
	}
}
