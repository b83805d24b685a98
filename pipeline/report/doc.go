// Package report computes the CCHC communication report that Sơn La's
// plan asks every unit to send Sở Nội vụ quarterly, every six months and
// yearly: segments produced by topic, producer and kind; translation per
// language; broadcast per commune, cluster and language, scheduled
// against actually played (proof of play); emergencies; and the plan's
// monthly targets.
//
// The package is pure: it reads rows pushed into a Builder by a store at
// the edge (pipeline/sqlstore.FeedReport) and never touches a database,
// the network or the clock. The same Report renders as XLSX (with a
// chart), CSV and an HTML page with inline SVG charts.
//
// A report is computed from the catalog as it is when it is built and is
// never edited by hand: the figures are reproducible from the rows.
package report
