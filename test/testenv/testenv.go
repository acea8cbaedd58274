// Package testenv starts the envtest control plane, a real kube-apiserver
// and etcd, with this repository's CRDs installed, for the tests under
// test/ and elsewhere in the module.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// RepoRoot is the repository's root directory, found from this file's
// location so that it does not depend on the test's working directory.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testenv: cannot locate its own source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Assets returns the directory holding kube-apiserver, etcd and kubectl.
// It is $KUBEBUILDER_ASSETS, which `make test` sets; when that is unset (a
// plain `go test`), it runs hack/setup-envtest.sh, which prints the
// directory and provisions the binaries first if needed. The first
// provisioning builds them from source and can take several minutes.
func Assets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	script := filepath.Join(RepoRoot(), "hack", "setup-envtest.sh")
	fmt.Fprintf(os.Stderr, "testenv: KUBEBUILDER_ASSETS is unset; running %s "+
		"(use `make test` to set it)\n", script)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(context.Background(), script) //nolint:gosec // G204: this repository's own script.
	cmd.Dir = RepoRoot()
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("KUBEBUILDER_ASSETS is unset and %s failed: %w; "+
			"run `make envtest` or set KUBEBUILDER_ASSETS to a directory with kube-apiserver, etcd and kubectl",
			script, err)
	}
	dir := strings.TrimSpace(stdout.String())
	if i := strings.LastIndexByte(dir, '\n'); i >= 0 {
		dir = dir[i+1:]
	}
	if dir == "" {
		return "", errors.New("hack/setup-envtest.sh printed no directory")
	}
	return dir, nil
}

// TrackInputs reads the files below the given paths (relative to the
// repository root; _test.go files skipped) so that the go command's test
// cache notices when they change. It must be used for what a test depends
// on without importing: the CRDs that envtest installs, the sources of a
// binary that a child process builds. The go command records only files
// opened after TestMain called m.Run, so call it from a test (once is
// enough), not from TestMain.
func TrackInputs(paths ...string) error {
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join(RepoRoot(), p), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
				return err
			}
			_, err = os.ReadFile(path) //nolint:gosec // G304: this repository's own files.
			return err
		})
		if err != nil {
			return fmt.Errorf("tracking test inputs: %w", err)
		}
	}
	return nil
}

// Scheme returns a scheme with the built-in kinds, the CRD kind and this
// operator's kinds.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(collabv1alpha1.AddToScheme(s))
	return s
}

// New returns an envtest environment that installs the CRDs generated in
// config/crd/bases and fails if they are missing.
func New() (*envtest.Environment, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		BinaryAssetsDirectory:    assets,
		Scheme:                   Scheme(),
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}, nil
}

// Start starts a new environment; the caller must Stop it.
func Start() (*envtest.Environment, *rest.Config, error) {
	env, err := New()
	if err != nil {
		return nil, nil, err
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting envtest (kube-apiserver and etcd from %s): %w",
			env.BinaryAssetsDirectory, err)
	}
	return env, cfg, nil
}
