package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FindKubectl returns the kubectl to run against an API server started
// from assetsDir (empty if unknown). In order of preference:
//
//   - $KUBECTL, as given: a developer's explicit choice wins;
//   - kubectl in assetsDir, then in $KUBEBUILDER_ASSETS: hack/setup-envtest.sh
//     puts one there (built from source when the machine has none), so it
//     matches the API server's version and exists even where kubectl is
//     not installed;
//   - the first kubectl on PATH.
func FindKubectl(assetsDir string) (string, error) {
	return findKubectl(os.Getenv, exec.LookPath, assetsDir)
}

// findKubectl is FindKubectl with the environment and the PATH search
// passed in, so that a test can vary them without touching the process's
// own.
func findKubectl(getenv func(string) string, lookPath func(string) (string, error), assetsDir string) (string, error) {
	if k := getenv("KUBECTL"); k != "" {
		return k, nil
	}
	var tried []string
	for _, dir := range []string{assetsDir, getenv("KUBEBUILDER_ASSETS")} {
		if dir == "" {
			continue
		}
		k := filepath.Join(dir, "kubectl")
		if isExecutable(k) {
			return k, nil
		}
		tried = append(tried, k)
	}
	k, err := lookPath("kubectl")
	if err == nil {
		return k, nil
	}
	where := "no envtest assets directory known"
	if len(tried) > 0 {
		where = "no executable " + strings.Join(tried, " or ")
	}
	return "", fmt.Errorf("finding kubectl: KUBECTL is unset, %s, and none on PATH (%w); "+
		"run `make envtest` to provision one into bin/k8s, or set KUBECTL", where, err)
}

// KubectlPath is the kubectl that Kubectl runs; see FindKubectl. The demo
// prints it so that a person can run the same one.
func (s *Stack) KubectlPath() (string, error) {
	return FindKubectl(s.assetsDir)
}

// KubectlResult is what a kubectl run printed.
type KubectlResult struct {
	// Stdout is what kubectl wrote to standard output.
	Stdout string
	// Stderr is what kubectl wrote to standard error; refusals land here.
	Stderr string
}

// Kubectl runs kubectl against the stack's API server, as a user would
// after `export KUBECONFIG=<s.Kubeconfig>`. stdin may be nil. The error, if
// any, includes the command line and stderr so that a failure explains
// itself.
func (s *Stack) Kubectl(ctx context.Context, stdin io.Reader, args ...string) (KubectlResult, error) {
	kubectl, err := s.KubectlPath()
	if err != nil {
		return KubectlResult{}, fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	//nolint:gosec // G204: running kubectl with the caller's arguments is this function's purpose
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Dir = s.Root
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err = cmd.Run()
	res := KubectlResult{Stdout: out.String(), Stderr: errOut.String()}
	if err != nil {
		return res, fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(res.Stderr))
	}
	return res, nil
}
