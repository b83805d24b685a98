package sqlstore

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sonla-cchc/loa/pipeline"
)

// A schedule version's entries are stored as one blob on its
// schedule_versions row (column items) instead of one row each: a
// national build writes 3,321 rows instead of about a million. The
// encoding is compact because the same strings (segment ids, titles,
// audio keys, checksums, clusters, dates) repeat across a commune's
// entries:
//
//	byte      itemsMagic ('L'), byte itemsFormat (1)
//	uvarint   number of strings S, then S × (uvarint length, bytes);
//	          string 0 is always ""
//	uvarint   number of entries N, then N entries of
//	          uvarint string index: cluster, date, entry id, kind,
//	            segment id, language, title, topic, priority, why,
//	            reason, audio key, sha256
//	          uvarint slot start (s), uvarint position,
//	          varint start (Unix ns, as a difference from the previous
//	            entry's), varint duration (ms), varint size (bytes)
//
// Entries are stored in the order VersionItems returns them: by
// cluster, date, slot and position. Compression was measured and left
// out: with the strings shared, a commune's ~300 entries take about
// 8 KB, and gzip saved little for its cost on a national build.
const (
	itemsMagic  = 'L'
	itemsFormat = 1
)

// itemStrings is how many string fields an entry has.
const itemStrings = 13

// sortItems puts entries in stored order: cluster, date, slot, position.
func sortItems(items []pipeline.ScheduleItem) {
	slices.SortStableFunc(items, func(a, b pipeline.ScheduleItem) int { return compareItems(&a, &b) })
}

// compareItems orders entries as they are stored.
func compareItems(a, b *pipeline.ScheduleItem) int {
	return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Date, b.Date),
		cmp.Compare(a.SlotStart, b.SlotStart), cmp.Compare(a.Position, b.Position))
}

// itemFields are the string fields of it, in encoding order.
func itemFields(it *pipeline.ScheduleItem) [itemStrings]*string {
	return [itemStrings]*string{&it.Cluster, &it.Date, &it.EntryID, &it.Kind, &it.SegmentID, &it.Language, &it.Title,
		&it.Topic, &it.Priority, &it.Why, &it.Reason, &it.AudioKey, &it.SHA256}
}

// encodeItems encodes a version's entries as one blob, in stored order
// (the caller's slice is left as it is).
func encodeItems(items []pipeline.ScheduleItem) ([]byte, error) {
	var e itemEncoder
	b, err := e.encode(items)
	return slices.Clip(b), err
}

// itemEncoder encodes blobs, keeping its working memory from one to the
// next (a build encodes thousands).
type itemEncoder struct {
	index map[string]uint64
	table []string
	refs  []uint64
	order []int32
	runs  [][2]int32
	buf   []byte
}

// encode is encodeItems, into the encoder's own buffer: the blob it
// returns is valid until the next call.
func (e *itemEncoder) encode(items []pipeline.ScheduleItem) ([]byte, error) {
	if len(items) > 1<<31-1 {
		return nil, fmt.Errorf("%d entries in one version", len(items))
	}
	order := e.storedOrder(items)
	if e.index == nil {
		e.index = map[string]uint64{}
	}
	clear(e.index)
	e.index[""] = 0
	index := e.index
	table := append(e.table[:0], "")
	refs := e.refs[:0]
	defer func() { e.table, e.refs = table[:0], refs[:0] }()
	// Consecutive entries in stored order mostly share their cluster,
	// date, kind, language, priority and why: a field equal to the
	// previous entry's takes its reference without a lookup.
	var last [itemStrings]string
	var lastRef [itemStrings]uint64
	size := 2 + 2*binary.MaxVarintLen64
	for _, i := range order {
		if items[i].SlotStart < 0 || items[i].Position < 0 {
			return nil, fmt.Errorf("entry %s: negative slot start or position", items[i].EntryID)
		}
		for j, f := range itemFields(&items[i]) {
			if *f == last[j] {
				refs = append(refs, lastRef[j])
				continue
			}
			n, ok := index[*f]
			if !ok {
				n = uint64(len(table))
				index[*f] = n
				table = append(table, *f)
				size += binary.MaxVarintLen64 + len(*f)
			}
			last[j], lastRef[j] = *f, n
			refs = append(refs, n)
		}
	}
	size += len(items) * (itemStrings + 5) * binary.MaxVarintLen64
	b := slices.Grow(e.buf[:0], size)
	defer func() { e.buf = b[:0] }()
	b = append(b, itemsMagic, itemsFormat)
	b = binary.AppendUvarint(b, uint64(len(table)-1))
	for _, s := range table[1:] {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(items)))
	var prev int64
	for k, i := range order {
		it := &items[i]
		for _, r := range refs[k*itemStrings : (k+1)*itemStrings] {
			b = binary.AppendUvarint(b, r)
		}
		b = binary.AppendUvarint(b, uint64(it.SlotStart))
		b = binary.AppendUvarint(b, uint64(it.Position))
		ns := it.Start.UnixNano()
		b = binary.AppendVarint(b, ns-prev)
		prev = ns
		b = binary.AppendVarint(b, it.DurationMS)
		b = binary.AppendVarint(b, it.Size)
	}
	return b, nil
}

// storedOrder is the stored order of items as a permutation (entries
// are large to move), the order a stable sort by compareItems gives.
// A builder's entries come as playlists, each a run of positions in one
// cluster, date and slot: when the runs, put in order by their first
// entries, make a strictly increasing sequence, that is the order
// without sorting every entry; otherwise every entry is sorted.
func (e *itemEncoder) storedOrder(items []pipeline.ScheduleItem) []int32 {
	order, runs := e.order[:0], e.runs[:0]
	defer func() { e.order, e.runs = order[:0], runs[:0] }()
	for i := range items { // runs [start, end): playlists, positions increasing
		if i == 0 || !samePlaylist(&items[i-1], &items[i]) || items[i-1].Position >= items[i].Position {
			if i > 0 {
				runs[len(runs)-1][1] = int32(i)
			}
			runs = append(runs, [2]int32{int32(i), int32(len(items))})
		}
	}
	slices.SortStableFunc(runs, func(a, b [2]int32) int { return compareItems(&items[a[0]], &items[b[0]]) })
	for k := 1; k < len(runs); k++ {
		if compareItems(&items[runs[k-1][1]-1], &items[runs[k][0]]) >= 0 { // runs overlap
			for i := range items {
				order = append(order, int32(i))
			}
			slices.SortStableFunc(order, func(a, b int32) int { return compareItems(&items[a], &items[b]) })
			return order
		}
	}
	for _, r := range runs {
		for i := r[0]; i < r[1]; i++ {
			order = append(order, i)
		}
	}
	return order
}

// samePlaylist reports whether two entries are in one cluster's slot on
// one date.
func samePlaylist(a, b *pipeline.ScheduleItem) bool {
	return a.SlotStart == b.SlotStart && a.Date == b.Date && a.Cluster == b.Cluster
}

// errItems is the error of a blob that does not decode.
var errItems = errors.New("stored schedule entries do not decode")

// itemReader reads the parts of a blob, remembering the first error.
type itemReader struct {
	b   []byte
	err error
}

func (r *itemReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated number", errItems)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *itemReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated number", errItems)
		return 0
	}
	r.b = r.b[n:]
	return v
}

// decodeItems decodes a blob made by encodeItems. A blob that is
// truncated, has another format or refers to strings it does not have is
// an error wrapping errItems.
func decodeItems(b []byte) ([]pipeline.ScheduleItem, error) {
	if len(b) < 2 || b[0] != itemsMagic {
		return nil, fmt.Errorf("%w: not a schedule entries blob", errItems)
	}
	if b[1] != itemsFormat {
		return nil, fmt.Errorf("%w: format %d, this Loa reads format %d (written by a newer Loa?)", errItems, b[1], itemsFormat)
	}
	r := &itemReader{b: b[2:]}
	ns := r.uvarint()
	if ns > uint64(len(r.b)) { // each string takes at least its length byte
		return nil, fmt.Errorf("%w: %d strings in %d bytes", errItems, ns, len(r.b))
	}
	table := make([]string, 1, ns+1)
	for range ns {
		l := r.uvarint()
		if r.err != nil {
			return nil, r.err
		}
		if l > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: string of %d bytes with %d left", errItems, l, len(r.b))
		}
		table = append(table, string(r.b[:l]))
		r.b = r.b[l:]
	}
	n := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	if n > uint64(len(r.b))/(itemStrings+5) { // each entry takes at least one byte a field
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errItems, n, len(r.b))
	}
	items := make([]pipeline.ScheduleItem, n)
	var prev int64
	for i := range items {
		it := &items[i]
		for _, f := range itemFields(it) {
			k := r.uvarint()
			if k >= uint64(len(table)) {
				return nil, fmt.Errorf("%w: entry %d refers to string %d of %d", errItems, i, k, len(table))
			}
			*f = table[k]
		}
		slot, pos := r.uvarint(), r.uvarint()
		if slot > 1<<31 || pos > 1<<31 {
			return nil, fmt.Errorf("%w: entry %d: slot or position out of range", errItems, i)
		}
		it.SlotStart, it.Position = int(slot), int(pos)
		prev += r.varint()
		it.Start = time.Unix(0, prev).UTC()
		it.DurationMS = r.varint()
		it.Size = r.varint()
		if r.err != nil {
			return nil, r.err
		}
	}
	if len(r.b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last entry", errItems, len(r.b))
	}
	return items, nil
}
