package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/player"
	"github.com/sonla-cchc/loa/schedules"
)

// playerCommands are the commune player's commands.
func playerCommands() []command {
	return []command{
		{"player", "play a commune's schedule on its loudspeakers, unattended (mpv; offline for days)", runPlayer},
		{"player status", "what a player plays now and how its bundle and reports stand", runPlayerStatus},
	}
}

// outputsFlag collects --output CLUSTER=DEVICE.
type outputsFlag map[string]string

func (o outputsFlag) String() string {
	var parts []string
	for k, v := range o {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (o outputsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("write CLUSTER=DEVICE, e.g. trung-tam=alsa/plughw:1,0 (or *=DEVICE for every other cluster)")
	}
	o[k] = v
	return nil
}

func runPlayer(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "player", "")
	c := registerClient(fs, env)
	commune := fs.String("commune", env.getenv("LOA_COMMUNE"), "commune code (required; LOA_COMMUNE)")
	dir := fs.String("dir", env.getenv("LOA_PLAYER_DIR"), "the player's folder: bundle, journal, status (required; LOA_PLAYER_DIR)")
	outputs := outputsFlag{}
	fs.Var(outputs, "output", "CLUSTER=DEVICE: the audio device of a cluster (mpv --audio-device, e.g. alsa/plughw:1,0 or pulse/NAME); *=DEVICE for the others; repeat per cluster; default the default device")
	ao := fs.String("ao", env.getenv("LOA_PLAYER_AO"), "mpv's audio output driver (alsa, pulse, pipewire; null for tests); default mpv's choice (LOA_PLAYER_AO)")
	mpvBin := fs.String("mpv", envString(env, "LOA_MPV", "mpv"), "the mpv binary (LOA_MPV)")
	days := fs.Int("days", 3, "days of schedule to keep on the device (1 to 14): how long it plays offline")
	every := fs.Duration("sync-every", 5*time.Minute, "how often to ask the server for changes (cheap: an unchanged bundle is one 304)")
	heartbeat := fs.Duration("heartbeat-every", schedules.HeartbeatEvery, "how often to tell the server how the player stands (10s to 1h); the server shows the device late after 3 missed intervals and offline after 15")
	keyFile := fs.String("public-key", env.getenv("LOA_PUBLIC_KEY"), "trusted public key file (base64); default the key pinned at the first pull (LOA_PUBLIC_KEY)")
	verbose := fs.Bool("v", false, "log debug lines too")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *commune == "" || *dir == "" {
		return usageError{"--commune and --dir are required"}
	}
	if *days < 1 || *days > 14 {
		return usageError{"--days must be 1 to 14"}
	}
	if *every < 10*time.Second {
		return usageError{"--sync-every must be at least 10s"}
	}
	if *heartbeat < schedules.MinHeartbeatEvery || *heartbeat > schedules.MaxHeartbeatEvery || *heartbeat%time.Second != 0 {
		return usageError{"--heartbeat-every must be whole seconds from 10s to 1h"}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	log.Info("loa player starting", "commune", *commune, "server", c.server, "dir", *dir, "outputs", outputs.String(), "ao", *ao)
	return player.Run(ctx, player.Config{
		Client: c.puller(), Commune: *commune, Dir: *dir, Outputs: outputs, AO: *ao, MPV: *mpvBin, KeyFile: *keyFile,
		Days: *days, SyncEvery: *every, Listen: true, HeartbeatEvery: *heartbeat, Version: player.BuildVersion(), Now: time.Now, Log: log,
	})
}

func runPlayerStatus(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "player status", "")
	dir := fs.String("dir", env.getenv("LOA_PLAYER_DIR"), "the player's folder (LOA_PLAYER_DIR)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"--dir is required"}
	}
	data, err := os.ReadFile(filepath.Join(*dir, player.StatusFile))
	if err != nil {
		return pipeline.Errorf(pipeline.CodeNotFound, "No player status in %s: is 'loa player --dir %s' running?", *dir, *dir)
	}
	var st player.StatusDoc
	if err := json.Unmarshal(data, &st); err != nil {
		return pipeline.Errorf(pipeline.CodeInvalid, "%s is damaged: %v", filepath.Join(*dir, player.StatusFile), err)
	}
	if *asJSON {
		return writeJSONTo(env.stdout, st)
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return stamp(t)
	}
	fmt.Fprintf(env.stdout, "commune %s, schedule version %s, valid until %s\n", st.Commune, orDash(st.Version), at(st.ValidUntil))
	if st.Until != "" {
		held := fmt.Sprintf("the bundle covers through %s: %d day(s) ahead at the last sync", st.Until, st.DaysAhead)
		if st.DaysAhead < st.DaysAsked {
			held += fmt.Sprintf(", of the %d asked (the server has not built the later days yet; later syncs bring them)", st.DaysAsked)
		}
		fmt.Fprintln(env.stdout, held)
	}
	if st.Expired {
		fmt.Fprintln(env.stdout, "NOT PLAYING: the bundle expired and the server has not been reached since")
	}
	fmt.Fprintf(env.stdout, "last sync %s; clock offset to the server %d ms; %s free on disk\n", at(st.LastSync), st.ClockOffsetMS, size(int64(st.FreeBytes)))
	if st.LastError != "" {
		fmt.Fprintf(env.stdout, "last error (%s): %s\n", at(st.LastErrorAt), st.LastError)
	}
	fmt.Fprintf(env.stdout, "last heartbeat received by the server %s\n", at(st.LastHeartbeat))
	if st.HeartbeatError != "" {
		fmt.Fprintf(env.stdout, "last heartbeat failed: %s\n", st.HeartbeatError)
	}
	var clusters []string
	for c := range st.Playing {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	for _, c := range clusters {
		fmt.Fprintf(env.stdout, "playing on %s: %s\n", c, st.Playing[c])
	}
	if len(clusters) == 0 {
		fmt.Fprintln(env.stdout, "silent now")
	}
	return nil
}
