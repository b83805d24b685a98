package schedules_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/sonla-cchc/loa/schedules"
)

func Example() {
	reg, err := schedules.ParseRegistryYAML(strings.NewReader(`
communes:
  - code: muong-lan
    name: Mường Lạn
    kind: xa
    slots:
      - {days: Mon-Sat, start: "05:30", length: 10m, reserved: 2m}
    clusters:
      - {id: trung-tam, languages: [blt, vi]}
`))
	if err != nil {
		log.Fatal(err)
	}
	loc, _ := reg.Location()
	ready := time.Date(2025, 7, 1, 9, 0, 0, 0, loc)
	catalog := []schedules.Variant{
		{SegmentID: "dvc-truc-tuyen", Title: "Dịch vụ công trực tuyến", Topic: schedules.TopicProcedures,
			Language: schedules.Thai, Approved: true, Duration: 3 * time.Minute, ReadyAt: ready},
		{SegmentID: "de-an-06", Title: "Đề án 06", Topic: schedules.TopicDigital,
			Language: schedules.Vietnamese, Approved: true, Duration: 4 * time.Minute, ReadyAt: ready.Add(time.Hour)},
		{SegmentID: "de-an-06", Title: "Đề án 06", Topic: schedules.TopicDigital,
			Language: schedules.Thai, Approved: false, Duration: 4 * time.Minute, ReadyAt: ready},
		{SegmentID: "chi-so-par", Title: "Chỉ số PAR INDEX", Topic: schedules.TopicIndices,
			Language: schedules.Hmong, Approved: true, Duration: 2 * time.Minute, ReadyAt: ready},
	}
	opts := schedules.DefaultOptions(schedules.Date{Year: 2025, Month: time.July, Day: 7})
	opts.Days = 1
	opts.Ident = schedules.Clip{ID: "ident", Title: "Đài truyền thanh xã", Duration: 20 * time.Second}
	s, err := schedules.Build(catalog, reg, nil, opts)
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range s.Playlists[0].Items {
		fmt.Printf("+%-5s %-7s %-14s %-3s %s\n", it.Offset, it.Kind, it.SegmentID, it.Language, it.Why)
	}
	fmt.Println(s.Playlists[0].Items[2].Reason())
	why := s.WhyNot("chi-so-par", "muong-lan", "trung-tam")
	fmt.Println("chi-so-par:", why.Code, "-", why.Text)
	// Output:
	// +0s    relay                      relay
	// +2m0s  segment dvc-truc-tuyen blt ranked
	// +5m0s  segment de-an-06       vi  ranked
	// +9m0s  ident   ident              ident
	// normal: topic g by rotation (count 0), freshness rank 1; in vi, choice 2 of the cluster's languages (no approved variant in the earlier ones for this slot)
	// chi-so-par: no-language - approved only in hnj; clusters taking blt, vi cannot play it
}
