package access

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/pgusers/pgusers/pkg/report"
)

// FormatVersion is the version of the review's JSON, its pgusersAccess
// field: it changes only when a field changes meaning or goes away.
const FormatVersion = 1

// Document is a fleet's review: the JSON of pgusers access --output json
// (docs/schema/access.schema.json), which --compare reads back.
type Document struct {
	Version int `json:"pgusersAccess"`
	// Generated is when the review was made (RFC 3339, UTC), and Pgusers
	// which pgusers made it (pgusers version's line): the evidence an
	// auditor files says when and with what it was taken.
	Generated string         `json:"generated,omitempty"`
	Pgusers   string         `json:"pgusers,omitempty"`
	Servers   []ServerReview `json:"servers"`
}

// ServerReview is one server's review, or why it could not be made.
type ServerReview struct {
	Name string `json:"name"`
	// Error is why the server could not be reviewed; the rest is then
	// empty.
	Error string `json:"error,omitempty"`
	// MissingDatabases are the databases asked for (--database) that the
	// server does not have.
	MissingDatabases []string `json:"missingDatabases,omitempty"`
	Review
	// Changes are, with --compare, what changed since the earlier review.
	Changes *Changes `json:"changes,omitempty"`
}

// Failed reports whether a server of d could not be reviewed.
func (d Document) Failed() bool {
	return slices.ContainsFunc(d.Servers, func(s ServerReview) bool { return s.Error != "" })
}

// WriteJSON writes d as pgusers writes every JSON document.
func WriteJSON(w io.Writer, d Document) error { return report.WriteJSON(w, d) }

// ReadDocument reads a review written by --output json, for --compare.
func ReadDocument(name string) (Document, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return Document{}, fmt.Errorf("--compare: %w", err)
	}
	var probe struct {
		Version *int `json:"pgusersAccess"`
	}
	if err := json.Unmarshal(data, &probe); err != nil || probe.Version == nil {
		return Document{}, fmt.Errorf("--compare: %s is not a review written by pgusers access --output json (no \"pgusersAccess\" field)", name)
	}
	if *probe.Version != FormatVersion {
		return Document{}, fmt.Errorf("--compare: %s is a review of format %d; this pgusers reads format %d", name, *probe.Version, FormatVersion)
	}
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return Document{}, fmt.Errorf("--compare: %s: %w", name, err)
	}
	return d, nil
}

// Unreviewed is the review of a server that could not be reviewed: every
// list empty, none null.
func Unreviewed() Review {
	return Review{Databases: []string{}, Principals: []Principal{}, Rows: []Row{}, Findings: []Finding{}}
}

// ParseObject reads an --object value, DATABASE.SCHEMA.NAME, split at the
// first two dots (NAME may hold more).
func ParseObject(v string) (Object, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 || slices.Contains(parts, "") {
		return Object{}, fmt.Errorf("--object %q: want DATABASE.SCHEMA.NAME, e.g. orders.sales.payments", v)
	}
	return Object{Database: parts[0], Schema: parts[1], Name: parts[2]}, nil
}

// View is the view of output (text, markdown, csv or json).
func View(output string, detail bool) func(io.Writer, Document) error {
	switch output {
	case "json":
		return WriteJSON
	case "csv":
		return CSV
	case "markdown":
		return func(w io.Writer, d Document) error { return Markdown(w, d, detail) }
	}
	return func(w io.Writer, d Document) error { return Text(w, d, detail) }
}

// ParseObjects is ParseObject of each value.
func ParseObjects(values []string) ([]Object, error) {
	var out []Object
	for _, v := range values {
		o, err := ParseObject(v)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// Failures writes on w, one a line, why each server that failed did.
func Failures(w io.Writer, d Document) {
	for _, s := range d.Servers {
		if s.Error != "" {
			fmt.Fprintf(w, "error: server %s: %s\n", report.Escape(s.Name), report.EscapeLines(s.Error))
		}
	}
}
