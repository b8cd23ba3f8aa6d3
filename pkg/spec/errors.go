package spec

import (
	"fmt"
	"strings"
)

// Error is one problem in the desired-state files.
type Error struct {
	Pos Position
	// Server, Set, Profile, Role and Principal name what the problem is
	// about, where known. Set is only given for a problem inside a
	// principal or role set's own definition; on a server the position
	// says where a principal or role came from. Profile names a privilege
	// profile whose definition has the problem; Role a group role.
	Server    string
	Set       string
	Profile   string
	Role      string
	Principal string
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	if p := e.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if e.Server != "" {
		b.WriteString("server ")
		fmt.Fprint(&b, bounded(e.Server))
		b.WriteString(": ")
	}
	if e.Set != "" {
		b.WriteString("set ")
		fmt.Fprint(&b, bounded(e.Set))
		b.WriteString(": ")
	}
	if e.Profile != "" {
		b.WriteString("profile ")
		fmt.Fprint(&b, bounded(e.Profile))
		b.WriteString(": ")
	}
	if e.Role != "" {
		b.WriteString("role ")
		fmt.Fprint(&b, bounded(e.Role))
		b.WriteString(": ")
	}
	if e.Principal != "" {
		b.WriteString("principal ")
		fmt.Fprint(&b, bounded(e.Principal))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem Load found, in file order. Load returns it as its
// error, so a caller can print each on its own line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find an *Error inside the Errors.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
