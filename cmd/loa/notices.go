package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"github.com/sonla-cchc/loa/pipeline/notify"
)

// runNoticesList prints the notices whose delivery is in doubt (GET
// /api/notices?state=maybe_sent; admin): each may or may not have
// reached its recipient, and is not sent again, so an administrator
// checks with them.
func runNoticesList(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "notices list", "")
	c := registerClient(fs, env)
	maybeSent := fs.Bool("maybe-sent", false, "the notices whose delivery is in doubt (the only listing there is)")
	limit := fs.Int("limit", 50, "at most this many, newest attempt first (1 to 200)")
	asJSON := fs.Bool("json", false, "print as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !*maybeSent {
		return usageError{"give --maybe-sent: the notices whose delivery is in doubt are the ones listed"}
	}
	q := url.Values{"state": {"maybe_sent"}, "limit": {strconv.Itoa(*limit)}}
	var list []notify.MaybeSent
	if err := c.do(ctx, http.MethodGet, "/api/notices?"+q.Encode(), nil, "", &list); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONTo(env.stdout, list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(env.stdout, "No notice is in doubt (among those the job queue still keeps).")
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTEMPTED\tKIND\tTO\tCHANNEL\tKEY\tWARNING")
	for _, m := range list {
		to := m.To.Name
		if m.To.Email != "" {
			to += " <" + m.To.Email + ">"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(m.AttemptedAt), m.Kind, to, m.Channel, m.Key, m.Warning)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(list) == *limit {
		fmt.Fprintf(env.stdout, "(the newest %d; --limit shows more)\n", *limit)
	}
	_, err := fmt.Fprintln(env.stdout, "Each may or may not have reached its recipient and is not sent again: check with them.")
	return err
}
