package schedules

import (
	"errors"
	"fmt"
	"sort"
)

// MaxRegistryProblems caps how many problems a registry parse reports; the
// rest are counted in a last line.
const MaxRegistryProblems = 50

// problems collects what is wrong with a registry file as it is read, so
// one pass reports every bad line instead of stopping at the first.
type problems struct {
	errs []*RegistryError
	bad  map[int]bool // communes (by index) with a problem found while reading
	cur  int          // the commune being read, -1 for none
}

func newProblems() *problems { return &problems{bad: map[int]bool{}, cur: -1} }

// add records err, a *RegistryError or a plain error (then without a line).
func (p *problems) add(err error) {
	if err == nil {
		return
	}
	var re *RegistryError
	if !errors.As(err, &re) {
		re = &RegistryError{Err: err}
	}
	p.errs = append(p.errs, re)
	if p.cur >= 0 {
		p.bad[p.cur] = true
	}
}

// result validates reg and returns every problem, reading and validation
// together, ordered by line and capped at MaxRegistryProblems. Missing-value
// problems of a commune that already has a reading problem are left out:
// they would only echo it (a cluster whose one bad slot was left out has
// "no slots").
func (p *problems) result(reg *Registry, lineOf func(issue) int) error {
	all := append([]*RegistryError(nil), p.errs...)
	for _, is := range reg.validate(true) {
		if len(p.errs) > 0 && errors.Is(is.err, ErrMissing) && (is.commune < 0 || p.bad[is.commune]) {
			continue
		}
		e := &RegistryError{Where: reg.where(is), Err: is.err}
		if lineOf != nil {
			e.Line = lineOf(is)
		}
		all = append(all, e)
	}
	if len(all) == 0 {
		return nil
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	var errs []error
	for i, e := range all {
		if i == MaxRegistryProblems {
			errs = append(errs, fmt.Errorf("… and %d more problems not listed: fix the ones above and import again to see them", len(all)-i))
			break
		}
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
