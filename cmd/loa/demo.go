package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
	"github.com/sonla-cchc/loa/schedules"
)

// demoUsers is one user per role, as the demo loads them.
var demoUsers = []pipeline.NewUser{
	{Name: "admin", Role: pipeline.RoleAdmin},
	{Name: "dai-ptth", Role: pipeline.RoleProducer},
	{Name: "dich-thai", Role: pipeline.RoleTranslator, Languages: []string{pipeline.LangThai}},
	{Name: "dich-mong", Role: pipeline.RoleTranslator, Languages: []string{pipeline.LangHmong}},
	{Name: "duyet", Role: pipeline.RoleReviewer, Languages: []string{pipeline.LangThai, pipeline.LangHmong}},
	{Name: "xa-muong-lan", Role: pipeline.RoleOperator, Commune: "muong-lan"},
}

const demoSpeech = "Tỉnh Sơn La đẩy mạnh cải cách hành chính. Người dân có thể nộp hồ sơ thủ tục hành chính trực tuyến trên Cổng dịch vụ công, và nhận kết quả qua dịch vụ bưu chính công ích."

const demoSRT = `1
00:00:00,000 --> 00:00:04,000
Tỉnh Sơn La đẩy mạnh
cải cách hành chính.

2
00:00:04,200 --> 00:00:09,000
Nộp hồ sơ trực tuyến
trên Cổng dịch vụ công.
`

// runDemo loads the demo into a running server: one user per role (the
// database directly, as an administrator would with 'loa user add'), then
// two generated segments uploaded through the API like any producer's.
func runDemo(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "demo", "")
	c.registerStore(fs, env)
	cl := registerClient(fs, env)
	password := fs.String("demo-password", "loa-demo-2025", "password given to the demo users (LOA_DEMO_PASSWORD)")
	fs.StringVar(password, "password", "loa-demo-2025", "the same as --demo-password")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	db, err := c.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// The registry first: an operator is bound to a commune code.
	reg, err := schedules.DemoRegistry()
	if err != nil {
		return err
	}
	res, err := db.ImportRegistry(ctx, reg, schedules.ImportOptions{})
	var pe *pipeline.Error
	if errors.As(err, &pe) && pe.Key == sqlstore.KeyRegistryRemovals && len(pe.Args) == 2 {
		// The demo never removes what an administrator imported since.
		return pipeline.Errorf(pipeline.CodeInvalid, "The demo registry does not list clusters this database has now (%s): loa demo leaves them alone and loads nothing. Use a fresh database for the demo, or import a registry with them (loa communes import).",
			pe.Args[1])
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "demo communes: %d Sơn La communes, %d clusters\n", res.Communes, res.Clusters)
	for _, u := range demoUsers {
		u.Password = *password
		if _, err := db.CreateUser(ctx, u); err != nil && pipeline.ErrorCode(err) != pipeline.CodeConflict {
			return err
		}
	}
	producer, err := db.UserByName(ctx, "dai-ptth")
	if err != nil {
		return err
	}
	token, err := replaceDemoToken(ctx, db, producer, cliActor(env))
	if err != nil {
		return err
	}
	cl.token = token

	dir, err := os.MkdirTemp("", "loa-demo-")
	if err != nil {
		return fmt.Errorf("demo: temp folder: %w", err)
	}
	defer os.RemoveAll(dir)
	radio, tv, srt, err := makeDemoClips(ctx, dir)
	if err != nil {
		return err
	}
	uploads := []uploadRequest{
		{path: radio, fields: [][2]string{{"title", "Nộp hồ sơ thủ tục hành chính trực tuyến"}, {"kind", "radio"}, {"topic", "procedures"}}},
		{path: tv, subtitles: srt, fields: [][2]string{{"title", "Sơn La đẩy mạnh cải cách hành chính"}, {"kind", "tv"}, {"topic", "importance"}, {"priority", "priority"}}},
	}
	for _, up := range uploads {
		res, err := cl.upload(ctx, up, progressTo(env.stderr, false), env.stderr)
		if err != nil {
			return fmt.Errorf("demo upload %s: %w", filepath.Base(up.path), err)
		}
		fmt.Fprintf(env.stdout, "demo segment %s (%s): %s\n", res.ID, res.Kind, res.Title)
	}
	if err := demoSchedules(ctx, env, db, cl); err != nil {
		return fmt.Errorf("demo schedules: %w", err)
	}
	envFile := filepath.Join(c.data, "demo.env")
	body := fmt.Sprintf("export LOA_SERVER=%s\nexport LOA_TOKEN=%s\n", cl.server, token)
	if err := os.WriteFile(envFile, []byte(body), 0o600); err != nil {
		return fmt.Errorf("demo: write %s: %w", envFile, err)
	}
	names := make([]string, len(demoUsers))
	for i, u := range demoUsers {
		names[i] = u.Name + " (" + string(u.Role) + ")"
	}
	fmt.Fprintf(env.stdout, "demo users: %s; password %q\n", strings.Join(names, ", "), *password)
	fmt.Fprintf(env.stdout, "producer token for the CLI: source %s\n", envFile)
	return nil
}

// demoTokenLabel labels the API tokens the demo makes (one each for the
// producer, the administrator and the Mường Lạn operator).
const demoTokenLabel = "demo"

// replaceDemoToken makes user a new demo token and revokes the demo
// tokens an earlier run made for them, so running the demo again (every
// 'make run') leaves one live demo token per user, not one more each
// time. A token's secret is not stored, so an earlier one cannot be shown
// again: it is replaced. Tokens with other labels are left alone.
func replaceDemoToken(ctx context.Context, db *sqlstore.DB, user pipeline.User, by pipeline.Actor) (string, error) {
	live, err := db.Tokens(ctx, user.Name, false)
	if err != nil {
		return "", fmt.Errorf("demo: list %s's tokens: %w", user.Name, err)
	}
	token, err := db.CreateTokenAs(ctx, user.ID, demoTokenLabel, pipeline.TokenAPI, by)
	if err != nil {
		return "", fmt.Errorf("demo: token for %s: %w", user.Name, err)
	}
	for _, t := range live {
		if t.Label != demoTokenLabel || t.Kind != pipeline.TokenAPI {
			continue
		}
		// Revoked meanwhile (another run, an administrator) is as good.
		if err := db.RevokeTokenID(ctx, t.ID, by); err != nil && pipeline.ErrorCode(err) != pipeline.CodeNotFound {
			return "", fmt.Errorf("demo: revoke %s's earlier demo token %d: %w", user.Name, t.ID, err)
		}
	}
	return token, nil
}

// makeDemoClips speaks the demo text with espeak-ng's Vietnamese voice and
// makes a radio MP3 and a TV MP4 (ffmpeg's test picture plus that speech).
func makeDemoClips(ctx context.Context, dir string) (radio, tv, srt string, err error) {
	wav := filepath.Join(dir, "speech.wav")
	radio = filepath.Join(dir, "radio.mp3")
	tv = filepath.Join(dir, "tv.mp4")
	srt = filepath.Join(dir, "vi.srt")
	steps := [][]string{
		{"espeak-ng", "-v", "vi", "-s", "150", "-w", wav, demoSpeech},
		{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", wav, "-ac", "1", "-ar", "44100", "-b:a", "96k", radio},
		{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
			"-i", wav, "-shortest", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", tv},
	}
	for _, s := range steps {
		cmd := exec.CommandContext(ctx, s[0], s[1:]...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", "", fmt.Errorf("demo: %s: %w: %s (make run installs ffmpeg and espeak-ng)", s[0], err, strings.TrimSpace(string(out)))
		}
	}
	if err := os.WriteFile(srt, []byte(demoSRT), 0o644); err != nil {
		return "", "", "", fmt.Errorf("demo: write subtitles: %w", err)
	}
	return radio, tv, srt, nil
}
