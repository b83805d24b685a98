package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sonla-cchc/loa/pipeline"
	"github.com/sonla-cchc/loa/schedules"
)

// registryText is a registry in YAML: each commune is "code:name" then
// its cluster ids; a cluster whose id starts with "ban-" has a slot of
// its own (its slots rows name it).
func registryText(communes ...[]string) string {
	var b strings.Builder
	b.WriteString("timezone: Asia/Ho_Chi_Minh\ncommunes:\n")
	for _, c := range communes {
		code, name, _ := strings.Cut(c[0], ":")
		fmt.Fprintf(&b, "  - code: %s\n    name: %s\n    slots: [{days: Mon-Sat, start: \"05:30\", length: 30m}]\n    clusters:\n", code, name)
		for _, id := range c[1:] {
			fmt.Fprintf(&b, "      - id: %s\n        languages: [vi]\n", id)
			if strings.HasPrefix(id, "ban-") {
				b.WriteString("        slots: [{days: Mon-Fri, start: \"17:00\", length: 20m}]\n")
			}
		}
	}
	return b.String()
}

func importText(t *testing.T, db *DB, text string, opt schedules.ImportOptions) (schedules.ImportResult, error) {
	t.Helper()
	reg, err := schedules.ParseRegistry("registry.yaml", strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return db.ImportRegistry(context.Background(), reg, opt)
}

// clusterIDs is what the store's tables hold of clusters: the clusters
// rows, and the cluster ids the slots rows name, each as "commune/id".
func clusterIDs(t *testing.T, db *DB) (clusters, slotClusters []string) {
	t.Helper()
	for q, out := range map[string]*[]string{
		"SELECT commune_code, id FROM clusters ORDER BY commune_code, id":                                              &clusters,
		"SELECT DISTINCT commune_code, cluster_id FROM slots WHERE cluster_id <> '' ORDER BY commune_code, cluster_id": &slotClusters,
	} {
		rows, err := db.sql.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c, id string
			if err := rows.Scan(&c, &id); err != nil {
				t.Fatal(err)
			}
			*out = append(*out, c+"/"+id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return clusters, slotClusters
}

// TestImportRegistryRemovals: an import that would take a cluster away
// from a commune it lists is refused, naming every such cluster and the
// way to allow it, and writes nothing (not even the file's other
// changes); allowed, it removes them with their slots and says which.
// A commune the file leaves out is kept whole: that is no removal.
func TestImportRegistryRemovals(t *testing.T) {
	t.Parallel()
	base := registryText(
		[]string{"muong-lan:Mường Lạn", "trung-tam", "ban-a", "ban-b"},
		[]string{"to-hieu:Tô Hiệu", "trung-tam", "ban-c"},
	)
	many := []string{"ta-xua:Tà Xùa", "trung-tam"}
	for i := 1; i <= 12; i++ {
		many = append(many, fmt.Sprintf("ban-%02d", i))
	}
	refs := func(s ...string) []schedules.ClusterRef {
		out := []schedules.ClusterRef{}
		for _, r := range s {
			c, id, _ := strings.Cut(r, "/")
			out = append(out, schedules.ClusterRef{Commune: c, Cluster: id})
		}
		return out
	}
	tests := []struct {
		name  string
		base  string // default base
		file  string
		allow bool
		// want is the refusal's text (every string in it), or nil when
		// the import goes through and removes removed.
		want    []string
		removed []schedules.ClusterRef
		// clusters are the clusters rows after the import.
		clusters []string
	}{
		{name: "same file", file: base, removed: refs(),
			clusters: []string{"muong-lan/ban-a", "muong-lan/ban-b", "muong-lan/trung-tam", "to-hieu/ban-c", "to-hieu/trung-tam"}},
		{name: "a cluster added", file: registryText([]string{"muong-lan:Mường Lạn", "trung-tam", "ban-a", "ban-b", "ban-d"}), removed: refs(),
			clusters: []string{"muong-lan/ban-a", "muong-lan/ban-b", "muong-lan/ban-d", "muong-lan/trung-tam", "to-hieu/ban-c", "to-hieu/trung-tam"}},
		{name: "a commune left out is kept", file: registryText([]string{"to-hieu:Tô Hiệu", "trung-tam", "ban-c"}), removed: refs(),
			clusters: []string{"muong-lan/ban-a", "muong-lan/ban-b", "muong-lan/trung-tam", "to-hieu/ban-c", "to-hieu/trung-tam"}},
		{name: "a cluster dropped", file: registryText([]string{"muong-lan:Mường Lạn", "trung-tam", "ban-b"}, []string{"to-hieu:Tô Hiệu", "trung-tam", "ban-c"}),
			want: []string{"1 cluster that its communes have now: muong-lan/ban-a.", "Nothing was imported", "--allow-removals", "allow_removals=1", "tick"}},
		{name: "a mistyped id", file: registryText([]string{"muong-lan:Mường Lạn (sửa)", "trung-tam", "ban-aa", "ban-b"}),
			want: []string{"1 cluster that its communes have now: muong-lan/ban-a."}},
		{name: "clusters of two communes dropped", file: registryText([]string{"muong-lan:Mường Lạn", "ban-b"}, []string{"to-hieu:Tô Hiệu", "ban-c"}),
			want: []string{"3 clusters that its communes have now: muong-lan/trung-tam, muong-lan/ban-a, to-hieu/trung-tam."}},
		{name: "twelve dropped, ten named", base: registryText(many), file: registryText([]string{"ta-xua:Tà Xùa", "trung-tam"}),
			want: []string{"12 clusters that its communes have now: ta-xua/ban-01, ta-xua/ban-02,", "ta-xua/ban-10 and 2 more."}},
		{name: "dropped with removals allowed", allow: true,
			file:     registryText([]string{"muong-lan:Mường Lạn", "trung-tam"}, []string{"to-hieu:Tô Hiệu", "trung-tam", "ban-c"}),
			removed:  refs("muong-lan/ban-a", "muong-lan/ban-b"),
			clusters: []string{"muong-lan/trung-tam", "to-hieu/ban-c", "to-hieu/trung-tam"}},
		{name: "mistyped id with removals allowed", allow: true,
			file:     registryText([]string{"muong-lan:Mường Lạn", "trung-tam", "ban-aa", "ban-b"}),
			removed:  refs("muong-lan/ban-a"),
			clusters: []string{"muong-lan/ban-aa", "muong-lan/ban-b", "muong-lan/trung-tam", "to-hieu/ban-c", "to-hieu/trung-tam"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := setup(t)
			if tc.base == "" {
				tc.base = base
			}
			if _, err := importText(t, db, tc.base, schedules.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			before, err := db.Registry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			beforeClusters, beforeSlots := clusterIDs(t, db)
			res, err := importText(t, db, tc.file, schedules.ImportOptions{AllowRemovals: tc.allow})
			if tc.want != nil {
				var pe *pipeline.Error
				if !errors.As(err, &pe) || pe.Code != pipeline.CodeInvalid || pe.Field != "allow_removals" || pe.Key != KeyRegistryRemovals {
					t.Fatalf("err = %#v (%v), want a refusal of field allow_removals with key %s", pe, err, KeyRegistryRemovals)
				}
				for _, w := range tc.want {
					if !strings.Contains(pe.Message, w) {
						t.Errorf("refusal %q\nlacks %q", pe.Message, w)
					}
				}
				if len(pe.Args) != 2 || !strings.Contains(pe.Message, pe.Args[1]) {
					t.Errorf("args %q: want the count and the list the message names", pe.Args)
				}
				after, err := db.Registry(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(before, after) {
					t.Errorf("a refused import changed the registry:\nbefore %+v\nafter  %+v", before, after)
				}
				afterClusters, afterSlots := clusterIDs(t, db)
				if !slices.Equal(beforeClusters, afterClusters) || !slices.Equal(beforeSlots, afterSlots) {
					t.Errorf("a refused import changed clusters %v -> %v, slots' clusters %v -> %v", beforeClusters, afterClusters, beforeSlots, afterSlots)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Removed, tc.removed) {
				t.Errorf("removed %v, want %v", res.Removed, tc.removed)
			}
			clusters, slotClusters := clusterIDs(t, db)
			if !slices.Equal(clusters, tc.clusters) {
				t.Errorf("clusters %v, want %v", clusters, tc.clusters)
			}
			for _, sc := range slotClusters { // no slot left of a removed cluster
				if !slices.Contains(clusters, sc) {
					t.Errorf("slots still name cluster %s, which is gone", sc)
				}
			}
		})
	}
}
