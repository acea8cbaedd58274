package install

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// TestUninstallWithKubectlDeleteNeverRevokes runs `kubectl delete -f` on
// the whole of install.yaml while the manager (as the install's
// ServiceAccount, with its RBAC) holds people at the simulators. The
// policy in config/admission refuses to delete the manager's namespace,
// Deployment, ServiceAccount and RBAC while the CRD exists, so the
// manager stays to release every Collaborator: the command ends with the
// CRDs gone, nobody removed at any provider, no finalizer left behind and
// nothing Terminating; the same command run again removes the rest.
//
// The test API server runs no controller-manager: nothing runs the
// Deployment (the manager runs beside it with the same flags and
// credentials) and no namespace controller empties a deleted namespace,
// so the second command's effect is checked on the objects it names.
func TestUninstallWithKubectlDeleteNeverRevokes(t *testing.T) {
	if err := testenv.TrackInputs("config", "cmd", "internal", "api", "go.mod", "go.sum"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	in := installWithPeople(ctx, t)
	stack, admin, mgr, install, objs := in.stack, in.admin, in.mgr, in.file, in.objs

	// The whole install in one command.
	res, err := stack.Kubectl(ctx, nil, "delete", "-f", install, "--timeout=120s")
	if err == nil {
		t.Fatal("kubectl delete -f install.yaml succeeded at once; want the manager's objects refused while the CRD exists")
	}
	// The Namespace comes before the CRDs in the file, so it is always
	// refused; objects after them may go once the manager has released
	// everyone and the CRD is gone, when the policy allows them.
	if !strings.Contains(res.Stderr, "not deleting Namespace "+installNamespace) {
		t.Errorf("kubectl's errors do not name the refused Namespace:\n%s", res.Stderr)
	}
	if !strings.Contains(res.Stderr, "then run the same delete again") {
		t.Errorf("the refusal does not say what to do:\n%s", res.Stderr)
	}

	// What the refusal tells the user to run next.
	_, err = stack.Kubectl(ctx, nil, "wait", "--for=delete", "crd/collaborators.collab.dev", "--timeout=60s")
	if err != nil {
		t.Fatalf("the Collaborator CRD did not go: %v\nmanager log:\n%s", err, mgr.Tail(40))
	}
	checkNobodyRemoved(t, in.sims.LogPath)
	checkReleased(ctx, t, admin, people, in.granted)
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := admin.Get(ctx, client.ObjectKeyFromObject(o), got); err == nil && got.GetDeletionTimestamp() != nil {
			t.Errorf("%s %s is Terminating", o.GetKind(), o.GetName())
		}
	}

	// Once the CRDs are gone the policy has no parameter and allows the rest.
	if _, err := stack.Kubectl(ctx, nil, "delete", "-f", install, "--ignore-not-found", "--wait=false"); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue // no namespace controller here to finish it
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := admin.Get(ctx, client.ObjectKeyFromObject(o), got); err == nil && got.GetDeletionTimestamp() == nil {
			t.Errorf("%s %s survived the second delete", o.GetKind(), o.GetName())
		}
	}
}

// checkNobodyRemoved fails on any delete the simulators received:
// QuantConnect's POST .../delete, AppHarbor's and WebTranslateIt's DELETE.
func checkNobodyRemoved(t *testing.T, simLog string) {
	t.Helper()
	data, err := os.ReadFile(simLog) //nolint:gosec // G304: the stack's own log file
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.Contains(line, " DELETE ") || strings.Contains(line, "/delete") {
			t.Errorf("a provider was asked to remove someone during the uninstall: %s", line)
		}
	}
}

// checkReleased checks that each Collaborator got an Orphaned Event and
// none a Deleted one, and that the credentials Secrets lost the operator's
// in-use finalizer.
func checkReleased(ctx context.Context, t *testing.T, admin client.Client, ns string, want int) {
	t.Helper()
	events := &eventsv1.EventList{}
	if err := admin.List(ctx, events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	orphaned := map[string]bool{}
	for _, e := range events.Items {
		if e.Regarding.Kind != "Collaborator" {
			continue
		}
		switch e.Reason {
		case "Orphaned":
			orphaned[e.Regarding.Name] = true
		case "Deleted":
			t.Errorf("Collaborator %s was deleted at its provider: %s", e.Regarding.Name, e.Note)
		}
	}
	if len(orphaned) != want {
		t.Errorf("%d Collaborators released with an Orphaned Event; want all %d", len(orphaned), want)
	}
	secrets := &corev1.SecretList{}
	if err := admin.List(ctx, secrets, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Items {
		if slices.Contains(s.Finalizers, "collab.dev/in-use") {
			t.Errorf("Secret %s still carries collab.dev/in-use", s.Name)
		}
	}
}

// installed is install.yaml applied to a fresh API server, with the
// manager running as its ServiceAccount and the demo samples Ready in
// namespace people.
type installed struct {
	stack   *devstack.Stack
	admin   client.Client
	sims    *devstack.Simulators
	mgr     *devstack.Process
	file    string
	objs    []*unstructured.Unstructured
	granted int
}

// people is the namespace of the demo samples.
const people = "people"

// installWithPeople applies install.yaml to a fresh API server, starts the
// simulators and the manager (as install.yaml's ServiceAccount, with the
// Deployment's flags) and waits until the demo samples are Ready.
func installWithPeople(ctx context.Context, t *testing.T) *installed {
	t.Helper()
	root := testenv.RepoRoot()
	bins, err := devstack.Build(ctx, root, t.TempDir(), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := devstack.New(root, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	// No CRDs beforehand: install.yaml brings its own, as on a cluster.
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{AssetsDir: assets}); err != nil {
		t.Fatal(err)
	}
	install := filepath.Join(t.TempDir(), "install.yaml")
	if err := os.WriteFile(install, renderYAML(t, root), 0o600); err != nil {
		t.Fatal(err)
	}
	objs := render(t, root)
	if _, err := stack.Kubectl(ctx, nil, "apply", "--server-side", "-f", install); err != nil {
		t.Fatal(err)
	}

	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	typed, err := client.New(stack.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// The API server serves new CRDs, and applies admission policies to
	// them, a moment after accepting them.
	if err := devstack.WaitForFinalizerPolicy(ctx, typed, "default"); err != nil {
		t.Fatal(err)
	}

	sims, err := devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{
		Binary: bins.Simulator, FreePorts: true, ExtraArgs: []string{"--log-requests"},
		Seed: filepath.Join(root, "hack", "simulator-seed.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Kubectl(ctx, nil, "create", "namespace", people); err != nil {
		t.Fatal(err)
	}
	kubeconfig := serviceAccountKubeconfig(ctx, t, stack, installNamespace, installServiceAccount)
	mgr, err := stack.StartManager(ctx, devstack.ManagerOptions{
		Binary: bins.Manager, Kubeconfig: kubeconfig,
		ExtraArgs: append(deploymentArgs(t, objs), "--leader-election-namespace="+installNamespace),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := mgr.Stop(30 * time.Second); err != nil {
			t.Error(err)
		}
	})
	samples, err := stack.Kubectl(ctx, nil, "kustomize", "config/demo")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Kubectl(ctx, strings.NewReader(devstack.PointSamplesAt(samples.Stdout, sims.URLs)),
		"apply", "-n", people, "-f", "-"); err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "collaborator", "--all",
		"-n", people, "--timeout=90s"); err != nil {
		t.Fatalf("%v\nmanager log:\n%s", err, mgr.Tail(40))
	}
	admin, err := client.New(stack.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	collaborators := &unstructured.UnstructuredList{}
	collaborators.SetGroupVersionKind(collabv1alpha1.GroupVersion.WithKind("CollaboratorList"))
	if err := admin.List(ctx, collaborators, client.InNamespace(people)); err != nil || len(collaborators.Items) == 0 {
		t.Fatalf("listing the sample Collaborators: %d, %v", len(collaborators.Items), err)
	}
	return &installed{stack: stack, admin: admin, sims: sims, mgr: mgr, file: install, objs: objs,
		granted: len(collaborators.Items)}
}
