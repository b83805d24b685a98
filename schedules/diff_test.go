package schedules

import (
	"fmt"
	"testing"
	"time"
)

// TestDiffRegistry: what an import would change, cluster by cluster: a
// change of the commune's slots changes the clusters playing in them, not
// one with slots of its own; a rename of the commune is a changed
// commune; communes the stored registry has and the file leaves out do
// not show.
func TestDiffRegistry(t *testing.T) {
	morning := Slot{Days: monSat(t), Start: 5*3600 + 30*60, Length: 30 * time.Minute, Reserved: 10 * time.Minute}
	evening := Slot{Days: monSat(t), Start: 17 * 3600, Length: 30 * time.Minute}
	stored := func() *Registry {
		return &Registry{Communes: []Commune{
			{Code: "muong-lan", Name: "Mường Lạn", Kind: Xa, Slots: []Slot{morning}, Clusters: []Cluster{
				{ID: "trung-tam", Name: "Trung tâm", Languages: []Language{"blt", "vi"}},
				{ID: "ban-mong", Name: "Bản Mông", Languages: []Language{"hnj", "vi"}, Slots: []Slot{evening}},
			}},
			{Code: "ta-xua", Name: "Tà Xùa", Kind: Xa, Slots: []Slot{morning}, Clusters: []Cluster{{ID: "trung-tam", Name: "Trung tâm", Languages: []Language{"vi"}}}},
		}}
	}
	for _, tc := range []struct {
		name string
		edit func(r *Registry)
		want string
	}{
		{"same", func(*Registry) {}, "new [] changed [] added [] changed [] removed [] unchanged 3"},
		{"commune slots", func(r *Registry) { r.Communes[0].Slots = []Slot{evening} },
			"new [] changed [] added [] changed [muong-lan/trung-tam] removed [] unchanged 2"},
		{"renamed commune, cluster languages", func(r *Registry) {
			r.Communes[1].Name = "Tà Xùa (mới)"
			r.Communes[1].Clusters[0].Languages = []Language{"hnj", "vi"}
		}, "new [] changed [ta-xua] added [] changed [ta-xua/trung-tam] removed [] unchanged 2"},
		{"cluster removed and added, commune new", func(r *Registry) {
			r.Communes[0].Clusters = r.Communes[0].Clusters[:1]
			r.Communes[1].Clusters = append(r.Communes[1].Clusters, Cluster{ID: "ban-1", Name: "Bản 1", Languages: []Language{"vi"}})
			r.Communes = append(r.Communes, Commune{Code: "tan-yen", Name: "Tân Yên", Kind: Xa, Slots: []Slot{morning}, Clusters: []Cluster{{ID: "trung-tam", Name: "Trung tâm", Languages: []Language{"vi"}}}})
		}, "new [tan-yen] changed [] added [ta-xua/ban-1 tan-yen/trung-tam] changed [] removed [muong-lan/ban-mong] unchanged 2"},
		{"file with one commune", func(r *Registry) { r.Communes = r.Communes[1:] }, "new [] changed [] added [] changed [] removed [] unchanged 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := stored()
			tc.edit(next)
			d := DiffRegistry(stored(), next)
			got := fmt.Sprintf("new %v changed %v added %v changed %v removed %v unchanged %d", d.NewCommunes, d.ChangedCommunes, d.Added, d.Changed, d.Removed, d.Unchanged)
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// monSat is Monday to Saturday.
func monSat(t *testing.T) Weekdays {
	t.Helper()
	d, err := ParseWeekdays("Mon-Sat")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
