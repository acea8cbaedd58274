package devstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PodmanGlobalArgs are the podman options every podman call here passes.
// The build and CI machines are containers themselves: crun cannot set up
// a container there and systemd does not manage cgroups, so runc and
// cgroupfs are named explicitly.
var PodmanGlobalArgs = []string{"--runtime", "/usr/sbin/runc", "--cgroup-manager=cgroupfs"}

// containerKubeconfig is where the manager's kubeconfig is mounted in its
// container.
const containerKubeconfig = "/etc/collaborator-operator/kubeconfig"

// Podman runs podman with PodmanGlobalArgs and args and returns its
// standard output; the error carries its standard error.
func Podman(ctx context.Context, args ...string) (string, error) {
	//nolint:gosec // G204: podman with this package's own arguments
	cmd := exec.CommandContext(ctx, "podman", append(append([]string{}, PodmanGlobalArgs...), args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// LoadImage loads an image archive (oci-archive or docker-archive, as
// `make image` writes) into podman's store and returns the name podman
// gave it.
func LoadImage(ctx context.Context, archive string) (string, error) {
	out, err := Podman(ctx, "load", "--input", archive)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(out) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image: "); ok {
			// podman 4 prints "Loaded image(s): a,b" for several.
			name, _, _ = strings.Cut(name, ",")
			return strings.TrimSpace(name), nil
		}
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "Loaded image(s): "); ok {
			name, _, _ = strings.Cut(name, ",")
			return strings.TrimSpace(name), nil
		}
	}
	return "", fmt.Errorf("podman load --input %s named no image:\n%s", archive, out)
}

// containerCommand returns the program and arguments that run the
// manager's image as a container the way a restricted Pod runs it: a
// read-only root filesystem, the image's non-root user, no capabilities,
// no privilege escalation. The host network lets it reach the stack's
// loopback API server and simulators. The kubeconfig is copied
// world-readable into the stack's private directory first, because the
// container's user is not the file owner.
func (s *Stack) containerCommand(image, kubeconfig string, args []string) (string, []string, error) {
	data, err := os.ReadFile(kubeconfig) //nolint:gosec // G304: the stack's own kubeconfig, or the caller's
	if err != nil {
		return "", nil, fmt.Errorf("reading the manager's kubeconfig: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	name := "collab-manager-" + hex.EncodeToString(suffix)
	mounted := filepath.Join(s.Dir, name+".kubeconfig")
	//nolint:gosec // G306: readable by the container's user; the stack's directory is private (0700)
	if err := os.WriteFile(mounted, data, 0o644); err != nil {
		return "", nil, fmt.Errorf("writing the container's kubeconfig: %w", err)
	}
	s.mu.Lock()
	s.containers = append(s.containers, name)
	s.mu.Unlock()
	run := append(append([]string{}, PodmanGlobalArgs...),
		"run", "--rm", "--name", name,
		"--read-only",
		"--cap-drop=ALL",
		"--security-opt", "no-new-privileges",
		"--network", "host",
		"--ulimit", "nofile=1024:1024",
		"--ulimit", "nproc=1000:1000",
		"--volume", mounted+":"+containerKubeconfig+":ro",
		"--env", "KUBECONFIG="+containerKubeconfig,
		image)
	return "podman", append(run, args...), nil
}

// removeContainers force-removes the containers the stack started, in case
// podman itself was killed before it could remove them.
func (s *Stack) removeContainers() error {
	s.mu.Lock()
	names := s.containers
	s.containers = nil
	s.mu.Unlock()
	if len(names) == 0 {
		return nil
	}
	_, err := Podman(context.Background(), append([]string{"rm", "--force", "--ignore"}, names...)...)
	return err
}
