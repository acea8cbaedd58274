package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// KubectlPath is the kubectl the stack drives: $KUBECTL, else the first
// kubectl on PATH, else /usr/bin/kubectl.
func KubectlPath() string {
	if k := os.Getenv("KUBECTL"); k != "" {
		return k
	}
	if k, err := exec.LookPath("kubectl"); err == nil {
		return k
	}
	return "/usr/bin/kubectl"
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
	//nolint:gosec // G204: running kubectl with the caller's arguments is this function's purpose
	cmd := exec.CommandContext(ctx, KubectlPath(), append([]string{"--kubeconfig", s.Kubeconfig}, args...)...)
	cmd.Dir = s.Root
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	err := cmd.Run()
	res := KubectlResult{Stdout: out.String(), Stderr: errOut.String()}
	if err != nil {
		return res, fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(res.Stderr))
	}
	return res, nil
}
