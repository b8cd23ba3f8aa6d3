// Package report is what a run of pgusers says about each server: one
// model (Report, built from the run's Results) and one view per output,
// as the command's --output and --dry-run choose: Text and ApplyText for
// people, Markdown for pull requests and job summaries, JSON for machines,
// and SQL for apply --dry-run. The views render the same Report, so they
// never disagree.
//
// Report and its parts are the public JSON document (formatVersion "1",
// docs/json.md): a field may be added, and never changes meaning without a
// new format version. Everything a view prints that came from a server or a
// file (names, hosts, reasons, errors) goes through Escape first, so that a
// name cannot clear a terminal or forge a line.
//
// The Go API is not yet stable: it serves the pgusers command.
package report
