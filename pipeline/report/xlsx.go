package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/sonla-cchc/loa/pipeline/formula"
)

// The sheets of the XLSX form, in order.
const (
	SheetSummary     = "Tong hop"
	SheetMonths      = "Chi tieu thang"
	SheetTopics      = "Chu de"
	SheetProducers   = "Don vi san xuat"
	SheetTranslation = "Bien dich"
	SheetBroadcast   = "Phat song"
	SheetCommunes    = "Xa phuong"
	SheetGaps        = "Thieu ngon ngu"
	SheetEmergencies = "Khan cap"
)

// Sheets lists the sheet names of the XLSX form. The names are ASCII so
// that formulas and scripts referring to them need no quoting tricks.
var Sheets = []string{SheetSummary, SheetMonths, SheetTopics, SheetProducers, SheetTranslation, SheetBroadcast, SheetCommunes, SheetGaps, SheetEmergencies}

// WriteXLSX writes the report as an Excel workbook: a sheet per part and
// a chart of monthly airtime (scheduled against played) and of the
// monthly targets.
func (r *Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DDEBF7"}, Pattern: 1}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	title, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}})
	if err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	for i, name := range Sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return fmt.Errorf("xlsx: %w", err)
			}
			continue
		}
		if _, err := f.NewSheet(name); err != nil {
			return fmt.Errorf("xlsx: %w", err)
		}
	}
	var werr error
	table := func(sheet string, header []string, rows [][]any) {
		if werr != nil {
			return
		}
		cell, _ := excelize.CoordinatesToCellName(1, 1)
		if werr = f.SetSheetRow(sheet, cell, &header); werr != nil {
			return
		}
		last, _ := excelize.CoordinatesToCellName(len(header), 1)
		werr = f.SetCellStyle(sheet, "A1", last, bold)
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			row := formula.Row(row) // titles, names and reasons come from people
			if werr = f.SetSheetRow(sheet, cell, &row); werr != nil {
				return
			}
		}
		for c := range header {
			col, _ := excelize.ColumnNumberToName(c + 1)
			width := 14.0
			if c == 0 {
				width = 22
			}
			_ = f.SetColWidth(sheet, col, col, width)
		}
		if len(rows) > 0 {
			_ = f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
		}
	}

	// Summary: label / value pairs.
	s := r.Summary
	scope := "Toàn tỉnh Sơn La"
	if r.Commune != "" {
		scope = "Xã/phường " + r.CommuneName + " (" + r.Commune + ")"
	}
	sum := [][]any{
		{"Kỳ báo cáo (period)", r.Period.Name},
		{"Từ ngày", r.Period.From.Format("2006-01-02")},
		{"Đến ngày", r.Period.Until.AddDate(0, 0, -1).Format("2006-01-02")},
		{"Phạm vi", scope},
		{"Lập lúc", localTime(r.GeneratedAt)},
		{"Kỳ đã kết thúc", map[bool]string{true: "chưa (số liệu tạm tính)", false: "có"}[r.Partial]},
		{"Tin, bài sản xuất", s.Segments},
		{"  phát thanh (radio)", s.Radio},
		{"  truyền hình (TV)", s.TV},
		{"Đã rút", s.Withdrawn},
		{"Việc biên dịch mở", s.JobsOpened},
		{"Việc biên dịch duyệt", s.JobsApproved},
		{"Việc biên dịch quá hạn", s.JobsOverdue},
		{"Phút theo lịch", Minutes(s.ScheduledMS)},
		{"Phút đã phát (xác nhận)", Minutes(s.PlayedMS)},
		{"Tỷ lệ phát (%)", Percent(s.PlayedMS, s.ScheduledMS)},
		{"Khung giờ dự kiến", s.SlotsExpected},
		{"Khung giờ có lịch", s.SlotsScheduled},
		{fmt.Sprintf("Khung giờ thiếu nội dung (< %.0f %%)", r.Underfill*100), s.SlotsUnderfilled},
		{"Số xã/phường", s.Communes},
		{"Xã/phường thiếu nội dung theo ngôn ngữ", s.CommunesWithGaps},
		{"Tin khẩn cấp", s.Emergencies},
		{"Tháng đạt đủ chỉ tiêu", fmt.Sprintf("%d/%d", s.MonthsAllMet, len(r.Months))},
	}
	table(SheetSummary, []string{"Chỉ tiêu", "Giá trị"}, sum)
	if werr == nil {
		_ = f.InsertRows(SheetSummary, 1, 2)
		_ = f.SetCellValue(SheetSummary, "A1", "Báo cáo tuyên truyền CCHC — "+r.Period.Name)
		_ = f.SetCellStyle(SheetSummary, "A1", "A1", title)
		_ = f.SetColWidth(SheetSummary, "A", "A", 44)
		_ = f.SetColWidth(SheetSummary, "B", "B", 30)
	}

	var months [][]any
	for _, m := range r.Months {
		months = append(months, []any{m.Month, m.Segments, m.PortalItems, m.BulletinIssues, m.ThaiItems, m.HmongItems,
			Minutes(m.ScheduledMS), Minutes(m.PlayedMS), yesNo(m.PortalMet), yesNo(m.BulletinMet), yesNo(m.LanguagesMet)})
	}
	table(SheetMonths, []string{"Tháng", "Tin, bài", "Tin trên Cổng (≥2)", "Số bản tin (≥4)", "Tiếng Thái", "Tiếng Mông",
		"Phút theo lịch", "Phút đã phát", "Cổng TTĐT", "Bản tin", "Thái và Mông"}, months)

	var topics [][]any
	for _, t := range r.Topics {
		topics = append(topics, []any{t.Letter, t.Code, t.Name, t.Radio, t.TV, t.Total})
	}
	table(SheetTopics, []string{"Mục (§II.1)", "Mã", "Nội dung", "Phát thanh", "Truyền hình", "Tổng"}, topics)

	var prods [][]any
	for _, p := range r.Producers {
		prods = append(prods, []any{p.Producer, p.Radio, p.TV, p.Total, p.Withdrawn})
	}
	table(SheetProducers, []string{"Đơn vị / người sản xuất", "Phát thanh", "Truyền hình", "Tổng", "Đã rút"}, prods)

	var tr [][]any
	for _, l := range r.Translation {
		tr = append(tr, []any{l.Language, l.Name, l.Opened, l.Approved, Hours(l.MedianMS), Hours(l.P90MS), l.Overdue, l.Open})
	}
	table(SheetTranslation, []string{"Mã", "Ngôn ngữ", "Việc mở", "Đã duyệt", "Trung vị (giờ)", "P90 (giờ)", "Quá hạn", "Còn mở"}, tr)

	var bc [][]any
	for _, b := range r.Broadcast {
		bc = append(bc, []any{b.Commune, b.CommuneName, b.Cluster, b.Language, b.Entries, b.Played, Minutes(b.ScheduledMS), Minutes(b.PlayedMS), Percent(b.PlayedMS, b.ScheduledMS)})
	}
	table(SheetBroadcast, []string{"Mã xã", "Xã/phường", "Cụm loa", "Ngôn ngữ", "Mục theo lịch", "Mục đã phát", "Phút theo lịch", "Phút đã phát", "Tỷ lệ (%)"}, bc)

	var cm [][]any
	for _, c := range r.Communes {
		cm = append(cm, []any{c.Commune, c.Name, c.Clusters, Minutes(c.ScheduledMS), Minutes(c.PlayedMS), Percent(c.PlayedMS, c.ScheduledMS),
			c.SlotsExpected, c.SlotsScheduled, c.SlotsUnderfilled, strings.Join(c.MissingLanguages, ", ")})
	}
	table(SheetCommunes, []string{"Mã xã", "Xã/phường", "Cụm loa", "Phút theo lịch", "Phút đã phát", "Tỷ lệ (%)",
		"Khung dự kiến", "Khung có lịch", "Khung thiếu nội dung", "Ngôn ngữ không có nội dung"}, cm)

	var gaps [][]any
	for _, g := range r.Gaps {
		gaps = append(gaps, []any{g.Commune, g.CommuneName, g.Cluster, g.Language, LanguageName(g.Language)})
	}
	table(SheetGaps, []string{"Mã xã", "Xã/phường", "Cụm loa", "Mã ngôn ngữ", "Ngôn ngữ"}, gaps)

	var ems [][]any
	for _, e := range r.Emergencies {
		for _, t := range e.Targets {
			ems = append(ems, []any{e.SegmentID, e.Title, e.RequestedBy, e.MarkedBy, localTime(t.RaisedAt), t.Commune, t.Name,
				localTime(t.ChangedAt), delayMinutes(t.RaisedAt, t.ChangedAt), localTime(t.FirstPlayed), delayMinutes(t.RaisedAt, t.FirstPlayed)})
		}
	}
	table(SheetEmergencies, []string{"Mã tin", "Tiêu đề", "Người yêu cầu", "Người phát lệnh", "Phát lệnh lúc", "Mã xã", "Xã/phường",
		"Danh sách phát đổi lúc", "Sau (phút)", "Phát lần đầu lúc", "Sau (phút)"}, ems)
	if werr != nil {
		return fmt.Errorf("xlsx: %w", werr)
	}

	if n := len(r.Months); n > 0 {
		ref := func(col string) string { return fmt.Sprintf("'%s'!$%s$2:$%s$%d", SheetMonths, col, col, n+1) }
		chart := &excelize.Chart{
			Type: excelize.Col,
			Series: []excelize.ChartSeries{
				{Name: fmt.Sprintf("'%s'!$G$1", SheetMonths), Categories: ref("A"), Values: ref("G")},
				{Name: fmt.Sprintf("'%s'!$H$1", SheetMonths), Categories: ref("A"), Values: ref("H")},
			},
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Phút phát sóng theo tháng: theo lịch và đã phát"}}},
			Legend: excelize.ChartLegend{Position: "bottom"},
			Format: excelize.GraphicOptions{OffsetX: 10, OffsetY: 10},
		}
		if err := f.AddChart(SheetMonths, "M2", chart); err != nil {
			return fmt.Errorf("xlsx chart: %w", err)
		}
		items := &excelize.Chart{
			Type: excelize.Col,
			Series: []excelize.ChartSeries{
				{Name: fmt.Sprintf("'%s'!$C$1", SheetMonths), Categories: ref("A"), Values: ref("C")},
				{Name: fmt.Sprintf("'%s'!$D$1", SheetMonths), Categories: ref("A"), Values: ref("D")},
			},
			Title:  excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: "Chỉ tiêu tháng: tin trên Cổng (≥2), bản tin (≥4)"}}},
			Legend: excelize.ChartLegend{Position: "bottom"},
		}
		if err := f.AddChart(SheetMonths, "M20", items); err != nil {
			return fmt.Errorf("xlsx chart: %w", err)
		}
	}
	if err := f.SetDocProps(&excelize.DocProperties{Title: "Báo cáo tuyên truyền CCHC " + r.Period.Name, Creator: "Loa", Description: "Computed by Loa from its catalog; not edited by hand."}); err != nil {
		return fmt.Errorf("xlsx: %w", err)
	}
	f.SetActiveSheet(0)
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("write xlsx: %w", err)
	}
	return nil
}
