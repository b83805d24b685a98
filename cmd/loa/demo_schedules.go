package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sonla-cchc/loa/pipeline/broadcast"
	"github.com/sonla-cchc/loa/pipeline/sqlstore"
)

// demoSchedules loads the Sơn La sample registry, waits (a while) for the
// demo segments to become ready to air, builds the schedules and prints
// how the Mường Lạn operator gets its playlists.
func demoSchedules(ctx context.Context, env *cliEnv, db *sqlstore.DB, cl *client) error {
	admin, err := db.UserByName(ctx, "admin")
	if err != nil {
		return err
	}
	adminToken, err := replaceDemoToken(ctx, db, admin, cliActor(env))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cat, _, err := db.ReadyCatalog(ctx, time.Now().UTC())
		if err != nil {
			return err
		}
		if len(cat) > 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	ac := &client{server: cl.server, token: adminToken, http: cl.http}
	var built broadcast.BuildResult
	if err := ac.do(ctx, "POST", "/api/schedules/build", nil, "", &built); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "demo schedules: %d communes for %d days from %s\n", built.Communes, built.Days, built.Start)
	op, err := db.UserByName(ctx, "xa-muong-lan")
	if err != nil {
		return err
	}
	opToken, err := replaceDemoToken(ctx, db, op, cliActor(env))
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Mường Lạn operator: LOA_TOKEN=%s bin/loa playlist pull --commune muong-lan --days 2 --dir .local/muong-lan\n", opToken)
	return nil
}
