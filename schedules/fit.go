package schedules

import "math/bits"

// fitter picks which candidates go into a slot. Candidates come in order
// of preference; it returns the subset that, among all subsets whose total
// is within slack of the fullest possible fill (never over capacity), is
// best by preference: it keeps the first candidate if it can, then the
// second, and so on. It is an exact subset-sum over whole seconds, done
// on bitsets, with a fast path when taking candidates in order while they
// fit already comes within slack of the capacity.
//
// A fitter holds scratch memory; use one per goroutine.
type fitter struct {
	rows []uint64
}

// choose sets take[i] for the chosen candidates and returns their total.
// All secs must be positive.
func (f *fitter) choose(secs []int, capacity, slack int, take []bool) int {
	n := len(secs)
	for i := range take[:n] {
		take[i] = false
	}
	if capacity <= 0 || n == 0 {
		return 0
	}
	// Fast path: in order while they fit.
	acc := 0
	for i, s := range secs {
		if acc+s <= capacity {
			take[i] = true
			acc += s
		}
	}
	if acc >= capacity-slack {
		return acc
	}
	for i := range take[:n] {
		take[i] = false
	}
	// reach[i] holds the sums (up to capacity) that candidates i..n-1 can make.
	w := capacity/64 + 1
	if cap(f.rows) < (n+1)*w {
		f.rows = make([]uint64, (n+1)*w)
	}
	rows := f.rows[:(n+1)*w]
	clear(rows)
	row := func(i int) []uint64 { return rows[i*w : (i+1)*w] }
	row(n)[0] = 1
	lastMask := ^uint64(0)
	if r := (capacity + 1) % 64; r != 0 {
		lastMask = 1<<uint(r) - 1
	}
	for i := n - 1; i >= 0; i-- {
		orShifted(row(i), row(i+1), secs[i])
		row(i)[w-1] &= lastMask
	}
	best := highestBit(row(0))
	lo := max(best-slack, 0)
	acc = 0
	for i, s := range secs {
		if acc+s <= capacity && anyInRange(row(i+1), max(lo-acc-s, 0), capacity-acc-s) {
			take[i] = true
			acc += s
		}
	}
	return acc
}

// orShifted sets dst = src | src<<shift (bit i of word j is the sum 64j+i).
func orShifted(dst, src []uint64, shift int) {
	ws, bs := shift/64, uint(shift%64)
	for j := len(dst) - 1; j >= 0; j-- {
		v := src[j]
		if k := j - ws; k >= 0 {
			v |= src[k] << bs
			if bs > 0 && k > 0 {
				v |= src[k-1] >> (64 - bs)
			}
		}
		dst[j] = v
	}
}

func highestBit(b []uint64) int {
	for j := len(b) - 1; j >= 0; j-- {
		if b[j] != 0 {
			return 64*j + 63 - bits.LeadingZeros64(b[j])
		}
	}
	return -1
}

// anyInRange reports whether any bit in [lo, hi] is set.
func anyInRange(b []uint64, lo, hi int) bool {
	if lo > hi || hi < 0 {
		return false
	}
	if limit := len(b)*64 - 1; hi > limit {
		hi = limit
	}
	for j := lo / 64; j <= hi/64; j++ {
		v := b[j]
		if j == lo/64 {
			v &= ^uint64(0) << uint(lo%64)
		}
		if j == hi/64 && hi%64 != 63 {
			v &= 1<<uint(hi%64+1) - 1
		}
		if v != 0 {
			return true
		}
	}
	return false
}
