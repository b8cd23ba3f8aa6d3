package main

import (
	"context"

	"github.com/pgusers/pgusers/internal/cli"
	"github.com/pgusers/pgusers/pkg/report"
)

type serversOptions struct {
	common
	output cli.Choice
}

// runServers lists the fleet as the files and Azure define it, touching no
// server.
func runServers(ctx context.Context, o *serversOptions, e env) (int, error) {
	cfg := o.config(e)
	_, servers, _, err := o.load(ctx, &cfg, e.arm, false)
	if err != nil {
		return exitError, err
	}
	if o.output.Value == "json" {
		return exitOK, report.FleetJSON(e.stdout, o.fleet.Describe(servers))
	}
	return exitOK, report.FleetText(e.stdout, o.fleet.Describe(servers))
}
