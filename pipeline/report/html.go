package report

import (
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"
)

//go:embed templates/report.html
var templateFS embed.FS

// Bar is one bar of a chart: a label and one value per series.
type Bar struct {
	Label  string
	Values []float64
}

// BarChart draws grouped vertical bars as an inline SVG element (no
// script, no outside service), with a legend, value labels and a title
// for screen readers.
func BarChart(title string, series []string, bars []Bar) template.HTML {
	const w, h, left, bottom, top = 720, 260, 48, 40, 28
	colors := []string{"#2f6fb0", "#e0892f", "#3c9d5d", "#9b59b6"}
	maxV := 0.0
	for _, b := range bars {
		for _, v := range b.Values {
			maxV = max(maxV, v)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s"><title>%s</title>`, w, h, html.EscapeString(title), html.EscapeString(title))
	fmt.Fprintf(&sb, `<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>`, left, html.EscapeString(title))
	plotH := float64(h - bottom - top)
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, h-bottom, w-10, h-bottom)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="10" text-anchor="end">%s</text>`, left-4, top+4, trimFloat(maxV))
	fmt.Fprintf(&sb, `<text x="%d" y="%d" font-size="10" text-anchor="end">0</text>`, left-4, h-bottom)
	if n := len(bars); n > 0 {
		slot := float64(w-left-10) / float64(n)
		bw := slot * 0.8 / float64(max(len(series), 1))
		for i, b := range bars {
			x0 := float64(left) + slot*float64(i) + slot*0.1
			for j, v := range b.Values {
				bh := v / maxV * plotH
				fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s — %s: %s</title></rect>`,
					x0+bw*float64(j), float64(h-bottom)-bh, bw, bh, colors[j%len(colors)], html.EscapeString(b.Label), html.EscapeString(series[j%len(series)]), trimFloat(v))
			}
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x0+slot*0.4, h-bottom+14, html.EscapeString(b.Label))
		}
	}
	for j, s := range series {
		x := left + j*180
		fmt.Fprintf(&sb, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`,
			x, h-12, colors[j%len(colors)], x+14, h-3, html.EscapeString(s))
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String()) // every piece of text above is escaped
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}

// WriteHTML writes the report as one self-contained HTML page with inline
// SVG charts.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := template.New("report.html").Funcs(template.FuncMap{
		"minutes": Minutes, "hours": Hours, "percent": Percent, "local": localTime, "yesno": yesNo,
		"langname": LanguageName, "delay": delayMinutes, "join": strings.Join,
		"lastday": func(p Period) string { return p.Until.AddDate(0, 0, -1).Format("2006-01-02") },
	}).ParseFS(templateFS, "templates/report.html")
	if err != nil {
		return fmt.Errorf("report page: %w", err)
	}
	var months, targets, langs, topics []Bar
	for _, m := range r.Months {
		months = append(months, Bar{Label: m.Month, Values: []float64{Minutes(m.ScheduledMS), Minutes(m.PlayedMS)}})
		targets = append(targets, Bar{Label: m.Month, Values: []float64{float64(m.PortalItems), float64(m.BulletinIssues)}})
	}
	for _, l := range r.Languages {
		langs = append(langs, Bar{Label: LanguageName(l.Language), Values: []float64{Minutes(l.ScheduledMS), Minutes(l.PlayedMS)}})
	}
	for _, tp := range r.Topics {
		topics = append(topics, Bar{Label: tp.Letter, Values: []float64{float64(tp.Radio), float64(tp.TV)}})
	}
	data := struct {
		*Report
		AirChart, TargetChart, LanguageChart, TopicChart template.HTML
	}{
		Report:        r,
		AirChart:      BarChart("Phút phát sóng theo tháng", []string{"theo lịch", "đã phát (xác nhận)"}, months),
		TargetChart:   BarChart("Chỉ tiêu tháng", []string{"tin trên Cổng (≥2)", "số bản tin (≥4)"}, targets),
		LanguageChart: BarChart("Phút phát sóng theo ngôn ngữ", []string{"theo lịch", "đã phát"}, langs),
		TopicChart:    BarChart("Tin, bài theo chủ đề (§II.1)", []string{"phát thanh", "truyền hình"}, topics),
	}
	if err := t.Execute(w, data); err != nil {
		return fmt.Errorf("report page: %w", err)
	}
	return nil
}
