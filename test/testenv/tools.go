package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Tool is a command-line tool the tests run, pinned in its own module
// under hack/tools.
type Tool struct {
	// Name is the binary's name in bin/, and the tool's directory under
	// hack/tools.
	Name string
	// Env names the environment variable that may point at the binary
	// (the Makefile sets it).
	Env string
	// Package is the main package to build.
	Package string
}

// Helm is helm, pinned in hack/tools/helm/go.mod.
var Helm = Tool{Name: "helm", Env: "HELM", Package: "helm.sh/helm/v3/cmd/helm"}

// Promtool is Prometheus' promtool, pinned in hack/tools/promtool/go.mod.
var Promtool = Tool{Name: "promtool", Env: "PROMTOOL", Package: "github.com/prometheus/prometheus/cmd/promtool"}

// Path returns the tool's binary: $Env when set, else bin/<Name>, which
// it builds from the pinned module first if missing (`make helm promtool`
// does the same; the first build takes minutes).
func (t Tool) Path() (string, error) {
	if p := os.Getenv(t.Env); p != "" {
		// go test runs in the package's directory: a relative path
		// means one from the repository root, where make runs.
		if !filepath.IsAbs(p) {
			p = filepath.Join(RepoRoot(), p)
		}
		return p, nil
	}
	bin := filepath.Join(RepoRoot(), "bin", t.Name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	fmt.Fprintf(os.Stderr, "testenv: building %s into %s (make %s does the same)\n", t.Package, bin, t.Name)
	//nolint:gosec // G204: builds a tool pinned in this repository
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", bin, t.Package)
	cmd.Dir = filepath.Join(RepoRoot(), "hack", "tools", t.Name)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s: %w\n%s", t.Name, err, out.String())
	}
	return bin, nil
}

// Run runs the tool with args in dir and returns its combined output.
func (t Tool) Run(dir string, args ...string) (string, error) {
	bin, err := t.Path()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(context.Background(), bin, args...) //nolint:gosec // G204: a pinned tool
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %v: %w\n%s", t.Name, args, err, out)
	}
	return string(out), nil
}
