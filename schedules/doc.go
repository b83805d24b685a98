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
// The package does no input or output beyond the readers it is given: no
// database, network, object store or ffmpeg.
package schedules
