package run

import (
	"fmt"

	"github.com/pgusers/pgusers/pkg/planfile"
	"github.com/pgusers/pgusers/pkg/report"
)

// Saved is the plan of targets, every one of them read and planned, as
// plan --out saves it: what each server was observed to hold and its
// fingerprint, so that apply can refuse a server that changed since.
// pgusers is the version line of the binary that planned; files and digest
// say which desired state it was planned from.
func Saved(targets []*Target, r report.Report, pgusers string, files []string, digest string) (planfile.Plan, error) {
	p := planfile.Plan{Pgusers: pgusers, DesiredDigest: digest, Files: files, Report: r}
	var failed []string
	for _, t := range targets {
		if t.Status != report.InSync && t.Status != report.Changes {
			failed = append(failed, t.Server.Name)
			continue
		}
		p.Servers = append(p.Servers, planfile.Server{Desired: t.Server, Observed: t.Observed,
			Fingerprint: t.Observed.Fingerprint(), Plan: t.Plan})
	}
	if len(failed) > 0 {
		return planfile.Plan{}, fmt.Errorf("the plan was not saved: server(s) %v failed, and a saved plan must hold every server it names: "+
			"fix them, or leave them out with --server", failed)
	}
	return p, nil
}
