package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pgusers/pgusers/pkg/diff"
)

// Metrics for scheduled drift checks: plan --metrics-file writes a run's
// result in the Prometheus text exposition format (version 0.0.4), for
// node_exporter's textfile collector or any scraper of such files.
//
//	pgusers_server_up{server}                        1 read and planned without error, else 0
//	pgusers_server_in_sync{server}                   1 in sync; 0 with changes or not read
//	pgusers_server_changes{server,action}            changes of the plan, per action that has any
//	pgusers_last_success_timestamp_seconds{server}   when the server was last read and planned without error
//	pgusers_last_run_timestamp_seconds               when the run ended
//	pgusers_run_duration_seconds                     how long it took
//
// A server that failed keeps the last-success time the previous file gave
// it, so that the time means what its name says; a server that never
// succeeded has none.

// MetricsRun is what the metrics say about the run itself.
type MetricsRun struct {
	// End is when the run ended: the last-run time, and the last-success
	// time of every server that succeeded.
	End      time.Time
	Duration time.Duration
	// LastSuccess are the last-success times of an earlier run, by server,
	// as written there: a server that failed in this run keeps its own.
	LastSuccess map[string]string
}

// metric names.
const (
	metricUp          = "pgusers_server_up"
	metricInSync      = "pgusers_server_in_sync"
	metricChanges     = "pgusers_server_changes"
	metricLastSuccess = "pgusers_last_success_timestamp_seconds"
	metricLastRun     = "pgusers_last_run_timestamp_seconds"
	metricDuration    = "pgusers_run_duration_seconds"
)

// Metrics writes the metrics of r to w.
func Metrics(w io.Writer, r Report, run MetricsRun) error {
	b := bufio.NewWriter(w)
	family := func(name, help string) {
		fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, escapeHelp(help), name)
	}
	up := func(s Server) bool { return s.Status == InSync || s.Status == Changes || s.Status == Applied }
	bit := func(ok bool) int {
		if ok {
			return 1
		}
		return 0
	}

	family(metricUp, "Whether pgusers read and planned the server without error in its last run (1) or not (0).")
	for _, s := range r.Servers {
		fmt.Fprintf(b, "%s{server=\"%s\"} %d\n", metricUp, escapeLabel(s.Name), bit(up(s)))
	}
	family(metricInSync, "Whether the server matched the desired state in the last run: 1 in sync, 0 with changes or not read (see pgusers_server_up).")
	for _, s := range r.Servers {
		fmt.Fprintf(b, "%s{server=\"%s\"} %d\n", metricInSync, escapeLabel(s.Name), bit(s.Status == InSync))
	}
	family(metricChanges, "Changes the last plan of the server holds, by action; only actions with changes, only for servers read without error.")
	for _, s := range r.Servers {
		if !up(s) {
			continue
		}
		counts := map[diff.Action]int{}
		for _, c := range s.Changes {
			counts[c.Action]++
		}
		for _, a := range diff.Actions {
			if n := counts[a]; n > 0 {
				fmt.Fprintf(b, "%s{server=\"%s\",action=\"%s\"} %d\n", metricChanges, escapeLabel(s.Name), escapeLabel(string(a)), n)
			}
		}
	}
	end := unixSeconds(run.End)
	family(metricLastSuccess, "When the server was last read and planned without error, as a Unix time.")
	for _, s := range r.Servers {
		v, ok := end, true
		if !up(s) {
			v, ok = run.LastSuccess[s.Name]
		}
		if ok {
			fmt.Fprintf(b, "%s{server=\"%s\"} %s\n", metricLastSuccess, escapeLabel(s.Name), v)
		}
	}
	family(metricLastRun, "When the last run of pgusers plan ended, as a Unix time.")
	fmt.Fprintf(b, "%s %s\n", metricLastRun, end)
	family(metricDuration, "How long the last run of pgusers plan took, from reading the files to the plan of every server.")
	fmt.Fprintf(b, "%s %s\n", metricDuration, strconv.FormatFloat(run.Duration.Seconds(), 'f', 3, 64))
	return b.Flush()
}

// WriteMetricsFile writes the metrics of r to path, carrying the
// last-success times of the servers that failed from the file already
// there. It writes a temporary file in the same directory (not ending in
// .prom, which the textfile collector would read) and renames it over
// path, so that a reader sees the old file or the new one, never half.
func WriteMetricsFile(path string, r Report, run MetricsRun) error {
	previous, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		run.LastSuccess = ReadLastSuccess(bytes.NewReader(previous))
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file readable by its owner alone; the collector
	// often runs as another user.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := Metrics(tmp, r, run); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	return nil
}

// ReadLastSuccess reads the last-success time of each server from metrics
// that Metrics wrote, each value as written. Lines it does not know are
// ignored: a damaged file loses what it damaged, nothing else.
func ReadLastSuccess(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	prefix := metricLastSuccess + `{server="`
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		name, rest, ok := unescapeLabel(line[len(prefix):])
		if !ok || !strings.HasPrefix(rest, "} ") {
			continue
		}
		value := strings.TrimSpace(rest[2:])
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			continue
		}
		out[name] = value
	}
	return out
}

// unixSeconds is t as a Unix time in seconds, to the millisecond.
func unixSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// escapeLabel escapes a label value as the text format requires: backslash,
// double quote and line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// escapeHelp escapes a HELP text: backslash and line feed.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

// unescapeLabel reads an escaped label value up to its closing quote and
// returns it and what follows the quote.
func unescapeLabel(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i+1 == len(s) {
				return "", "", false
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case '\\', '"':
				b.WriteByte(s[i])
			default:
				return "", "", false
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}
