// Package build checks that `make build` produces the binaries the README
// promises, bin/manager and bin/kubectl-collab, and that they run. It
// exists because the build recipe once compiled the file cmd/main.go
// instead of the package ./cmd, which fails as soon as main uses its
// sibling files; nothing else ran that recipe.
package build

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// TestMakeBuild runs `make build` in the repository root and then each
// binary it built.
func TestMakeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("runs make build; skipped with -short")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skipf("no make on PATH: %v", err)
	}
	// go test runs in this package's directory; make must run where the
	// Makefile is.
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// make's child builds read these; without reading them here the go
	// command would cache a pass and not notice a change that breaks the
	// build.
	if err := testenv.TrackInputs("Makefile", "go.mod", "go.sum", "api", "cmd", "internal"); err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{
		"manager":        filepath.Join(root, "bin", "manager"),
		"kubectl-collab": filepath.Join(root, "bin", "kubectl-collab"),
	}
	// go build leaves an up-to-date output file alone, so only removing
	// them first proves that this make run produced them.
	for _, p := range bins {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("removing the previous %s: %v", p, err)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	// -o treats build's prerequisites (manifests generate fmt vet) as done:
	// `make test`, which runs this test, ran them just before. Running them
	// again here would be slow and, worse, racy, since manifests deletes and
	// rewrites the chart's CRDs while test/install's chart test, in
	// parallel, reads them.
	args := []string{"-o", "manifests", "-o", "generate", "-o", "fmt", "-o", "vet", "build"}
	//nolint:gosec // G204: runs make with fixed arguments in this repository
	cmd := exec.CommandContext(ctx, makeBin, args...)
	cmd.Dir = root
	cmd.Env = withoutMakeVars(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}

	tests := map[string]struct {
		args []string
		// wantExitZero is false for kubectl-collab, which like the
		// flag package's ContinueOnError mode ends --help with an error.
		wantExitZero bool
		// wantOut are strings the output must contain, to show that
		// the binary is the program it should be.
		wantOut []string
	}{
		"manager": {
			args:         []string{"--help"},
			wantExitZero: true,
			wantOut:      []string{"-allowed-provider-urls", "-metrics-bind-address"},
		},
		"kubectl-collab": {
			args:    []string{"import", "--help"},
			wantOut: []string{"kubectl collab import", "-provider-config"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bin := bins[name]
			fi, err := os.Stat(bin)
			if err != nil {
				t.Fatalf("make build did not produce %s: %v\nmake output:\n%s", bin, err, out)
			}
			if !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				t.Fatalf("%s has mode %s; want an executable file", bin, fi.Mode())
			}
			runCtx, cancelRun := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancelRun()
			//nolint:gosec // G204: runs the binary make build just produced
			run := exec.CommandContext(runCtx, bin, tc.args...)
			var output bytes.Buffer
			run.Stdout, run.Stderr = &output, &output
			err = run.Run()
			var exitErr *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &exitErr) && !tc.wantExitZero:
			default:
				t.Fatalf("%s %s: %v\n%s", bin, strings.Join(tc.args, " "), err, output.String())
			}
			for _, want := range tc.wantOut {
				if !strings.Contains(output.String(), want) {
					t.Errorf("%s %s printed no %q:\n%s", bin, strings.Join(tc.args, " "), want, output.String())
				}
			}
		})
	}
}

// withoutMakeVars drops the variables through which an outer make (`make
// test` runs this test) talks to its sub-makes: this make is not one, and
// an inherited jobserver reference it cannot open only produces warnings.
func withoutMakeVars(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == "MAKEFLAGS" || name == "MFLAGS" || name == "MAKELEVEL" || name == "MAKEOVERRIDES"
	})
}
