package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// FleetServer is one server of pgusers servers: as the files and Azure
// Resource Manager define it.
type FleetServer struct {
	Name string `json:"name"`
	Host string `json:"host"`
	Port int    `json:"port"`
	// Source is "listed" (the files name its host) or "discovered" (a
	// discover entry found it in Azure).
	Source string `json:"source"`
	// What Azure says of a discovered server; empty for a listed one.
	Location  string            `json:"location,omitempty"`
	Version   string            `json:"version,omitempty"`
	State     string            `json:"state,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	EntraAuth *bool             `json:"entraAuth,omitempty"`
	Admins    []FleetAdmin      `json:"admins,omitempty"`
	// User is whom pgusers signs in as.
	User string `json:"user"`
	// Problems are why signing in cannot work, as far as Azure tells.
	Problems []string `json:"problems,omitempty"`
}

// FleetAdmin is a Microsoft Entra administrator of a server.
type FleetAdmin struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	ObjectID string `json:"objectId"`
}

// Fleet is what pgusers servers prints in JSON.
type Fleet struct {
	FormatVersion string        `json:"formatVersion"`
	Servers       []FleetServer `json:"servers"`
}

// FleetJSON writes servers as a Fleet document.
func FleetJSON(w io.Writer, servers []FleetServer) error {
	if servers == nil {
		servers = []FleetServer{}
	}
	return WriteJSON(w, Fleet{FormatVersion: FormatVersion, Servers: servers})
}

// FleetText writes servers as a table for people, a server a line, and
// under it why it cannot be signed in to, when Azure says so.
func FleetText(out io.Writer, servers []FleetServer) error {
	b := bufio.NewWriter(out)
	w := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tHOST\tSOURCE\tLOCATION\tVERSION\tENTRA\tSIGNS IN AS\tADMINISTRATORS\tTAGS")
	for _, s := range servers {
		entra := "-"
		if s.EntraAuth != nil {
			entra = map[bool]string{true: "on", false: "off"}[*s.EntraAuth]
		}
		var admins []string
		for _, a := range s.Admins {
			admins = append(admins, fmt.Sprintf("%s (%s %s)", a.Name, a.Type, a.ObjectID))
		}
		var tags []string
		for k, v := range s.Tags {
			tags = append(tags, k+"="+v)
		}
		slices.Sort(tags)
		fmt.Fprintf(w, "%s\t%s:%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", Escape(s.Name), Escape(s.Host), s.Port, s.Source,
			dash(Escape(s.Location)), dash(Escape(s.Version)), entra, Escape(s.User), dash(Escape(strings.Join(admins, ", "))),
			dash(Escape(strings.Join(tags, ","))))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, s := range servers {
		for _, p := range s.Problems {
			fmt.Fprintf(b, "! %s: %s\n", Escape(s.Name), Escape(p))
		}
	}
	fmt.Fprintf(b, "%d server(s)\n", len(servers))
	return b.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
