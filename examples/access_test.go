package examples_test

import (
	"strings"
	"testing"
)

// TestAccessReviewWorkflow: the scheduled review reads only, keeps the
// JSON review as an artifact and as the next baseline, compares with the
// previous one, and alerts on access gained (exit 2).
func TestAccessReviewWorkflow(t *testing.T) {
	wf := yamlDoc(t, "github-actions/access-review.yml")
	if list(wf, "on", "schedule") == nil {
		t.Error("access-review.yml must run on a schedule")
	}
	job := get(wf, "jobs", "review")
	if str(job, "environment") != "plan" {
		t.Error("the review signs in with the read-only identity (environment plan)")
	}
	cmd := str(step(job, "pgusers/pgusers@"), "with", "command")
	for _, want := range []string{"access ", "--output json", "--compare baseline/review.json", "sign-in/plan.yaml"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("access command %q lacks %q", cmd, want)
		}
	}
	if step(job, "actions/upload-artifact@") == nil || step(job, "actions/cache/restore@") == nil || step(job, "actions/cache/save@") == nil {
		t.Error("the review must be kept as an artifact and restored and saved as the baseline")
	}
	s := string(read(t, "github-actions/access-review.yml"))
	for _, want := range []string{"exit-code == '2'", "label=pgusers-access", "gh issue create", ".changes.gained"} {
		if !strings.Contains(s, want) {
			t.Errorf("access-review.yml lacks %q", want)
		}
	}
}
