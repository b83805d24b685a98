package sqlstore

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// addLegacyCommune stores a commune as an older version could: its code
// with capitals or diacritics, in any time zone, with one cluster and a
// slot.
func addLegacyCommune(t *testing.T, db *DB, code, zone string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO communes (code, name, kind, time_zone, position, updated_at) VALUES (?, ?, 'xa', ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM communes), ?)",
			[]any{code, "Xã " + code, zone, time.Now().UTC()}},
		{"INSERT INTO clusters (commune_code, id, name, languages, position) VALUES (?, 'trung-tam', '', 'vi', 0)", []any{code}},
		{"INSERT INTO slots (commune_code, cluster_id, days, start_s, length_s, reserved_s, position) VALUES (?, '', 126, 19800, 1800, 0, 0)", []any{code}},
	} {
		if _, err := db.sql.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
}

func communeCodes(t *testing.T, db *DB) []string {
	t.Helper()
	reg, err := db.Registry(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range reg.Communes {
		out = append(out, c.Code)
	}
	return out
}

// TestImportRegistryVariantCodes: a registry stored by an older version
// may hold codes that differ from another only by case or diacritics
// ("Muong-Lan", "mường-lan" beside "muong-lan"). An import of the right
// code refuses to go on beside them, naming each, and writes nothing;
// with removals allowed it removes them (their clusters and slots too)
// and their devices answer for the right commune. A code in the wrong
// form is refused before anything is read.
func TestImportRegistryVariantCodes(t *testing.T) {
	t.Parallel()
	base := registryText([]string{"muong-lan:Mường Lạn", "trung-tam"}, []string{"to-hieu:Tô Hiệu", "trung-tam"})
	tests := []struct {
		name     string
		legacy   []string
		file     string
		allow    bool
		want     []string // the refusal's text; nil: imported
		removed  []schedules.ReplacedCommune
		communes []string // after
	}{
		{name: "variants refused", legacy: []string{"Muong-Lan", "mường-lan"}, file: base,
			want:     []string{"2 communes whose code differs from one in the file only by case or diacritics: Muong-Lan (muong-lan), mường-lan (muong-lan).", "Nothing was imported", "--allow-removals"},
			communes: []string{"muong-lan", "to-hieu", "Muong-Lan", "mường-lan"}},
		{name: "variants removed", legacy: []string{"Muong-Lan", "mường-lan"}, file: base, allow: true,
			removed:  []schedules.ReplacedCommune{{Code: "Muong-Lan", ReplacedBy: "muong-lan"}, {Code: "mường-lan", ReplacedBy: "muong-lan"}},
			communes: []string{"muong-lan", "to-hieu"}},
		{name: "a variant alone replaced", legacy: []string{"Tà-Xùa"}, file: registryText([]string{"ta-xua:Tà Xùa", "trung-tam"}), allow: true,
			removed:  []schedules.ReplacedCommune{{Code: "Tà-Xùa", ReplacedBy: "ta-xua"}},
			communes: []string{"muong-lan", "to-hieu", "ta-xua"}},
		{name: "a file without the commune leaves its variant", legacy: []string{"Muong-Lan"},
			file: registryText([]string{"to-hieu:Tô Hiệu", "trung-tam"}), allow: true, removed: []schedules.ReplacedCommune{},
			communes: []string{"muong-lan", "to-hieu", "Muong-Lan"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := setup(t)
			if _, err := importText(t, db, base, schedules.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, code := range tc.legacy {
				addLegacyCommune(t, db, code, schedules.DefaultTimeZone)
			}
			dev, _, err := db.CreateDevice(ctx, tc.legacy[0], "loa cũ")
			if err != nil {
				t.Fatal(err)
			}
			res, err := importText(t, db, tc.file, schedules.ImportOptions{AllowRemovals: tc.allow})
			if tc.want != nil {
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Code != pipeline.CodeInvalid || pe.Field != "allow_removals" || pe.Key != KeyRegistryVariants {
					t.Fatalf("err = %v, want a refusal of field allow_removals with key %s", err, KeyRegistryVariants)
				}
				for _, w := range tc.want {
					if !strings.Contains(pe.Message, w) {
						t.Errorf("refusal %q\nlacks %q", pe.Message, w)
					}
				}
			} else if err != nil {
				t.Fatal(err)
			} else if !reflect.DeepEqual(res.RemovedCommunes, tc.removed) {
				t.Errorf("removed %+v, want %+v", res.RemovedCommunes, tc.removed)
			}
			if got := communeCodes(t, db); !slices.Equal(got, tc.communes) {
				t.Errorf("communes %q, want %q", got, tc.communes)
			}
			var devCommune string
			if err := db.sql.QueryRowContext(ctx, "SELECT commune_code FROM devices WHERE user_id = ?", dev.ID).Scan(&devCommune); err != nil {
				t.Fatal(err)
			}
			wantDev := tc.legacy[0]
			if tc.allow && len(tc.removed) > 0 {
				wantDev = tc.removed[0].ReplacedBy
			}
			if devCommune != wantDev {
				t.Errorf("the device answers for %q, want %q", devCommune, wantDev)
			}
			clusters, _ := clusterIDs(t, db)
			for _, c := range clusters {
				code, _, _ := strings.Cut(c, "/")
				if !slices.Contains(tc.communes, code) {
					t.Errorf("cluster %s is left of a removed commune", c)
				}
			}
			var orphanSlots int
			if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*) FROM slots WHERE commune_code NOT IN (SELECT code FROM communes)").Scan(&orphanSlots); err != nil || orphanSlots != 0 {
				t.Errorf("%d slots of removed communes (%v)", orphanSlots, err)
			}
			// What is left builds: a variant left in place is left out of
			// the build, not the cause of its failure.
			reg, err := db.Registry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			kept, left, err := reg.Buildable()
			if err != nil {
				t.Fatal(err)
			}
			if len(kept.Communes)+len(left) != len(tc.communes) {
				t.Errorf("kept %d and left out %v of %q", len(kept.Communes), left, tc.communes)
			}
		})
	}
}

// TestImportRegistryRefusesBadCodesAndZones: the store holds an import
// to the registry's rules itself (the API hands it what it parsed): a
// code in the wrong form or another time zone is refused and nothing is
// written; a zone an older version stored is not used.
func TestImportRegistryRefusesBadCodesAndZones(t *testing.T) {
	t.Parallel()
	slot := []schedules.Slot{{Days: schedules.MondayToSaturday, Start: 5*3600 + 1800, Length: 30 * time.Minute, Reserved: 10 * time.Minute}}
	reg := func(zone, code string) *schedules.Registry {
		return &schedules.Registry{TimeZone: zone, Communes: []schedules.Commune{{Code: code, Name: "Mường Lạn", Kind: schedules.Xa, Slots: slot,
			Clusters: []schedules.Cluster{{ID: "trung-tam", Languages: []schedules.Language{schedules.Vietnamese}}}}}}
	}
	tests := []struct {
		name string
		reg  *schedules.Registry
		want []string
	}{
		{"capitals", reg("", "Muong-Lan"), []string{`"Muong-Lan"`, `write "muong-lan"`}},
		{"diacritics", reg(schedules.DefaultTimeZone, "mường-lan"), []string{`"mường-lan"`, `write "muong-lan"`}},
		{"another zone", reg("Europe/London", "muong-lan"), []string{`"Europe/London"`, schedules.DefaultTimeZone}},
		{"UTC", reg("UTC", "xa-tz"), []string{`"UTC"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := setup(t)
			if _, err := importText(t, db, registryText([]string{"muong-lan:Mường Lạn", "trung-tam"}), schedules.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			_, err := db.ImportRegistry(ctx, tc.reg, schedules.ImportOptions{AllowRemovals: true})
			if pipeline.ErrorCode(err) != pipeline.CodeInvalid {
				t.Fatalf("err = %v, want a refusal", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q lacks %q", err, w)
				}
			}
			var n int
			var zone string
			if err := db.sql.QueryRowContext(ctx, "SELECT COUNT(*), MAX(time_zone) FROM communes").Scan(&n, &zone); err != nil || n != 1 || zone != schedules.DefaultTimeZone {
				t.Errorf("communes %d in %q (%v), want muong-lan alone", n, zone, err)
			}
		})
	}
	t.Run("a zone stored by an older version", func(t *testing.T) {
		t.Parallel()
		db := setup(t)
		addLegacyCommune(t, db, "xa-tz", "Europe/London")
		got, err := db.Registry(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if loc, err := got.Location(); err != nil || loc.String() != schedules.DefaultTimeZone {
			t.Fatalf("the stored registry is read in %v (%v), want %s", loc, err, schedules.DefaultTimeZone)
		}
	})
}
