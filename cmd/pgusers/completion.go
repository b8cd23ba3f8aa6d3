package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pgusers/pgusers/pkg/spec"
)

// Shell completion: cobra's `completion` command writes the script for
// bash, zsh, fish or PowerShell; the script asks `pgusers __complete ...`
// for candidates. Those below add what cobra cannot know: the values of
// the choice flags (internal/cli), and the servers the files given so far declare.

// completeServers completes --server with the names of the servers in the
// files of the -f flags typed so far (pgusers.yaml without any), read
// only as far as their connections, the cheap part; the names already
// given are left out. Files with problems complete nothing.
func completeServers(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	files, _ := cmd.Flags().GetStringArray("file")
	given, _ := cmd.Flags().GetStringArray("server")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	read, err := spec.Read(ctx, files)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	servers, ok := read.Connections(ctx)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, s := range servers {
		if strings.HasPrefix(s.Name, toComplete) && !slices.Contains(given, s.Name) {
			out = append(out, s.Name+"\t"+s.Host)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// writeJSON writes v as indented JSON, as the reports are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
