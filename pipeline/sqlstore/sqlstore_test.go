package sqlstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore/pgtest"
)

func setup(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, pgtest.Location(t, "loa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.PasswordCost = bcrypt.MinCost
	return db
}

func TestMigrateTwiceAppliesNothingNew(t *testing.T) {
	t.Parallel()
	db := setup(t)
	res, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 0 || len(res.River) != 0 {
		t.Fatalf("second migrate applied %v / river %v, want nothing", res.Applied, res.River)
	}
	if res.Current < 1 {
		t.Fatalf("current version %d", res.Current)
	}
}

func TestUsersAndTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	u, err := db.CreateUser(ctx, pipeline.NewUser{Name: "lo-van-a", Role: pipeline.RoleTranslator, Password: "mat-khau-dai-du", Languages: []string{"blt"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, pipeline.NewUser{Name: "lo-van-a", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"}); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("duplicate user: got %v, want conflict", err)
	}
	if _, err := db.CreateUser(ctx, pipeline.NewUser{Name: "LO-VAN-A", Role: pipeline.RoleAdmin, Password: "mat-khau-dai-du"}); pipeline.ErrorCode(err) != pipeline.CodeConflict ||
		!strings.Contains(err.Error(), `"lo-van-a" already exists, which "LO-VAN-A" would be confused with`) {
		t.Fatalf("a user differing only in case: got %v, want a conflict naming lo-van-a", err)
	}
	if _, err := db.Authenticate(ctx, "lo-van-a", "wrong-password!"); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("wrong password: got %v", err)
	}
	if _, err := db.Authenticate(ctx, "nobody", "whatever-long"); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("unknown user: got %v", err)
	}
	if got, err := db.Authenticate(ctx, "lo-van-a", "mat-khau-dai-du"); err != nil || got.ID != u.ID {
		t.Fatalf("right password: %v %v", got, err)
	}
	tok, err := db.CreateToken(ctx, u.ID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.UserByToken(ctx, tok)
	if err != nil || got.Name != "lo-van-a" || got.Languages[0] != "blt" {
		t.Fatalf("by token: %+v %v", got, err)
	}
	if err := db.RevokeToken(ctx, tok, pipeline.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UserByToken(ctx, tok); pipeline.ErrorCode(err) != pipeline.CodeUnauthorized {
		t.Fatalf("revoked token still works: %v", err)
	}
}

func TestSegmentInsertDedupAndWithdraw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := setup(t)
	p, err := db.CreateUser(ctx, pipeline.NewUser{Name: "dai-ptth", Role: pipeline.RoleProducer, Password: "mat-khau-dai-du"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 5, 0, 0, 0, time.UTC)
	seg := pipeline.Segment{ID: "s1", SHA256: "abc", Title: "Một cửa", Kind: pipeline.KindRadio, Topic: "procedures",
		Priority: pipeline.PriorityNormal, AirFrom: now, AirUntil: now.Add(time.Hour), Languages: []string{"vi", "blt"},
		State: pipeline.StateProbed, ProducerID: p.ID, OriginalKey: "segments/s1/original", OriginalName: "a.mp3",
		ContentType: "audio/mpeg", Size: 10, Probe: pipeline.ProbeFacts{DurationMS: 1234}, CreatedAt: now, UpdatedAt: now}
	if err := db.BeginUpload(ctx, seg.OriginalKey, p.ID); err != nil {
		t.Fatal(err)
	}
	got, created, err := db.InsertSegment(ctx, seg, nil)
	if err != nil || !created {
		t.Fatalf("insert: created=%v err=%v", created, err)
	}
	if got.Producer != "dai-ptth" || got.Probe.DurationMS != 1234 || !got.AirFrom.Equal(now) || len(got.Languages) != 2 {
		t.Fatalf("read back: %+v", got)
	}
	if stale, _ := db.StaleUploads(ctx, now.Add(24*time.Hour*365*10)); len(stale) != 0 {
		t.Fatalf("upload row left after insert: %v", stale)
	}
	dup := seg
	dup.ID, dup.OriginalKey = "s2", "segments/s2/original"
	got, created, err = db.InsertSegment(ctx, dup, nil)
	if err != nil || created || got.ID != "s1" {
		t.Fatalf("duplicate: got %s created=%v err=%v", got.ID, created, err)
	}
	if _, err := db.WithdrawSegment(ctx, "s1", p.ID, "sai nội dung"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WithdrawSegment(ctx, "s1", p.ID, "again"); pipeline.ErrorCode(err) != pipeline.CodeConflict {
		t.Fatalf("second withdraw: %v", err)
	}
	if _, err := db.WithdrawSegment(ctx, "nope", p.ID, ""); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
		t.Fatalf("withdraw unknown: %v", err)
	}
	list, err := db.Segments(ctx, pipeline.SegmentFilter{ProducerID: p.ID})
	if err != nil || len(list) != 1 || list[0].State != pipeline.StateWithdrawn {
		t.Fatalf("list: %+v %v", list, err)
	}
}
