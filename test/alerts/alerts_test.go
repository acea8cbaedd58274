// Package alerts tests the operator's Prometheus alerts
// (config/prometheus/alerts.yaml) with promtool: the rules parse, and the
// unit tests in testdata/alerts.test.yaml fire each alert when, and only
// when, on-call should act. Each alert's runbook must be a heading of
// docs/troubleshooting.md.
package alerts

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// rule is the part of a Prometheus alerting rule the checks read.
type rule struct {
	Alert       string            `json:"alert"`
	Annotations map[string]string `json:"annotations"`
}

// prometheusRule is a PrometheusRule, whose spec is a Prometheus rule file.
type prometheusRule struct {
	Spec struct {
		Groups []struct {
			Rules []rule `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

func TestAlerts(t *testing.T) {
	root := testenv.RepoRoot()
	if err := testenv.TrackInputs("config/prometheus", "docs/troubleshooting.md", "test/alerts/testdata"); err != nil {
		t.Fatal(err)
	}
	data, err := readRepoFile(root, "config", "prometheus", "alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	if err := yaml.Unmarshal(data, &pr); err != nil {
		t.Fatalf("parsing the PrometheusRule: %v", err)
	}
	var spec map[string]any
	if err := yaml.Unmarshal(data, &struct {
		Spec *map[string]any `json:"spec"`
	}{Spec: &spec}); err != nil {
		t.Fatal(err)
	}
	rules, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	// The unit tests name rules.yaml beside them.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rules, 0o600); err != nil {
		t.Fatal(err)
	}
	tests, err := readRepoFile(root, "test", "alerts", "testdata", "alerts.test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.test.yaml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("check", func(t *testing.T) {
		if out, err := testenv.Promtool.Run(dir, "check", "rules", "rules.yaml"); err != nil {
			t.Fatal(err)
		} else {
			t.Log(out)
		}
	})
	t.Run("unit-tests", func(t *testing.T) {
		if out, err := testenv.Promtool.Run(dir, "test", "rules", "alerts.test.yaml"); err != nil {
			t.Fatal(err)
		} else {
			t.Log(out)
		}
	})
	t.Run("every-alert-tested", func(t *testing.T) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" && !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
					t.Errorf("alert %s has no promtool test in testdata/alerts.test.yaml", r.Alert)
				}
			}
		}
	})
	t.Run("runbooks", func(t *testing.T) { checkRunbooks(t, root, pr) })
}

// readRepoFile reads a file of this repository.
func readRepoFile(root string, path ...string) ([]byte, error) {
	return os.ReadFile(filepath.Join(append([]string{root}, path...)...))
}

// checkRunbooks checks that every alert links to a heading of
// docs/troubleshooting.md, so on-call lands on what to do.
func checkRunbooks(t *testing.T, root string, pr prometheusRule) {
	doc, err := readRepoFile(root, "docs", "troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	nonWord := regexp.MustCompile(`[^a-z0-9 _-]`)
	for line := range strings.Lines(string(doc)) {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(nonWord.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	const prefix = "https://github.com/collab-dev/collaborator-operator/blob/main/docs/troubleshooting.md#"
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			url := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(url, prefix)
			if !ok {
				t.Errorf("alert %s: runbook_url %q does not point into docs/troubleshooting.md", r.Alert, url)
				continue
			}
			if !anchors[anchor] {
				t.Errorf("alert %s: docs/troubleshooting.md has no heading for #%s", r.Alert, anchor)
			}
		}
	}
}
