package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pgusers/pgusers/pkg/spec"
)

// metricsRun is a run at a fixed time, as golden files need.
var metricsRun = MetricsRun{End: time.Unix(1764500000, 250e6), Duration: 1234567 * time.Microsecond}

// awkwardServer has every character a label value must escape.
const awkwardServer = "we\\ird \"name\"\nhere"

// metricsReport is fleetResults (changes, in sync, failed) and a server
// whose name needs escaping, in sync.
func metricsReport(t *testing.T) Report {
	t.Helper()
	results := append(fleetResults(t), Result{
		Server: spec.Server{Name: awkwardServer, Connection: spec.Connection{Host: "h"}}, Status: InSync, Principals: 1})
	return Build(results)
}

func TestMetricsGolden(t *testing.T) {
	var b bytes.Buffer
	run := metricsRun
	run.LastSuccess = map[string]string{"billing": "1764400000.000", "orders-prod": "1.0"}
	if err := Metrics(&b, metricsReport(t), run); err != nil {
		t.Fatal(err)
	}
	golden(t, "metrics.prom.golden", b.Bytes())
}

// The output is what Prometheus reads: checked with its own parser.
func TestMetricsParseAsPrometheusText(t *testing.T) {
	var b bytes.Buffer
	run := metricsRun
	run.LastSuccess = map[string]string{"billing": "1764400000.000"}
	if err := Metrics(&b, metricsReport(t), run); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("Prometheus' parser refuses the metrics: %v\n%s", err, b.String())
	}
	got := map[string]float64{}
	for name, f := range families {
		if f.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %v, want a gauge", name, f.GetType())
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			got[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"pgusers_server_up{server=orders-prod}":                                1,
		"pgusers_server_up{server=reporting-dev}":                              1,
		"pgusers_server_up{server=billing}":                                    0,
		"pgusers_server_up{server=" + awkwardServer + "}":                      1,
		"pgusers_server_in_sync{server=orders-prod}":                           0,
		"pgusers_server_in_sync{server=reporting-dev}":                         1,
		"pgusers_server_in_sync{server=billing}":                               0,
		"pgusers_server_in_sync{server=" + awkwardServer + "}":                 1,
		"pgusers_server_changes{server=orders-prod,action=create}":             1,
		"pgusers_server_changes{server=orders-prod,action=replace}":            1,
		"pgusers_server_changes{server=orders-prod,action=grant}":              1,
		"pgusers_server_changes{server=orders-prod,action=drop}":               1,
		"pgusers_last_success_timestamp_seconds{server=orders-prod}":           1764500000.25,
		"pgusers_last_success_timestamp_seconds{server=reporting-dev}":         1764500000.25,
		"pgusers_last_success_timestamp_seconds{server=billing}":               1764400000,
		"pgusers_last_success_timestamp_seconds{server=" + awkwardServer + "}": 1764500000.25,
		"pgusers_last_run_timestamp_seconds{}":                                 1764500000.25,
		"pgusers_run_duration_seconds{}":                                       1.235,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed metrics (-want +got):\n%s", diff)
	}
}

func TestReadLastSuccessReadsWhatMetricsWrote(t *testing.T) {
	var b bytes.Buffer
	if err := Metrics(&b, metricsReport(t), metricsRun); err != nil {
		t.Fatal(err)
	}
	b.WriteString("pgusers_last_success_timestamp_seconds{server=\"broken\\\"} 12\n") // damaged: skipped
	b.WriteString("pgusers_last_success_timestamp_seconds{server=\"nan\"} twelve\n")  // damaged: skipped
	got := ReadLastSuccess(&b)
	want := map[string]string{"orders-prod": "1764500000.250", "reporting-dev": "1764500000.250", awkwardServer: "1764500000.250"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("last success (-want +got):\n%s", diff)
	}
}

// A failed server keeps the last success of the file already there; a
// server that succeeds gets this run's time.
func TestWriteMetricsFileCarriesLastSuccess(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pgusers.prom")
	ok := []Result{
		{Server: spec.Server{Name: "a"}, Status: InSync},
		{Server: spec.Server{Name: "b"}, Status: InSync},
	}
	first := MetricsRun{End: time.Unix(1000, 0), Duration: time.Second}
	if err := WriteMetricsFile(path, Build(ok), first); err != nil {
		t.Fatal(err)
	}
	failed := []Result{
		{Server: spec.Server{Name: "a"}, Status: Error, Err: errors.New("down")},
		{Server: spec.Server{Name: "b"}, Status: InSync},
		{Server: spec.Server{Name: "c"}, Status: Error, Err: errors.New("never up")},
	}
	second := MetricsRun{End: time.Unix(2000, 0), Duration: time.Second}
	if err := WriteMetricsFile(path, Build(failed), second); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := ReadLastSuccess(bytes.NewReader(data))
	if diff := cmp.Diff(map[string]string{"a": "1000.000", "b": "2000.000"}, got); diff != "" {
		t.Errorf("last success after a failure (-want +got):\n%s", diff)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644: the collector runs as another user", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"pgusers.prom"}, names); diff != "" {
		t.Errorf("files left in the directory (-want +got):\n%s", diff)
	}
}

func TestWriteMetricsFileFailsWithoutTheDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "pgusers.prom")
	if err := WriteMetricsFile(path, Build(nil), metricsRun); err == nil {
		t.Fatal("no error for a directory that does not exist")
	}
}
