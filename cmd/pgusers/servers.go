package main

import (
	"context"

	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/run"
)

type serversOptions struct {
	common
	output choice
}

// runServers lists the fleet as the files and Azure define it, touching no
// server.
func runServers(ctx context.Context, o *serversOptions, e env) (int, error) {
	cfg := o.config(e)
	_, servers, err := o.load(ctx, &cfg, e.arm)
	if err != nil {
		return exitError, err
	}
	out := make([]report.FleetServer, 0, len(servers))
	for _, s := range servers {
		fs := report.FleetServer{Name: s.Name, Host: s.Host, Port: s.Port, Source: "listed", User: s.User}
		if az, ok := o.azure[s.Name]; ok {
			entra := az.EntraAuth
			fs.Source, fs.Location, fs.Version, fs.State, fs.Tags, fs.EntraAuth = "discovered", az.Location, az.Version, az.State, az.Tags, &entra
			for _, a := range az.Admins {
				fs.Admins = append(fs.Admins, report.FleetAdmin{Name: a.Name, Type: a.Type, ObjectID: a.ObjectID})
			}
		}
		if u, ok := cfg.Unusable[s.Name].(*run.UnusableError); ok {
			fs.Problems = u.Problems
		}
		out = append(out, fs)
	}
	if o.output.value == "json" {
		return exitOK, report.FleetJSON(e.stdout, out)
	}
	return exitOK, report.FleetText(e.stdout, out)
}
