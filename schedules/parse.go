package schedules

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseRegistry reads a registry from r, choosing the format by the
// extension of name (.yaml, .yml or .csv). Name also prefixes error
// messages, as in "communes.yaml:12: ...".
func ParseRegistry(name string, r io.Reader) (*Registry, error) {
	var (
		reg *Registry
		err error
	)
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		reg, err = ParseRegistryYAML(r)
	case ".csv":
		reg, err = ParseRegistryCSV(r)
	default:
		return nil, fmt.Errorf("registry %s: unknown format; name the file .yaml, .yml or .csv", name)
	}
	return reg, withSource(err, name)
}

// withSource sets Source on every RegistryError inside err.
func withSource(err error, source string) error {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	tagged := false
	for _, e := range errs {
		var re *RegistryError
		if errors.As(e, &re) && re.Source == "" {
			re.Source = source
			tagged = true
		}
	}
	if !tagged {
		return fmt.Errorf("registry %s: %w", source, err)
	}
	return err
}

// lineTable remembers where each registry element began in its file, so
// validation problems can name a line.
type lineTable struct {
	zone        int // the time zone's line
	commune     []int
	communeSlot [][]int
	cluster     [][]int
	clusterSlot [][][]int
}

func (t *lineTable) addCommune(line int) {
	t.commune = append(t.commune, line)
	t.communeSlot = append(t.communeSlot, nil)
	t.cluster = append(t.cluster, nil)
	t.clusterSlot = append(t.clusterSlot, nil)
}

func (t *lineTable) addCluster(i, line int) {
	t.cluster[i] = append(t.cluster[i], line)
	t.clusterSlot[i] = append(t.clusterSlot[i], nil)
}

func (t *lineTable) lineOf(is issue) int {
	switch {
	case is.zone:
		return t.zone
	case is.commune < 0 || is.commune >= len(t.commune):
		return 0
	case is.cluster < 0 && is.slot < 0:
		return t.commune[is.commune]
	case is.cluster < 0:
		return at(t.communeSlot[is.commune], is.slot, t.commune[is.commune])
	case is.slot < 0:
		return at(t.cluster[is.commune], is.cluster, t.commune[is.commune])
	default:
		if is.cluster < len(t.clusterSlot[is.commune]) {
			return at(t.clusterSlot[is.commune][is.cluster], is.slot, t.commune[is.commune])
		}
		return t.commune[is.commune]
	}
}

func at(lines []int, i, fallback int) int {
	if i >= 0 && i < len(lines) {
		return lines[i]
	}
	return fallback
}

// ParseRegistryYAML reads a registry written in YAML and validates it:
//
//	timezone: Asia/Ho_Chi_Minh
//	communes:
//	  - code: muong-lan
//	    name: Mường Lạn
//	    kind: xa
//	    slots:
//	      - {days: Mon-Sat, start: "05:30", length: 30m, reserved: 10m}
//	    clusters:
//	      - {id: trung-tam, name: Loa trung tâm, languages: [blt, vi]}
//
// A cluster may carry its own slots, which replace the commune's. Errors
// carry the line they were found on.
func ParseRegistryYAML(r io.Reader) (reg *Registry, err error) {
	defer func() {
		if p := recover(); p != nil { // the YAML library must not take us down
			reg, err = nil, fmt.Errorf("read registry YAML: %v", p)
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, &RegistryError{Err: fmt.Errorf("empty file: %w", ErrMissing)}
		}
		return nil, yamlSyntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	reg = &Registry{}
	var lines lineTable
	p := newProblems()
	p.eachField(root, "registry", func(key string, v *yaml.Node) error {
		switch key {
		case "timezone":
			lines.zone = v.Line
			return scalar(v, key, &reg.TimeZone)
		case "communes":
			p.eachItem(v, key, func(n *yaml.Node) error {
				i := len(reg.Communes)
				lines.addCommune(n.Line)
				p.cur = i
				reg.Communes = append(reg.Communes, p.yamlCommune(n, &lines, i))
				p.cur = -1
				return nil
			})
		}
		return nil
	}, "timezone", "communes")
	if err := p.result(reg, lines.lineOf); err != nil {
		return nil, err
	}
	return reg, nil
}

// yamlSyntaxError turns the YAML library's "yaml: line 5: did not find
// expected key" into a RegistryError on that line, with advice.
func yamlSyntaxError(err error) error {
	rest, ok := strings.CutPrefix(err.Error(), "yaml: line ")
	if !ok {
		return fmt.Errorf("read registry YAML: %w", err)
	}
	num, what, ok := strings.Cut(rest, ": ")
	line, convErr := strconv.Atoi(num)
	if !ok || convErr != nil || line <= 0 {
		return fmt.Errorf("read registry YAML: %w", err)
	}
	return &RegistryError{Line: line, Err: fmt.Errorf("YAML syntax: %s; the file cannot be read past here, so check this line's indentation, quotes and brackets", what)}
}

func (p *problems) yamlCommune(n *yaml.Node, lines *lineTable, i int) Commune {
	var c Commune
	p.eachField(n, "commune", func(key string, v *yaml.Node) error {
		switch key {
		case "code":
			err := scalar(v, key, &c.Code)
			c.Code = NormalizeID(c.Code)
			return err
		case "name":
			return scalar(v, key, &c.Name)
		case "kind":
			var s string
			err := scalar(v, key, &s)
			c.Kind = UnitKind(s)
			return err
		case "slots":
			p.eachItem(v, key, func(n *yaml.Node) error {
				if s, ok := p.yamlSlot(n); ok {
					lines.communeSlot[i] = append(lines.communeSlot[i], n.Line)
					c.Slots = append(c.Slots, s)
				}
				return nil
			})
		case "clusters":
			p.eachItem(v, key, func(n *yaml.Node) error {
				lines.addCluster(i, n.Line)
				c.Clusters = append(c.Clusters, p.yamlCluster(n, lines, i, len(c.Clusters)))
				return nil
			})
		}
		return nil
	}, "code", "name", "kind", "slots", "clusters")
	return c
}

func (p *problems) yamlCluster(n *yaml.Node, lines *lineTable, i, j int) Cluster {
	var cl Cluster
	p.eachField(n, "cluster", func(key string, v *yaml.Node) error {
		switch key {
		case "id":
			err := scalar(v, key, &cl.ID)
			cl.ID = NormalizeID(cl.ID)
			return err
		case "name":
			return scalar(v, key, &cl.Name)
		case "languages":
			if v.Kind == yaml.ScalarNode {
				cl.Languages = splitLanguages(v.Value)
				return nil
			}
			p.eachItem(v, key, func(n *yaml.Node) error {
				var s string
				err := scalar(n, "language", &s)
				cl.Languages = append(cl.Languages, Language(strings.TrimSpace(s)))
				return err
			})
		case "slots":
			p.eachItem(v, key, func(n *yaml.Node) error {
				if s, ok := p.yamlSlot(n); ok {
					lines.clusterSlot[i][j] = append(lines.clusterSlot[i][j], n.Line)
					cl.Slots = append(cl.Slots, s)
				}
				return nil
			})
		}
		return nil
	}, "id", "name", "languages", "slots")
	return cl
}

// yamlSlot reads one slot; a problem is recorded and false returned, so
// the slot is left out.
func (p *problems) yamlSlot(n *yaml.Node) (Slot, bool) {
	var days, start, length, reserved string
	before := len(p.errs)
	p.eachField(n, "slot", func(key string, v *yaml.Node) error {
		switch key {
		case "days":
			return scalar(v, key, &days)
		case "start":
			return scalar(v, key, &start)
		case "length":
			return scalar(v, key, &length)
		case "reserved":
			return scalar(v, key, &reserved)
		}
		return nil
	}, "days", "start", "length", "reserved")
	if len(p.errs) > before {
		return Slot{}, false
	}
	s, err := parseSlot(days, start, length, reserved)
	if err != nil {
		p.add(&RegistryError{Line: n.Line, Err: err})
		return Slot{}, false
	}
	return s, true
}

// parseSlot turns the four text fields of a slot into a Slot.
func parseSlot(days, start, length, reserved string) (Slot, error) {
	var s Slot
	var err error
	if strings.TrimSpace(days) == "" {
		return s, fmt.Errorf("slot days: %w (e.g. Mon-Sat)", ErrMissing)
	}
	if s.Days, err = ParseWeekdays(days); err != nil {
		return s, err
	}
	if strings.TrimSpace(start) == "" {
		return s, fmt.Errorf("slot start: %w (e.g. \"05:30\")", ErrMissing)
	}
	if s.Start, err = ParseTimeOfDay(start); err != nil {
		return s, err
	}
	if s.Length, err = parseLength("length", length); err != nil {
		return s, err
	}
	if strings.TrimSpace(reserved) != "" {
		if s.Reserved, err = parseLength("reserved", reserved); err != nil {
			return s, err
		}
	}
	if err := s.check(); err != nil {
		return s, err
	}
	return s, nil
}

func parseLength(field, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("slot %s: %w (e.g. 30m)", field, ErrMissing)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("slot %s %q: want a duration such as 30m, 10m30s or 1h: %w", field, s, ErrBadSlot)
	}
	return d, nil
}

func splitLanguages(s string) []Language {
	var out []Language
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '|' || r == '/' || r == ' '
	}) {
		out = append(out, Language(f))
	}
	return out
}

// eachField calls fn for each key of the mapping n. Keys not in allowed,
// repeated keys, aliases and fn's errors are recorded, and the next key is
// read.
func (p *problems) eachField(n *yaml.Node, what string, fn func(key string, v *yaml.Node) error, allowed ...string) {
	if n.Kind != yaml.MappingNode {
		p.add(&RegistryError{Line: n.Line, Err: fmt.Errorf("%s: want a mapping of keys (%s), written as key: value lines or {key: value, ...}", what, strings.Join(allowed, ", "))})
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(&RegistryError{Line: k.Line, Err: fmt.Errorf("%s: keys must be plain words (%s)", what, strings.Join(allowed, ", "))})
			continue
		}
		if v.Kind == yaml.AliasNode || k.Kind == yaml.AliasNode {
			p.add(&RegistryError{Line: v.Line, Err: fmt.Errorf("%s %s: YAML aliases are not supported; write the value out", what, k.Value)})
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || a == k.Value
		}
		if !ok {
			p.add(&RegistryError{Line: k.Line, Err: fmt.Errorf("%s: unknown key %q (known: %s)", what, k.Value, strings.Join(allowed, ", "))})
			continue
		}
		if seen[k.Value] {
			p.add(&RegistryError{Line: k.Line, Err: fmt.Errorf("%s: key %q given twice; keep one", what, k.Value)})
			continue
		}
		seen[k.Value] = true
		p.add(fn(k.Value, v))
	}
}

// eachItem calls fn for each item of the list n, recording problems and
// going on with the next item.
func (p *problems) eachItem(n *yaml.Node, what string, fn func(n *yaml.Node) error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(&RegistryError{Line: n.Line, Err: fmt.Errorf("%s: want a list (one item per line starting with \"- \", or [a, b])", what)})
		return
	}
	for _, item := range n.Content {
		if item.Kind == yaml.AliasNode {
			p.add(&RegistryError{Line: item.Line, Err: fmt.Errorf("%s: YAML aliases are not supported; write the value out", what)})
			continue
		}
		p.add(fn(item))
	}
}

func scalar(n *yaml.Node, what string, dst *string) error {
	if n.Kind != yaml.ScalarNode {
		return &RegistryError{Line: n.Line, Err: fmt.Errorf("%s: want a single value", what)}
	}
	*dst = n.Value
	return nil
}

// csvColumns are the columns of a registry CSV file, in any order.
var csvColumns = []string{
	"commune_code", "commune_name", "kind", "cluster_id", "cluster_name",
	"languages", "days", "start", "length", "reserved",
}

// ParseRegistryCSV reads a registry from CSV and validates it. The first
// row names the columns: commune_code, commune_name, kind, cluster_id,
// cluster_name, languages, days, start, length, reserved (kind, cluster_name
// and reserved may be left out). Each row is one slot of one cluster;
// rows with the same commune_code and cluster_id belong together, and
// their repeated commune and cluster fields must agree or be empty.
// Languages are separated by spaces, ";" or "|", e.g. "blt vi". Lines
// starting with # are comments. The time zone is DefaultTimeZone.
func ParseRegistryCSV(r io.Reader) (*Registry, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RegistryError{Err: fmt.Errorf("empty file: %w", ErrMissing)}
	}
	if err != nil {
		return nil, fmt.Errorf("read registry CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range csvColumns {
			known = known || c == h
		}
		if !known {
			return nil, &RegistryError{Line: 1, Err: fmt.Errorf("unknown column %q (known: %s)", h, strings.Join(csvColumns, ", "))}
		}
		if _, dup := col[h]; dup {
			return nil, &RegistryError{Line: 1, Err: fmt.Errorf("column %q given twice", h)}
		}
		col[h] = i
	}
	for _, need := range []string{"commune_code", "commune_name", "cluster_id", "languages", "days", "start", "length"} {
		if _, ok := col[need]; !ok {
			return nil, &RegistryError{Line: 1, Err: fmt.Errorf("column %q: %w", need, ErrMissing)}
		}
	}
	reg := &Registry{}
	var lines lineTable
	p := newProblems()
	communeAt := map[string]int{}
	clusterAt := map[[2]string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		p.cur = -1
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read registry CSV: %w", err)
			}
			p.add(csvParseProblem(pe))
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			p.add(&RegistryError{Line: line, Err: fmt.Errorf("%d fields, header has %d: write one value per column, empty ones too (x,,y), and put a value holding a comma in quotes (\"a, b\")", len(rec), len(header))})
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		code, clusterID := NormalizeID(get("commune_code")), NormalizeID(get("cluster_id"))
		if code == "" {
			p.add(&RegistryError{Line: line, Err: fmt.Errorf("commune_code: %w (every row names its commune, e.g. muong-lan)", ErrMissing)})
			continue
		}
		i, ok := communeAt[code]
		if !ok {
			i = len(reg.Communes)
			communeAt[code] = i
			reg.Communes = append(reg.Communes, Commune{Code: code, Name: get("commune_name"), Kind: UnitKind(get("kind"))})
			lines.addCommune(line)
		}
		p.cur = i
		if clusterID == "" {
			p.add(&RegistryError{Line: line, Err: fmt.Errorf("cluster_id: %w (every row names its cluster, e.g. trung-tam)", ErrMissing)})
			continue
		}
		c := &reg.Communes[i]
		p.add(agree(line, "commune_name", &c.Name, get("commune_name")))
		kind := string(c.Kind)
		p.add(agree(line, "kind", &kind, get("kind")))
		c.Kind = UnitKind(kind)
		j, ok := clusterAt[[2]string{code, clusterID}]
		if !ok {
			j = len(c.Clusters)
			clusterAt[[2]string{code, clusterID}] = j
			c.Clusters = append(c.Clusters, Cluster{ID: clusterID})
			lines.addCluster(i, line)
		}
		cl := &c.Clusters[j]
		p.add(agree(line, "cluster_name", &cl.Name, get("cluster_name")))
		langs := strings.Join(languageStrings(cl.Languages), " ")
		p.add(agree(line, "languages", &langs, strings.Join(languageStrings(splitLanguages(get("languages"))), " ")))
		cl.Languages = splitLanguages(langs)
		s, err := parseSlot(get("days"), get("start"), get("length"), get("reserved"))
		if err != nil {
			p.add(&RegistryError{Line: line, Err: err})
			continue
		}
		cl.Slots = append(cl.Slots, s)
		lines.clusterSlot[i][j] = append(lines.clusterSlot[i][j], line)
	}
	p.cur = -1
	if err := p.result(reg, lines.lineOf); err != nil {
		return nil, err
	}
	return reg, nil
}

// csvParseProblem says what a CSV syntax error means and how to write the
// line instead.
func csvParseProblem(pe *csv.ParseError) *RegistryError {
	line := pe.StartLine
	if line == 0 {
		line = pe.Line
	}
	var what string
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		what = `a " inside a value that is not in quotes: put the whole value in quotes and double the " inside, as in "Loa ""trung tâm"""`
	case errors.Is(pe.Err, csv.ErrQuote):
		what = `a quoted value is not closed, or text follows its closing ": end the value with " right before the next comma or the end of the line`
	default:
		what = pe.Err.Error()
	}
	if pe.Line != line {
		what += fmt.Sprintf(" (the quoted value runs on to line %d)", pe.Line)
	}
	return &RegistryError{Line: line, Err: fmt.Errorf("CSV: %s", what)}
}

// agree sets *have to v when it is empty, and refuses a v that differs.
func agree(line int, field string, have *string, v string) error {
	switch {
	case v == "" || v == *have:
	case *have == "":
		*have = v
	default:
		return &RegistryError{Line: line, Err: fmt.Errorf("%s %q differs from %q given on an earlier row", field, v, *have)}
	}
	return nil
}

func languageStrings(ls []Language) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return out
}
