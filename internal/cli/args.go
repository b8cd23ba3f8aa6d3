package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pgusers/pgusers/pkg/spec"
	"github.com/spf13/cobra"
)

// JSONRequested reports whether the command line asks for --output json
// (-o json, --output=json), before any "--".
func JSONRequested(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--output=json", a == "-o=json", a == "-ojson":
			return true
		case (a == "--output" || a == "-o") && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

// DryRunWithSpace finds "--dry-run server" (or client) in args: the old
// flag package and pflag both read it as a client dry run and an argument
// named server, which is never what was meant.
func DryRunWithSpace(args []string) (string, bool) {
	for i, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "--dry-run" && i+1 < len(args) {
			switch v := args[i+1]; v {
			case "client", "server":
				return v, true
			}
		}
	}
	return "", false
}

// CompleteChoices completes flag name of cmd with values
// ("value\tdescription").
func CompleteChoices(cmd *cobra.Command, name string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, v := range values {
			if strings.HasPrefix(v, toComplete) {
				out = append(out, v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// WatchedWriter remembers whether anything was written through it: an
// error document goes to stdout only when nothing else did.
type WatchedWriter struct {
	W       io.Writer
	Written bool
}

func (w *WatchedWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		w.Written = true
	}
	return w.W.Write(p)
}

// StrictCompletion makes root's completion command refuse a shell it does
// not know: cobra's shows its help for any argument, and exits 0.
func StrictCompletion(root *cobra.Command) {
	c, _, err := root.Find([]string{"completion"})
	if err != nil || c == root {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		shells := []string{"bash", "zsh", "fish", "powershell"}
		hint := ""
		if s := spec.Suggest(args[0], shells); s != "" {
			hint = fmt.Sprintf("; did you mean %s?", s)
		}
		return Usagef("no completion for shell %q%s (pgusers completion bash, zsh, fish or powershell)", args[0], hint)
	}
}

// Shell completion: cobra's `completion` command writes the script for
// bash, zsh, fish or PowerShell; the script asks `pgusers __complete ...`
// for candidates. CompleteChoices and CompleteServers add what cobra
// cannot know.

// CompleteServers completes --server with the names of the servers in the
// files of the -f flags typed so far (pgusers.yaml without any), read
// only as far as their connections, the cheap part; the names already
// given are left out. Files with problems complete nothing.
func CompleteServers(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
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
