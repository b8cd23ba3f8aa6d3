package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pgusers/pgusers/pkg/diff"
	"github.com/pgusers/pgusers/pkg/report"
	"github.com/pgusers/pgusers/pkg/spec"
)

// Format is the version of the format this pgusers writes and reads. A
// field's meaning never changes without a new version.
const Format = 2

// Plan is a saved plan.
type Plan struct {
	// Pgusers is the version of pgusers that made the plan.
	Pgusers string `json:"pgusers"`
	// DesiredDigest is spec.Desired.Digest of the servers planned, as the
	// command line left them (--server, --max-drops).
	DesiredDigest string   `json:"desiredDigest"`
	Files         []string `json:"files"`
	// Report is what plan printed, for people and tools that read the file.
	Report  report.Report `json:"report"`
	Servers []Server      `json:"servers"`
}

// Origin says, for a terminal, who made the plan from what: "made by
// pgusers v0.1.0 ... from desired state 0123456789ab (files: a.yaml)".
func (p Plan) Origin() string {
	digest := p.DesiredDigest
	if len(digest) > 12 {
		digest = digest[:12]
	}
	return fmt.Sprintf("made by %s from desired state %s (files: %s)",
		report.Escape(p.Pgusers), report.Escape(digest), report.Escape(strings.Join(p.Files, ", ")))
}

// Server is one planned server.
type Server struct {
	// Desired is the server entry as planned: how to reach it, its policy
	// and its principals.
	Desired spec.Server `json:"desired"`
	// Observed is the state the plan was computed from; apply reads the
	// server again under its lock and refuses a plan whose server changed.
	Observed diff.Observed `json:"observed"`
	// Fingerprint is Observed's, to tell a damaged file.
	Fingerprint string    `json:"fingerprint"`
	Plan        diff.Plan `json:"plan"`
}

type envelope struct {
	PgusersPlan int             `json:"pgusersPlan"`
	Checksum    string          `json:"checksum"`
	Plan        json.RawMessage `json:"plan"`
}

// Save writes p to path, whole or not at all. A relative sslrootcert is
// made absolute: apply may run from another directory than plan.
func Save(path string, p Plan) error {
	for i := range p.Servers {
		c := &p.Servers[i].Desired.Connection
		if c.SSLRootCert != "" {
			abs, err := filepath.Abs(c.SSLRootCert)
			if err != nil {
				return fmt.Errorf("save the plan: server %s: sslrootcert %s: %w", p.Servers[i].Desired.Name, c.SSLRootCert, err)
			}
			c.SSLRootCert = abs
		}
	}
	b, err := encode(p)
	if err != nil {
		return fmt.Errorf("save the plan: %w", err)
	}
	return writeAtomically(path, b)
}

func encode(p Plan) ([]byte, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetIndent("  ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	sum, err := checksum(bytes.TrimRight(body.Bytes(), "\n"))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"pgusersPlan\": %d,\n  \"checksum\": %q,\n  \"plan\": ", Format, sum)
	b.Write(bytes.TrimRight(body.Bytes(), "\n"))
	b.WriteString("\n}\n")
	return b.Bytes(), nil
}

// checksum is the sha256 of body in compact form, so that the file's
// indentation does not count.
func checksum(body []byte) (string, error) {
	var c bytes.Buffer
	if err := json.Compact(&c, body); err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func writeAtomically(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save the plan to %s: %w", path, err)
	}
	return nil
}

// Error is a plan file that cannot be applied; nothing was touched.
type Error struct {
	Path, Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("plan file %s: %s; nothing was changed", e.Path, e.Msg)
}

// MaxFileBytes is the largest plan file Open reads.
const MaxFileBytes = 256 << 20

// Open reads, checks and rebuilds the plan in path; self names this
// pgusers in messages. See the package documentation for what it refuses.
func Open(path, self string) (Plan, error) {
	fail := func(format string, args ...any) (Plan, error) {
		return Plan{}, &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	data, err := readFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fail("does not exist: make one with pgusers plan --out %s", path)
		}
		return fail("%v", err)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fail("is not a pgusers plan file (a plan file is JSON made by pgusers plan --out FILE)")
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fail("is not complete JSON (%v): it was truncated or damaged; plan again", err)
		}
		return fail("is not a pgusers plan file: %v", err)
	}
	switch {
	case env.PgusersPlan == 0:
		return fail("is not a pgusers plan file (it has no pgusersPlan version): make one with pgusers plan --out FILE")
	case env.PgusersPlan > Format:
		return fail("was written by a newer pgusers (plan format %d; this %s reads format %d): "+
			"apply it with the pgusers that made it, or plan again with this one", env.PgusersPlan, self, Format)
	case env.PgusersPlan != Format:
		return fail("has plan format %d, which this %s does not read (it reads %d): plan again", env.PgusersPlan, self, Format)
	}
	if len(env.Plan) == 0 {
		return fail("holds no plan: plan again")
	}
	sum, err := checksum(env.Plan)
	if err != nil {
		return fail("its plan is not valid JSON: %v; plan again", err)
	}
	if sum != env.Checksum {
		return fail("was changed after pgusers wrote it (its checksum does not match its content): " +
			"a plan is applied exactly as it was reviewed, so plan again instead of editing it")
	}
	var p Plan
	dec := json.NewDecoder(bytes.NewReader(env.Plan))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fail("its plan does not have the shape of format %d: %v; plan again", Format, err)
	}
	if msg := p.rebuild(); msg != "" {
		return fail("%s; plan again", msg)
	}
	return p, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err == nil && len(data) > MaxFileBytes {
		err = fmt.Errorf("is larger than %d MiB, more than any plan pgusers writes", MaxFileBytes>>20)
	}
	return data, err
}
