package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string // file name, e.g. 0007_device_polls.sql
	path    string // in the migrations' fs.FS, e.g. migrations/0007_device_polls.sql
}

// migrationName is a migration's file name: a version number of at least
// four digits, an underscore, a name, .sql.
var migrationName = regexp.MustCompile(`^([0-9]{4,})_[a-z0-9_]+\.sql$`)

// loadMigrations reads the migrations in fsys's folder dir, in version
// order. Versions must run 1, 2, 3… with none repeated or
// missing: a second 0007 file would otherwise never run on a database
// that has 0007, and a gap usually means a file lost in a merge.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	var ms []migration
	byVersion := map[int]string{}
	for _, p := range names {
		base := path.Base(p)
		m := migrationName.FindStringSubmatch(base)
		if m == nil {
			return nil, fmt.Errorf("migrate: %s is not named like 0008_what_it_does.sql (version number, underscore, lower-case name)", base)
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migrate: %s: the version must be a number from 1", base)
		}
		if other, ok := byVersion[v]; ok {
			return nil, fmt.Errorf("migrate: %s and %s have the same version %d: give the newer one the next free number", other, base, v)
		}
		byVersion[v] = base
		ms = append(ms, migration{version: v, name: base, path: p})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	var missing []string
	for i, want := 0, 1; i < len(ms); want++ {
		if ms[i].version == want {
			i++
			continue
		}
		missing = append(missing, strconv.Itoa(want))
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("migrate: version %s is missing (the migrations must be numbered 1, 2, 3… without gaps; the last is %s)",
			strings.Join(missing, ", "), ms[len(ms)-1].name)
	}
	return ms, nil
}

// checkNotNewer refuses a database that has migrations this binary does
// not know: it was migrated by a newer Loa, and this one would run on a
// schema it does not understand.
func (db *DB) checkNotNewer(ctx context.Context, ms []migration) error {
	var newest int
	if err := db.sql.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return fmt.Errorf("migrate: read applied versions: %w", err)
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].version
	}
	if newest > known {
		return fmt.Errorf("migrate: the database is at version %d but this loa knows versions up to %d only: it was used by a newer Loa; run that version (or restore a backup made before the upgrade)", newest, known)
	}
	return nil
}
