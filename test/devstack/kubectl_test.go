package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFindKubectl checks the order in which the stack looks for kubectl:
// $KUBECTL, the stack's assets directory, $KUBEBUILDER_ASSETS, PATH. The
// assets directories matter most on machines without kubectl installed,
// where hack/setup-envtest.sh's kubectl is the only one.
func TestFindKubectl(t *testing.T) {
	tmp := t.TempDir()
	// Directories standing in for bin/k8s/<version>: one with an
	// executable kubectl, one with a kubectl that cannot run, one empty.
	stack := mkAssets(t, filepath.Join(tmp, "stack"), 0o755)
	env := mkAssets(t, filepath.Join(tmp, "env"), 0o755)
	notExec := mkAssets(t, filepath.Join(tmp, "noexec"), 0o644)
	empty := filepath.Join(tmp, "empty")
	if err := os.Mkdir(empty, 0o750); err != nil {
		t.Fatal(err)
	}
	const onPath = "/usr/local/bin/kubectl"

	type result struct {
		Path string
		// ErrHas are substrings the error must contain; nil means no error.
		ErrHas []string
	}
	tests := map[string]struct {
		kubectlEnv string
		assetsEnv  string
		assetsDir  string
		onPath     bool
		want       result
	}{
		"KUBECTL wins over everything": {
			kubectlEnv: "/opt/kubectl", assetsEnv: env, assetsDir: stack, onPath: true,
			want: result{Path: "/opt/kubectl"},
		},
		"the stack's assets before KUBEBUILDER_ASSETS and PATH": {
			assetsEnv: env, assetsDir: stack, onPath: true,
			want: result{Path: filepath.Join(stack, "kubectl")},
		},
		"KUBEBUILDER_ASSETS before PATH": {
			assetsEnv: env, onPath: true,
			want: result{Path: filepath.Join(env, "kubectl")},
		},
		"KUBEBUILDER_ASSETS when the stack's assets have no kubectl": {
			assetsEnv: env, assetsDir: empty,
			want: result{Path: filepath.Join(env, "kubectl")},
		},
		"a kubectl that cannot run is skipped": {
			assetsDir: notExec, onPath: true,
			want: result{Path: onPath},
		},
		"PATH when no assets directory is known": {
			onPath: true,
			want:   result{Path: onPath},
		},
		"none anywhere names what was tried": {
			assetsDir: empty, assetsEnv: notExec,
			want: result{ErrHas: []string{
				filepath.Join(empty, "kubectl"), filepath.Join(notExec, "kubectl"), "none on PATH", "make envtest",
			}},
		},
		"none and no assets directory": {
			want: result{ErrHas: []string{"no envtest assets directory known", "make envtest"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			getenv := func(key string) string {
				return map[string]string{"KUBECTL": tc.kubectlEnv, "KUBEBUILDER_ASSETS": tc.assetsEnv}[key]
			}
			lookPath := func(file string) (string, error) {
				if tc.onPath && file == "kubectl" {
					return onPath, nil
				}
				return "", &exec.Error{Name: file, Err: exec.ErrNotFound}
			}
			path, err := findKubectl(getenv, lookPath, tc.assetsDir)
			got := result{Path: path}
			if err != nil {
				for _, s := range tc.want.ErrHas {
					if strings.Contains(err.Error(), s) {
						got.ErrHas = append(got.ErrHas, s)
					}
				}
				if got.ErrHas == nil {
					// Show the whole message when it matches nothing.
					got.ErrHas = []string{err.Error()}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findKubectl (-want +got):\n%s", diff)
			}
		})
	}
}

// mkAssets makes dir with a kubectl file of the given mode and returns dir.
func mkAssets(t *testing.T, dir string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	return dir
}
