package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/media/objects/objectstest"
)

// TestRegistryVariantCodesEndToEnd, with the commands an administrator
// runs: a code that differs from a stored one only by case or diacritics,
// and a registry in another time zone, are refused with the line and
// what to write; a variant an older version stored does not stop
// `loa schedule build` (the other communes are built, the variant is
// named with the fix, exit 3), and an import with --allow-removals takes
// it away.
func TestRegistryVariantCodesEndToEnd(t *testing.T) {
	_, s3 := objectstest.New(t)
	in := newInstance(t, s3)
	in.bootstrap()
	admin := in.userToken("so-noi-vu", "admin", "")
	in.startInProcess()
	ctx := context.Background()
	const demo = "../../schedules/testdata/sonla-demo.yaml"
	in.must(admin, "communes", "import", demo)

	dir := t.TempDir()
	const header = "commune_code,commune_name,kind,cluster_id,cluster_name,languages,days,start,length,reserved\n"
	files := []struct {
		name, body string
		want       []string // in stderr
	}{
		{"case.csv", header + "Muong-Lan,Mường Lạn,xa,trung-tam,Loa trung tâm xã,blt vi,Mon-Sat,05:30,30m,10m\n",
			[]string{`case.csv:2:`, `"Muong-Lan"`, `write "muong-lan"`}},
		{"dau.csv", header + "mường-lan,Mường Lạn,xa,trung-tam,Loa trung tâm xã,blt vi,Mon-Sat,05:30,30m,10m\n",
			[]string{`dau.csv:2:`, `write "muong-lan"`}},
		{"tz.yaml", "timezone: Europe/London\ncommunes:\n  - code: xa-tz\n    name: Xã Múi Giờ\n    kind: xa\n    slots:\n" +
			"      - {days: Mon-Sat, start: \"05:30\", length: 30m, reserved: 10m}\n    clusters:\n      - {id: trung-tam, name: Loa, languages: [vi]}\n",
			[]string{`tz.yaml:1:`, `"Europe/London"`, "Asia/Ho_Chi_Minh"}},
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, []byte(f.body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := in.run3(admin, "communes", "import", path)
		if code != 3 {
			t.Errorf("import %s: exit %d, want 3\n%s%s", f.name, code, out, errOut)
		}
		for _, w := range f.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("import %s: stderr lacks %s:\n%s", f.name, w, errOut)
			}
		}
	}
	if list := in.must(admin, "communes", "list"); strings.Contains(list, "Muong-Lan") || strings.Contains(list, "mường-lan") || strings.Contains(list, "xa-tz") {
		t.Fatalf("a refused import changed the registry:\n%s", list)
	}

	// A variant as an older version stored it.
	for _, q := range []string{
		"INSERT INTO communes (code, name, kind, time_zone, position, updated_at) VALUES ('Muong-Lan', 'Mường Lạn', 'xa', 'Asia/Ho_Chi_Minh', 100, ?)",
		"INSERT INTO clusters (commune_code, id, name, languages, position) VALUES ('Muong-Lan', 'trung-tam', '', 'blt,vi', 0)",
		"INSERT INTO slots (commune_code, cluster_id, days, start_s, length_s, reserved_s, position) VALUES ('Muong-Lan', '', 126, 19800, 1800, 600, 0)",
	} {
		args := []any{}
		if strings.Contains(q, "updated_at") {
			args = append(args, time.Now().UTC())
		}
		if _, err := in.app.DB.SQL().ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := in.run3(admin, "schedule", "build")
	if code != 3 || !strings.Contains(out, "built 7 communes") || !strings.Contains(errOut, "1 commune was not built") ||
		!strings.Contains(errOut, "Muong-Lan: ") || !strings.Contains(errOut, "--allow-removals") {
		t.Fatalf("schedule build beside a variant: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = in.run3(admin, "communes", "import", demo)
	if code != 3 || !strings.Contains(errOut, "Muong-Lan (muong-lan)") || !strings.Contains(errOut, "--allow-removals") {
		t.Fatalf("import beside a variant: exit %d\n%s%s", code, out, errOut)
	}
	out = in.must(admin, "communes", "import", "--allow-removals", demo)
	if !strings.Contains(out, "removed 1 commune whose code differed") || !strings.Contains(out, "Muong-Lan, replaced by muong-lan") {
		t.Fatalf("import with --allow-removals:\n%s", out)
	}
	if list := in.must(admin, "communes", "list"); strings.Contains(list, "Muong-Lan") {
		t.Fatalf("the variant is still listed:\n%s", list)
	}
	if out := in.must(admin, "schedule", "build"); !strings.Contains(out, "built 7 communes") {
		t.Fatalf("schedule build after the removal:\n%s", out)
	}
}
