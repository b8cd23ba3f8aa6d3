package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// writeJSON writes r as the JSON document of CONTRACT.md: the bytes of
// json.MarshalIndent(r, "", "  ") with HTML left unescaped, and a newline.
//
// It writes as it goes instead of calling encoding/json, which builds the
// whole document by reflection and then indents a second copy of it: for
// an apply of 10,000 changes that was 80 ms and 38 MB, now a few ms. The
// report types keep their json tags, and TestWriteJSONMatchesEncodingJSON
// holds this writer to encoding/json, byte for byte, for every field.
func writeJSON(w io.Writer, r report) error {
	j := jsonOut{b: bufio.NewWriterSize(w, 64<<10)}
	j.report(r)
	j.b.WriteByte('\n')
	return j.b.Flush() // bufio keeps the first write error
}

// jsonOut is an indenting JSON writer: two spaces per level, "key": value,
// and {} or [] for an empty object or list, as json.MarshalIndent does.
type jsonOut struct {
	b       *bufio.Writer
	depth   int
	empty   bool // the innermost open object or list has no element yet
	scratch bytes.Buffer
}

func (j *jsonOut) open(c byte) {
	j.b.WriteByte(c)
	j.depth++
	j.empty = true
}

func (j *jsonOut) close(c byte) {
	j.depth--
	if !j.empty {
		j.newline()
	}
	j.b.WriteByte(c)
	j.empty = false
}

func (j *jsonOut) newline() {
	j.b.WriteByte('\n')
	for range j.depth {
		j.b.WriteString("  ")
	}
}

// next starts an element of the innermost object or list.
func (j *jsonOut) next() {
	if !j.empty {
		j.b.WriteByte(',')
	}
	j.empty = false
	j.newline()
}

func (j *jsonOut) key(k string) {
	j.next()
	j.str(k)
	j.b.WriteString(": ")
}

func (j *jsonOut) str(s string) {
	if !plainASCII(s) {
		// Anything to escape, or any non-ASCII letter, goes through
		// encoding/json itself: its escaping is the contract (\u00XX,
		// \ufffd for invalid UTF-8, \u2028 and \u2029).
		j.scratch.Reset()
		enc := json.NewEncoder(&j.scratch)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s) // a string always encodes
		j.b.Write(bytes.TrimSuffix(j.scratch.Bytes(), []byte("\n")))
		return
	}
	j.b.WriteByte('"')
	j.b.WriteString(s)
	j.b.WriteByte('"')
}

// plainASCII reports whether s is printable ASCII without a quote or a
// backslash: JSON as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (j *jsonOut) strField(k, v string) {
	j.key(k)
	j.str(v)
}

// omitStr writes a field tagged omitempty.
func (j *jsonOut) omitStr(k, v string) {
	if v != "" {
		j.strField(k, v)
	}
}

func (j *jsonOut) intField(k string, v int) {
	j.key(k)
	j.b.WriteString(strconv.Itoa(v))
}

// omitTrue writes a bool field tagged omitempty.
func (j *jsonOut) omitTrue(k string, v bool) {
	if v {
		j.key(k)
		j.b.WriteString("true")
	}
}

// list writes xs as a JSON list, or null for a nil slice.
func list[T any](j *jsonOut, xs []T, each func(T)) {
	if xs == nil {
		j.b.WriteString("null")
		return
	}
	j.open('[')
	for _, x := range xs {
		j.next()
		each(x)
	}
	j.close(']')
}

// omitList writes a list field tagged omitempty.
func omitList[T any](j *jsonOut, k string, xs []T, each func(T)) {
	if len(xs) > 0 {
		j.key(k)
		list(j, xs, each)
	}
}

func (j *jsonOut) strings(ss []string) { list(j, ss, j.str) }

func (j *jsonOut) report(r report) {
	j.open('{')
	j.strField("formatVersion", r.FormatVersion)
	j.omitStr("dryRun", r.DryRun)
	j.key("servers")
	list(j, r.Servers, j.server)
	j.key("summary")
	j.summary(r.Summary)
	j.close('}')
}

func (j *jsonOut) server(s serverReport) {
	j.open('{')
	j.strField("name", s.Name)
	j.strField("host", s.Host)
	j.strField("status", string(s.Status))
	j.strField("error", s.Error)
	j.key("changes")
	list(j, s.Changes, j.change)
	omitList(j, "kept", s.Kept, func(k keptReport) {
		j.open('{')
		j.strField("principal", k.Principal)
		j.strField("why", k.Why)
		j.close('}')
	})
	j.intField("principals", s.Principals)
	omitList(j, "blockers", s.Blockers, func(b blockerReport) {
		j.open('{')
		j.strField("principal", b.Principal)
		j.strField("database", b.Database)
		j.strField("dependency", string(b.Dependency))
		j.omitStr("objectType", b.ObjectType)
		j.omitStr("object", b.Object)
		j.intField("count", b.Count)
		j.close('}')
	})
	omitList(j, "cleanups", s.Cleanups, func(c cleanupReport) {
		j.open('{')
		j.strField("database", c.Database)
		j.key("principals")
		j.strings(c.Principals)
		j.key("sql")
		j.strings(c.SQL)
		j.close('}')
	})
	if f := s.Failed; f != nil {
		j.key("failed")
		j.open('{')
		j.omitStr("database", f.Database)
		j.omitStr("action", string(f.Action))
		j.omitStr("principal", f.Principal)
		j.strField("sql", f.SQL)
		j.strField("error", f.Error)
		j.close('}')
	}
	j.close('}')
}

func (j *jsonOut) change(c changeReport) {
	j.open('{')
	j.strField("action", string(c.Action))
	j.strField("principal", c.Principal)
	j.omitStr("type", c.Type)
	j.omitStr("objectId", c.ObjectID)
	j.omitTrue("admin", c.Admin)
	j.omitTrue("mfa", c.MFA)
	j.omitStr("role", c.Role)
	j.strField("reason", c.Reason)
	j.key("sql")
	j.strings(c.SQL)
	j.close('}')
}

func (j *jsonOut) summary(s summary) {
	j.open('{')
	j.intField("create", s.Create)
	j.intField("drop", s.Drop)
	j.intField("replace", s.Replace)
	j.intField("grant", s.Grant)
	j.intField("revoke", s.Revoke)
	j.intField("inSync", s.InSync)
	j.intField("withChanges", s.WithChanges)
	j.intField("applied", s.Applied)
	j.intField("failed", s.Failed)
	j.close('}')
}
