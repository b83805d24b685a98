// Package schedules holds the commune registry and the pure schedule
// builder of Loa: it decides what each loudspeaker cluster of each commune
// plays in each broadcast slot of the coming days.
//
// # Registry
//
// A [Registry] lists the commune-level units (xã, phường) with their
// official names and codes, their loudspeaker clusters (each with the
// languages it plays, most preferred first: Thái "blt", Mông "hnj",
// Vietnamese "vi") and the broadcast slots (weekdays, start, length and
// an optional reserved relay at the slot's start). All times are in the
// registry's zone, Asia/Ho_Chi_Minh. [ParseRegistryYAML],
// [ParseRegistryCSV] and [ParseRegistry] read one from a file and validate
// it, naming the line of each problem.
//
// # Building
//
// [Build] takes the catalog of ready [Variant]s, the registry, the history
// of what was [Aired] and [Options], and returns a [Schedule]: for every
// cluster, date and slot a [Playlist] of [Item]s with offsets and
// durations. Rules, in order: approved variants only, in a language the
// cluster takes (falling back along its list), inside the air window;
// emergencies, then priority items, then normal items by topic rotation
// over the plan's topics (§II.1 a–k, see [Topics]) and freshness; a normal
// segment does not return to a commune within Options.SeparationDays;
// items never overrun the slot, the normal ones being a best fit of the
// free seconds (an exact subset-sum on bitsets, with Options.Slack traded
// for rank); spare time goes to filler and the station ident.
//
// The build is deterministic: the same input gives the same schedule
// whatever the catalog order or the number of goroutines (communes are
// built in parallel, each by one goroutine, results stored by index).
// Adding a segment changes the playlists it enters; with separation on,
// what it displaces may air later and shift later days too.
//
// Every item says why it was chosen ([Item.Reason], with a [ReasonCode]);
// Schedule.LeftOut lists catalog problems, segments no language of some
// clusters can carry, and priority items that found no room;
// [Schedule.WhyNot] answers for any segment and cluster; [Explain]
// renders it all as plain text.
//
// The package does no input or output beyond the readers it is given: no
// database, network, object store or ffmpeg.
package schedules
