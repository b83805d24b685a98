package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

func runServe(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "serve", "")
	c.register(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if c.playlistAddr != "" && c.playlistAddr == c.addr {
		return usageError{"LOA_PLAYLIST_ADDR (--playlist-addr) is " + c.addr + ", the same as LOA_ADDR (--addr): the playlist listener needs an address of its own"}
	}
	if c.playlistPublicURL != "" && c.playlistAddr == "" {
		return usageError{"LOA_PLAYLIST_PUBLIC_URL (--playlist-public-url) names the playlist listener as controllers reach it, but there is none: set LOA_PLAYLIST_ADDR (--playlist-addr) too, or unset it"}
	}
	return serve(ctx, env, &c, true)
}

func runWorker(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "worker", "")
	c.register(fs, env)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	return serve(ctx, env, &c, false)
}

// serve runs the worker, and the HTTP API when withHTTP, until ctx ends;
// then it stops taking requests, lets uploads in flight finish for a
// while, and returns unfinished jobs to the queue (app.go has the parts).
func serve(ctx context.Context, env *cliEnv, c *serverConfig, withHTTP bool) error {
	a := newApp(c, withHTTP, newLogger(env.stderr, c.logLevel), env.stdout)
	err := a.Open(ctx)
	if err == nil {
		err = a.Run(ctx)
	}
	if cerr := a.Close(); cerr != nil {
		a.log.Error("stop", "err", cerr) // the process ends anyway
	}
	return err
}

func runMigrate(ctx context.Context, env *cliEnv, args []string) error {
	var c serverConfig
	fs := newFlags(env, "migrate", "")
	c.registerStore(fs, env)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, c.dbPath())
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.stdout).Encode(res)
	}
	fmt.Fprintf(env.stdout, "database %s at version %d (applied now: %v; queue migrations applied now: %v)\n", c.dbShown(), res.Current, res.Applied, res.River)
	for _, msg := range res.Unbound {
		fmt.Fprintln(env.stderr, "warning: "+msg)
	}
	return nil
}
