package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/pgusers/pgusers/pkg/fleet"
)

var (
	_ pflag.Value = (*Choice)(nil)
	_ pflag.Value = (*Duration)(nil)
	_ pflag.Value = (*AtLeast)(nil)
	_ pflag.Value = (*MaxDrops)(nil)
	_ pflag.Value = (*DryRun)(nil)
	_ pflag.Value = (*Shard)(nil)
)

// DryRun is --dry-run[=client|server]: a bare --dry-run means client.
type DryRun string

const (
	DryRunNone   DryRun = ""
	DryRunClient DryRun = "client"
	DryRunServer DryRun = "server"
)

func (d *DryRun) String() string { return string(*d) }
func (d *DryRun) Type() string   { return "" } // shown as --dry-run[=client]
func (d *DryRun) Set(v string) error {
	switch v {
	case "true", "client":
		*d = DryRunClient
	case "false", "none":
		*d = DryRunNone
	case "server":
		*d = DryRunServer
	default:
		return fmt.Errorf("must be client or server, not %q", v)
	}
	return nil
}

// Choice is a flag whose value must be one of a few words.
type Choice struct {
	Value   string
	allowed []string
}

// NewChoice is a Choice of allowed, set to value.
func NewChoice(value string, allowed ...string) Choice { return Choice{Value: value, allowed: allowed} }

func (c *Choice) String() string { return c.Value }
func (c *Choice) Type() string   { return strings.Join(c.allowed, "|") }
func (c *Choice) Set(v string) error {
	for _, a := range c.allowed {
		if v == a {
			c.Value = v
			return nil
		}
	}
	return fmt.Errorf("must be one of %s, not %q", strings.Join(c.allowed, ", "), v)
}

// Duration is a positive Go duration that says what a bare number lacks.
type Duration time.Duration

func (d *Duration) String() string { return shortDuration(time.Duration(*d)) }
func (d *Duration) Type() string   { return "duration" }
func (d *Duration) Set(v string) error {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return fmt.Errorf("needs a unit: %q is a number, not a duration; write it as 5s, 2m or 1h30m", v)
	}
	parsed, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("must be a duration such as 5s, 2m or 1h30m, not %q", v)
	}
	if parsed <= 0 {
		return fmt.Errorf("must be positive, not %q", v)
	}
	*d = Duration(parsed)
	return nil
}

// shortDuration is d as written by hand: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// AtLeast is an integer flag with a lower bound.
type AtLeast struct {
	Value int
	Min   int
}

func (a *AtLeast) String() string { return strconv.Itoa(a.Value) }
func (a *AtLeast) Type() string   { return "N" }
func (a *AtLeast) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("must be a whole number, not %q", v)
	}
	if n < a.Min {
		return fmt.Errorf("must be at least %d, not %d", a.Min, n)
	}
	a.Value = n
	return nil
}

// MaxDrops is --max-drops N: -1 until given, so that the files decide.
type MaxDrops int

func (m *MaxDrops) String() string {
	if *m < 0 {
		return "" // not given: no default to show, the files decide
	}
	return strconv.Itoa(int(*m))
}
func (m *MaxDrops) Type() string { return "N" }
func (m *MaxDrops) Set(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("must be a whole number, not %q", v)
	}
	if n < 0 {
		return fmt.Errorf("must be 0 or more, not %d (leave the flag out to use the files' maxDrops)", n)
	}
	*m = MaxDrops(n)
	return nil
}

// Shard is --shard K/N; N is 0 until given.
type Shard struct{ fleet.Shard }

func (s *Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return s.Shard.String()
}
func (s *Shard) Type() string { return "K/N" }
func (s *Shard) Set(v string) error {
	sh, err := fleet.ParseShard(v)
	if err != nil {
		return err
	}
	s.Shard = sh
	return nil
}
