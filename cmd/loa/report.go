package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/report"
)

// runReport fetches a report from the server:
// loa report --period 2025-Q1 --format xlsx -o FILE [--commune CODE].
func runReport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "report", "")
	c := registerClient(fs, env)
	period := fs.String("period", "", "period: 2025, 2025-H1, 2025-Q1, 2025-03 or 2025-01-01..2025-02-15")
	format := fs.String("format", "xlsx", "xlsx, csv, html or json")
	out := fs.String("o", "", "output file; default the report's own name in the current folder, - for stdout")
	commune := fs.String("commune", "", "one commune's report (its code)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	p, err := report.ParsePeriod(*period) // refuse a bad period before calling the server
	if err != nil {
		return err
	}
	f, err := report.ParseFormat(*format)
	if err != nil {
		return err
	}
	q := url.Values{"period": {p.Name}, "format": {string(f)}}
	if *commune != "" {
		q.Set("commune", *commune)
	}
	return c.fetchFile(ctx, "/api/reports?"+q.Encode(), *out, env)
}

// runAudit fetches the audit log: loa audit --period 2025-03 [-o FILE].
func runAudit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "audit", "")
	c := registerClient(fs, env)
	period := fs.String("period", "", "period (default this month): 2025-03, 2025-Q1, 2025-01-01..2025-01-31")
	out := fs.String("o", "-", "output CSV file, - for stdout")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{"format": {"csv"}}
	if *period != "" {
		p, err := report.ParsePeriod(*period)
		if err != nil {
			return err
		}
		q.Set("period", p.Name)
	}
	return c.fetchFile(ctx, "/api/audit?"+q.Encode(), *out, env)
}

// fetchFile GETs path and writes the body to out (a file, or stdout for
// "-"; empty: the file name the server suggests). The file appears only
// when complete.
func (c *client) fetchFile(ctx context.Context, path, out string, env *cliEnv) error {
	if c.token == "" {
		return pipeline.Errorf(pipeline.CodeUnauthorized, "No API token: pass --token or set LOA_TOKEN (an administrator makes one with 'loa token create --user NAME').")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.server, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return &pipeline.Error{Code: pipeline.CodeUnavailable, Err: err, Message: fmt.Sprintf("Cannot reach the Loa server at %s.", c.server)}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		// Let the JSON error decoding of do() speak.
		return c.do(ctx, "GET", path, nil, "", nil)
	}
	if out == "-" {
		_, err := io.Copy(env.stdout, resp.Body)
		return err
	}
	if out == "" {
		out = "report"
		if cd := resp.Header.Get("Content-Disposition"); cd != "" {
			if _, name, ok := strings.Cut(cd, "filename="); ok {
				out = filepath.Base(strings.Trim(name, `"`))
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".loa-report-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Close()
	} else {
		tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(env.stdout, "%s (%d bytes)\n", out, n)
	return nil
}
