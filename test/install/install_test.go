// Package install checks the installer users get from `make
// build-installer` (dist/install.yaml, rendered from config/default): that
// it holds everything the operator needs, hardened the way a restricted
// namespace requires, and that a real API server accepts every object.
// It renders config/default in-process with kustomize's own library (the
// one the pinned bin/kustomize is built from), so it needs no binary.
package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/collab-dev/collaborator-operator/test/devstack"
)

// render builds config/default as `kustomize build` does, or, when
// INSTALL_YAML names a file (make verify-installer sets it to
// dist/install.yaml), reads that file instead, so the artefact actually
// shipped is what gets checked.
func render(t *testing.T, root string) []*unstructured.Unstructured {
	t.Helper()
	return parseObjects(t, renderYAML(t, root))
}

// renderYAML is render's YAML stream, in the order kubectl would read it
// from dist/install.yaml.
func renderYAML(t *testing.T, root string) []byte {
	t.Helper()
	var data []byte
	if path := os.Getenv("INSTALL_YAML"); path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil { //nolint:gosec // G304: the file the developer named
			t.Fatalf("reading the installer named by INSTALL_YAML: %v", err)
		}
		t.Logf("checking %s", path)
	} else {
		// The kustomize CLI's default order (Namespace, CRDs, RBAC, ...),
		// which kubectl then follows when it applies or deletes the file.
		opts := krusty.MakeDefaultOptions()
		opts.Reorder = krusty.ReorderOptionLegacy
		resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), filepath.Join(root, "config", "default"))
		if err != nil {
			t.Fatalf("kustomize build config/default: %v", err)
		}
		if data, err = resMap.AsYaml(); err != nil {
			t.Fatalf("rendering config/default as YAML: %v", err)
		}
	}
	return data
}

// parseObjects splits a multi-document YAML stream into objects.
func parseObjects(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("parsing the rendered manifests: %v", err)
		}
		if len(u.Object) > 0 {
			objs = append(objs, u)
		}
	}
	return objs
}

// The namespace and ServiceAccount of config/default's manager.
const (
	installNamespace      = "collaborator-operator-system"
	installServiceAccount = "collaborator-operator-controller-manager"
)

func TestInstaller(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	objs := render(t, root)

	t.Run("contents", func(t *testing.T) { checkContents(t, objs) })
	t.Run("grants", func(t *testing.T) {
		lines := grants(t, objs, installNamespace, installServiceAccount)
		if !slices.Contains(lines, crdRead) {
			t.Errorf("install.yaml does not grant %q", crdRead)
		}
		checkGolden(t, "install-yaml", lines)
	})
	t.Run("server-side-dry-run", func(t *testing.T) { dryRun(t, root, objs) })
}

// find returns the objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	return found
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		t.Fatalf("reading %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &v
}

func checkContents(t *testing.T, objs []*unstructured.Unstructured) {
	ns := checkNamespace(t, objs)
	checkCRDs(t, objs)
	sa := checkRBAC(t, objs, ns)
	dep := checkDeployment(t, objs, sa)
	checkMetricsService(t, objs, dep)
	checkFinalizerPolicy(t, objs, nil)
	checkUninstallOrder(t, objs)
	for _, o := range append(find(objs, "MutatingAdmissionPolicy"), find(objs, "MutatingAdmissionPolicyBinding")...) {
		if o.GetNamespace() != "" {
			t.Errorf("cluster-scoped %s %s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
}

// checkNamespace finds the one Namespace and checks every namespaced
// object is in it.
func checkNamespace(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	nss := find(objs, "Namespace")
	if len(nss) != 1 {
		t.Fatalf("installer has %d Namespaces, want 1", len(nss))
	}
	ns := nss[0].GetName()
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
			"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
			"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		default:
			if o.GetNamespace() != ns {
				t.Errorf("%s %s is in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), ns)
			}
		}
	}
	return ns
}

func checkCRDs(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	found := find(objs, "CustomResourceDefinition")
	crds := make([]string, 0, len(found))
	for _, c := range found {
		crds = append(crds, c.GetName())
	}
	slices.Sort(crds)
	want := []string{"accesspolicies.collab.dev", "clusterproviderconfigs.collab.dev", "collaborators.collab.dev",
		"providerconfigs.collab.dev"}
	if !slices.Equal(crds, want) {
		t.Errorf("installer's CRDs are %v, want %v", crds, want)
	}
}

// checkRBAC checks that the manager's ServiceAccount may do what the
// manager does, and returns its name.
func checkRBAC(t *testing.T, objs []*unstructured.Unstructured, ns string) string {
	t.Helper()
	sas := find(objs, "ServiceAccount")
	if len(sas) != 1 {
		t.Fatalf("installer has %d ServiceAccounts, want 1", len(sas))
	}
	sa := sas[0].GetName()

	var rules []rbacv1.PolicyRule
	bound := map[string]bool{}
	for _, b := range find(objs, "ClusterRoleBinding") {
		crb := convert[rbacv1.ClusterRoleBinding](t, b)
		for _, s := range crb.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == sa && s.Namespace == ns {
				bound[crb.RoleRef.Name] = true
			}
		}
	}
	for _, r := range find(objs, "ClusterRole") {
		if bound[r.GetName()] {
			rules = append(rules, convert[rbacv1.ClusterRole](t, r).Rules...)
		}
	}
	can := func(group, resource, verb string) bool {
		return slices.ContainsFunc(rules, func(rule rbacv1.PolicyRule) bool {
			return slices.Contains(rule.APIGroups, group) &&
				slices.Contains(rule.Resources, resource) &&
				slices.Contains(rule.Verbs, verb)
		})
	}
	for _, need := range []struct{ group, resource, verb string }{
		{"collab.dev", "collaborators", "watch"},
		{"collab.dev", "collaborators", "patch"},
		{"collab.dev", "collaborators/status", "update"},
		{"collab.dev", "collaborators/finalizers", "update"},
		{"collab.dev", "providerconfigs", "watch"},
		{"collab.dev", "providerconfigs/status", "update"},
		// ClusterProviderConfigs: reconciled like ProviderConfigs, and
		// their grants' namespaceSelectors read the namespaces' labels.
		{"collab.dev", "clusterproviderconfigs", "watch"},
		{"collab.dev", "clusterproviderconfigs", "patch"},
		{"collab.dev", "clusterproviderconfigs/status", "update"},
		{"collab.dev", "clusterproviderconfigs/finalizers", "update"},
		{"", "namespaces", "watch"},
		{"", "secrets", "get"},
		// The authenticated metrics endpoint checks each scraper's token
		// and permission with the API server.
		{"authentication.k8s.io", "tokenreviews", "create"},
		{"authorization.k8s.io", "subjectaccessreviews", "create"},
	} {
		if !can(need.group, need.resource, need.verb) {
			t.Errorf("the manager's ServiceAccount %s/%s may not %s %s.%s", ns, sa, need.verb, need.resource, need.group)
		}
	}
	if !can("", "events", "create") && !can("events.k8s.io", "events", "create") {
		t.Errorf("the manager's ServiceAccount %s/%s may not create events", ns, sa)
	}
	return sa
}

// checkDeployment checks the manager's Deployment runs as sa, with probes,
// requests and limits, and the restricted Pod Security profile.
func checkDeployment(t *testing.T, objs []*unstructured.Unstructured, sa string) *appsv1.Deployment {
	t.Helper()
	deps := find(objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("installer has %d Deployments, want 1", len(deps))
	}
	dep := convert[appsv1.Deployment](t, deps[0])
	pod := dep.Spec.Template.Spec
	if pod.ServiceAccountName != sa {
		t.Errorf("Deployment runs as ServiceAccount %q, want %q", pod.ServiceAccountName, sa)
	}
	if len(pod.Containers) == 0 {
		t.Fatal("Deployment has no containers")
	}
	podSC := pod.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	for _, c := range pod.Containers {
		checkContainer(t, c, podSC)
	}
	mgr := pod.Containers[0]
	args := strings.Join(append(append([]string{}, mgr.Command...), mgr.Args...), " ")
	if !strings.Contains(args, "--metrics-bind-address=:8443") || strings.Contains(args, "--metrics-secure=false") {
		t.Errorf("manager args %q: want authenticated HTTPS metrics on :8443", args)
	}
	if !strings.Contains(args, "--leader-elect") {
		t.Errorf("manager args %q: want --leader-elect so a rollout never runs two managers", args)
	}
	checkShutdownBudget(t, pod, args)
	return dep
}

// checkShutdownBudget checks the chain that keeps a pod stop from losing
// an AppHarbor id: the Pod's terminationGracePeriodSeconds exceeds the
// manager's graceful shutdown timeout, which is the provider timeout plus
// the external-id write's 15s plus a 15s margin (cmd/main.go
// shutdownBudget).
func checkShutdownBudget(t *testing.T, pod corev1.PodSpec, args string) {
	t.Helper()
	providerTimeout := 30 * time.Second
	for _, a := range strings.Fields(args) {
		if v, ok := strings.CutPrefix(a, "--provider-timeout="); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("--provider-timeout=%s: %v", v, err)
			}
			providerTimeout = d
		}
	}
	budget := providerTimeout + 30*time.Second
	grace := pod.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= budget {
		t.Errorf("terminationGracePeriodSeconds %v must exceed the manager's graceful shutdown timeout %s "+
			"(provider timeout %s + 15s external-id write + 15s margin)", grace, budget, providerTimeout)
	}
}

func checkContainer(t *testing.T, c corev1.Container, podSC *corev1.PodSecurityContext) {
	t.Helper()
	where := "container " + c.Name
	sc := c.SecurityContext
	if sc == nil {
		sc = &corev1.SecurityContext{}
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil {
		t.Errorf("%s lacks a liveness or readiness probe", where)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("%s has no %s request", where, r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("%s has no %s limit", where, r)
		}
	}
	if !isTrue(sc.RunAsNonRoot) && !isTrue(podSC.RunAsNonRoot) {
		t.Errorf("%s may run as root: set runAsNonRoot", where)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("%s has a writable root filesystem", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s allows privilege escalation", where)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = podSC.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s has no RuntimeDefault seccomp profile", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("%s keeps Linux capabilities: drop ALL", where)
	}
}

// checkMetricsService checks a Service exposes the manager's metrics port.
func checkMetricsService(t *testing.T, objs []*unstructured.Unstructured, dep *appsv1.Deployment) {
	t.Helper()
	var ports []int32
	for _, s := range find(objs, "Service") {
		svc := convert[corev1.Service](t, s)
		matches := len(svc.Spec.Selector) > 0
		for k, v := range svc.Spec.Selector {
			if dep.Spec.Template.Labels[k] != v {
				matches = false
			}
		}
		if !matches {
			continue
		}
		for _, p := range svc.Spec.Ports {
			ports = append(ports, p.Port)
		}
	}
	if !slices.Contains(ports, 8443) {
		t.Errorf("no Service selects the manager's pods on port 8443 for metrics (ports %v)", ports)
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// dryRun sends every object to a real API server with dryRun=All, in the
// order kubectl apply would need: CRDs, then Namespaces, then the rest.
// Namespaces are created for real, because the API server refuses even a
// dry-run create in a namespace that does not exist; so are the
// namespaces that objects name without rendering them (a chart's release
// and watched namespaces). The Prometheus Operator's kinds are served by
// stand-in CRDs that accept any content: the test API server has no
// Prometheus Operator, and promtool checks the rules themselves
// (test/alerts).
func dryRun(t *testing.T, root string, objs []*unstructured.Unstructured) {
	ctx := context.Background()
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		t.Fatalf("cannot find kube-apiserver and etcd: %v", err)
	}
	stack, err := devstack.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	// No CRDs installed beforehand: the installer's own must be valid.
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{AssetsDir: assets}); err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(stack.Config, client.Options{})
	if err != nil {
		t.Fatalf("building a client: %v", err)
	}
	if err := installMonitoringStandIns(ctx, cl, objs); err != nil {
		t.Fatal(err)
	}
	rank := func(u *unstructured.Unstructured) int {
		switch u.GetKind() {
		case "CustomResourceDefinition":
			return 0
		case "Namespace":
			return 1
		default:
			return 2
		}
	}
	ordered := slices.Clone(objs)
	slices.SortStableFunc(ordered, func(a, b *unstructured.Unstructured) int { return rank(a) - rank(b) })
	created := map[string]bool{}
	for _, o := range ordered {
		if ns := o.GetNamespace(); ns != "" && !created[ns] {
			created[ns] = true
			nsObj := &corev1.Namespace{}
			nsObj.Name = ns
			if err := cl.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating namespace %s for the namespaced objects' dry run: %v", ns, err)
			}
		}
		id := fmt.Sprintf("%s %s", o.GetKind(), client.ObjectKeyFromObject(o))
		if err := cl.Create(ctx, o.DeepCopy(), client.DryRunAll); err != nil {
			t.Errorf("the API server refuses %s: %v", id, err)
			continue
		}
		if o.GetKind() == "Namespace" && !created[o.GetName()] {
			created[o.GetName()] = true
			if err := cl.Create(ctx, o.DeepCopy()); err != nil {
				t.Fatalf("creating %s for the namespaced objects' dry run: %v", id, err)
			}
		}
		if o.GetKind() == "CustomResourceDefinition" {
			// The namespaced kinds must be served before their objects.
			if err := cl.Create(ctx, o.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating %s: %v", id, err)
			}
		}
	}
}

// checkUninstallOrder checks that install.yaml ships the policy that keeps
// the manager's objects while the Collaborator CRD exists (its behaviour:
// TestUninstallWithKubectlDeleteNeverRevokes), bound to that CRD, and
// that every object it guards carries the label it selects on.
func checkUninstallOrder(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	bindings := find(objs, "ValidatingAdmissionPolicyBinding")
	if len(bindings) != 1 || len(find(objs, "ValidatingAdmissionPolicy")) != 1 {
		t.Fatalf("%d ValidatingAdmissionPolicyBindings; want the uninstall-order policy and its binding", len(bindings))
	}
	ref, _, _ := unstructured.NestedStringMap(bindings[0].Object, "spec", "paramRef")
	if ref["name"] != "collaborators.collab.dev" || ref["parameterNotFoundAction"] != "Allow" {
		t.Errorf("the uninstall-order binding's paramRef is %v; want the Collaborator CRD, allowing once it is gone", ref)
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace", "ServiceAccount", "Deployment", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			if o.GetLabels()["app.kubernetes.io/name"] != "collaborator-operator" {
				t.Errorf("%s %s lacks app.kubernetes.io/name=collaborator-operator: the uninstall-order policy would not keep it",
					o.GetKind(), o.GetName())
			}
		}
	}
}
