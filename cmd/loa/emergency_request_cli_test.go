package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/pipeline/localtime"
)

// TestCancelRequestBesideEmergencyInForceCLI: an administrator's
// emergency is in force on to-hieu and ngoc-chien and the segment's
// producer asks for the whole province (stored, pending). Each person's
// 'segments show' offers only the commands that work for them; the
// producer's --end is refused pointing to --cancel-request; the
// administrator's --end dry run names the communes it takes the alert
// off and the request it cancels too; --cancel-request drops only the
// request (the producer withdraws it, an administrator declines it with
// a reason) and the emergency in force stays on air.
func TestCancelRequestBesideEmergencyInForceCLI(t *testing.T) {
	ctx := context.Background()
	type step struct {
		admin   bool
		args    []string
		code    int
		says    []string
		saysNot []string
	}
	for _, tc := range []struct {
		name     string
		steps    []step
		declined bool
	}{
		{name: "the producer withdraws his request", steps: []step{
			{args: []string{"segments", "show", "SEG"}, says: []string{"PENDING request", "withdraw loa segments emergency SEG --cancel-request --yes (the emergency in force stays on air)"},
				saysNot: []string{"--end", "--confirm-request", "decline", "--replace"}},
			{admin: true, args: []string{"segments", "show", "SEG"}, says: []string{"confirm loa segments emergency SEG --confirm-request --yes",
				"decline loa segments emergency SEG --cancel-request --reason WHY --yes", "end loa segments emergency SEG --end --reason WHY --yes; also cancels the request waiting"},
				saysNot: []string{"withdraw"}},
			{args: []string{"segments", "emergency", "SEG", "--end", "--reason", "nhầm"}, code: 4,
				says: []string{"raised (or confirmed) by someone else", "loa segments emergency SEG --cancel-request --yes"}},
			{admin: true, args: []string{"segments", "emergency", "SEG", "--end", "--reason", "nhầm"}, code: 3,
				says: []string{"Nothing was ended", "communes ngoc-chien, to-hieu", "the request waiting for an administrator (the whole province) is cancelled too", "--reason WHY --yes"}},
			{args: []string{"segments", "emergency", "SEG", "--cancel-request"}, code: 3,
				says: []string{"Nothing was cancelled", "withdrawing the request for the whole province", "The emergency in force on communes ngoc-chien, to-hieu stays on air", "with --yes to go ahead"}},
			{args: []string{"segments", "emergency", "SEG", "--cancel-request", "--end", "--yes"}, code: 2, says: []string{"--cancel-request takes only --reason and --yes"}},
			{args: []string{"segments", "emergency", "SEG", "--cancel-request", "--yes"},
				says: []string{"emergency request of SEG withdrawn", "the emergency in force is unchanged: communes ngoc-chien, to-hieu"}},
			{args: []string{"segments", "emergency", "SEG", "--cancel-request", "--yes"}, code: 3, says: []string{"No wide emergency is waiting for confirmation"}},
		}},
		{name: "an administrator declines it", declined: true, steps: []step{
			{admin: true, args: []string{"segments", "emergency", "SEG", "--cancel-request", "--yes"}, code: 3, says: []string{"Say why the request is declined"}},
			{admin: true, args: []string{"segments", "emergency", "SEG", "--cancel-request", "--reason", "đã có khẩn cấp ở hai xã"}, code: 3,
				says: []string{"Nothing was cancelled", "declining the request", "--reason WHY --yes"}},
			{admin: true, args: []string{"segments", "emergency", "SEG", "--cancel-request", "--reason", "đã có khẩn cấp ở hai xã", "--yes"},
				says: []string{"emergency request of SEG declined; its requester is told", "unchanged: communes ngoc-chien, to-hieu"}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := producerCLI(t, "Lũ quét")
			adminTok := f.adminToken(t)
			loa := func(admin bool, args ...string) (int, string, string) {
				t.Helper()
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "SEG", f.seg)
				}
				if !admin {
					return f.loa(args...)
				}
				var stdout, stderr bytes.Buffer
				env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
				code := run(ctx, env, append(args, "--server", f.url, "--token", adminTok))
				return code, stdout.String(), stderr.String()
			}
			if code, out, errs := loa(true, "segments", "emergency", "SEG", "--communes", "to-hieu,ngoc-chien", "--reason", "lũ: Sở chỉ đạo", "--yes"); code != 0 {
				t.Fatalf("admin raises: exit %d %s %s", code, out, errs)
			}
			if code, out, errs := loa(false, "segments", "emergency", "SEG", "--province", "--reason", "lũ lan rộng", "--yes"); code != 0 || !strings.Contains(out, "needs an administrator's confirmation") {
				t.Fatalf("producer asks for the province: exit %d %q %s", code, out, errs)
			}
			for i, st := range tc.steps {
				code, out, errs := loa(st.admin, st.args...)
				all := strings.Join(strings.Fields(out+errs), " ") // tabwriter columns as one space
				if code != st.code {
					t.Fatalf("step %d %v: exit %d, want %d\n%s", i, st.args, code, st.code, all)
				}
				for _, w := range st.says {
					if w = strings.ReplaceAll(w, "SEG", f.seg); !strings.Contains(all, w) {
						t.Errorf("step %d %v: lacks %q:\n%s", i, st.args, w, all)
					}
				}
				for _, w := range st.saysNot {
					if strings.Contains(all, w) {
						t.Errorf("step %d %v: says %q:\n%s", i, st.args, w, all)
					}
				}
			}
			if _, err := f.db.PendingEmergency(ctx, f.seg); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("the request is still waiting (%v)", err)
			}
			e, err := f.db.EmergencyInForce(ctx, f.seg, f.clock())
			if err != nil || strings.Join(e.Communes, ",") != "ngoc-chien,to-hieu" || e.RaisedBy != "quan-tri" {
				t.Errorf("emergency in force after the request was dropped: %+v %v, want the administrator's on ngoc-chien, to-hieu", e, err)
			}
			action := "emergency_request_withdrawn"
			if tc.declined {
				action = "emergency_request_declined"
			}
			evs, err := f.db.Audit(ctx, f.clock().Add(-time.Hour), f.clock().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range evs {
				found = found || (ev.Action == "segment."+action && ev.Subject == f.seg)
			}
			if !found {
				t.Errorf("no %s event in the segment's history: %+v", action, evs)
			}
		})
	}
}

// TestEmergencyDryRunSaysWhatWouldHappenCLI: the dry run (no --yes) says
// what the real run would do: a producer's wide request would only be
// stored for an administrator; unknown commune codes are refused, a
// commune's name or a code in capitals answered with the code it stands
// for; a segment still processing would be refused (use --wait). And
// 'segments priority' during an emergency writes its end in province
// time with offset.
func TestEmergencyDryRunSaysWhatWouldHappenCLI(t *testing.T) {
	for _, tc := range []struct {
		name       string
		processing bool
		args       []string
		code       int
		says       []string
		saysNot    []string
	}{
		{name: "province asked by a producer", args: []string{"--province"}, code: 3,
			says:    []string{"Nothing was raised", "A province-wide emergency needs an administrator's confirmation", "only stored, on no loudspeaker", "--yes to store the request, then call an administrator"},
			saysNot: []string{"interrupts the loudspeakers"}},
		{name: "more than half asked by a producer", args: []string{"--communes", "muong-lan,suoi-to,ta-xua,to-hieu"}, code: 3,
			says:    []string{"more than half of the province's 7", "needs an administrator's confirmation", "store the request"},
			saysNot: []string{"interrupts the loudspeakers"}},
		{name: "a small one interrupts", args: []string{"--communes", "muong-lan"}, code: 3,
			says: []string{"interrupts the loudspeakers of communes muong-lan at once", "Run the same command with --yes to go ahead"}, saysNot: []string{"administrator's confirmation"}},
		{name: "unknown code", args: []string{"--communes", "muong-lan,nope"}, code: 3,
			says: []string{`No commune with code "nope"`, "loa communes list"}, saysNot: []string{"interrupts"}},
		{name: "a commune's name", args: []string{"--communes", "Mường Lạn"}, code: 3,
			says: []string{`"Mường Lạn" is not a commune code: did you mean muong-lan (Mường Lạn)?`}, saysNot: []string{"interrupts"}},
		{name: "a code in capitals", args: []string{"--communes", "MUONG-LAN"}, code: 3,
			says: []string{`"MUONG-LAN" is not a commune code: did you mean muong-lan (Mường Lạn)?`}},
		{name: "a name without diacritics", args: []string{"--communes", "muong lan"}, code: 3,
			says: []string{"did you mean muong-lan (Mường Lạn)?"}},
		{name: "segment still processing", processing: true, args: []string{"--communes", "muong-lan"}, code: 3,
			says: []string{"Nothing was raised", "not ready to air", "--yes would be refused", "--yes --wait"}, saysNot: []string{"interrupts", "go ahead"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := producerCLI(t, "Lũ quét")
			seg := f.seg
			if tc.processing {
				seg = addProcessing(t, f)
			}
			args := append([]string{"segments", "emergency", seg, "--reason", "lũ"}, tc.args...)
			code, out, errs := f.loa(args...)
			all := out + errs
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, all)
			}
			for _, w := range tc.says {
				if !strings.Contains(all, w) {
					t.Errorf("lacks %q:\n%s", w, all)
				}
			}
			for _, w := range tc.saysNot {
				if strings.Contains(all, w) {
					t.Errorf("says %q:\n%s", w, all)
				}
			}
			// A dry run changes nothing.
			if _, err := f.db.PendingEmergency(context.Background(), seg); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("a request was stored (%v)", err)
			}
			if _, err := f.db.EmergencyInForce(context.Background(), seg, f.clock()); pipeline.ErrorCode(err) != pipeline.CodeNotFound {
				t.Errorf("an emergency is in force (%v)", err)
			}
		})
	}
	t.Run("priority during an emergency", func(t *testing.T) {
		f := producerCLI(t, "Lũ quét")
		if code, out, errs := f.loa("segments", "emergency", f.seg, "--communes", "muong-lan", "--reason", "lũ", "--yes", "--until", f.clock().Add(3*time.Hour).Format("2006-01-02T15:04:05Z07:00")); code != 0 {
			t.Fatalf("raise: exit %d %s %s", code, out, errs)
		}
		want := f.clock().Add(3 * time.Hour).In(localtime.Location()).Format("2006-01-02 15:04 -07:00")
		code, out, errs := f.loa("segments", "priority", f.seg, "normal")
		if code == 0 || !strings.Contains(errs, "in force until "+want+":") || !strings.Contains(errs, "+07:00") {
			t.Fatalf("exit %d %q %q, want a refusal naming the end as %s", code, out, errs, want)
		}
	})
}
