package install

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/devstack"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// rbacCase is one way of installing the operator whose RBAC must be
// enough for the manager to do its work.
type rbacCase struct {
	name string
	// render returns the installer's objects.
	render func(t *testing.T) []*unstructured.Unstructured
	// namespace and serviceAccount are the manager's.
	namespace, serviceAccount string
	// sampleNamespaces receive the demo samples, which must become Ready.
	sampleNamespaces []string
	// clusterWide installs serve ClusterProviderConfigs: the first sample
	// namespace also gets config/demo/organization, whose Collaborator
	// must become Ready through one. Namespaced installs serve none: a
	// Collaborator referencing one must be NotPermitted, saying so.
	clusterWide bool
}

// TestRBACIsEnough runs the real manager with the credentials of the
// ServiceAccount that install.yaml and the chart (cluster-wide and
// namespaced) create, bound to exactly the rendered Roles and ClusterRoles,
// with the rendered Deployment's flags; the API server enforces RBAC, and
// the samples must become Ready. A missing permission shows up as a
// manager that never becomes ready or samples that never do, with the
// "forbidden" in its log.
func TestRBACIsEnough(t *testing.T) {
	if err := testenv.TrackInputs(chartDir, "config", "cmd", "internal", "api", "go.mod", "go.sum"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	root := testenv.RepoRoot()
	bins, err := devstack.Build(ctx, root, t.TempDir(), testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	stack, err := devstack.Up(ctx, root, testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stack.Stop(); err != nil {
			t.Errorf("stopping the stack: %v", err)
		}
	})
	res, err := stack.Kubectl(ctx, nil, "kustomize", "config/demo")
	if err != nil {
		t.Fatal(err)
	}
	org, err := stack.Kubectl(ctx, nil, "kustomize", "config/demo/organization")
	if err != nil {
		t.Fatal(err)
	}
	// Each namespace's samples get simulators of their own: the samples
	// name the same people, whom one simulator would see added twice.
	samplesFor := func(t *testing.T, ns string) (string, map[string]string) {
		sim, err := devstack.StartSimulators(ctx, stack, devstack.SimulatorOptions{
			Name: "simulator-" + ns, Binary: bins.Simulator, FreePorts: true,
			Seed: filepath.Join(root, "hack", "simulator-seed.json"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return devstack.PointSamplesAt(res.Stdout, sim.URLs), sim.URLs
	}
	admin, err := client.New(stack.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}

	cases := []rbacCase{
		{
			name:             "install.yaml",
			render:           func(t *testing.T) []*unstructured.Unstructured { return render(t, root) },
			namespace:        installNamespace,
			serviceAccount:   installServiceAccount,
			sampleNamespaces: []string{"installer-samples"},
			clusterWide:      true,
		},
		{
			name: "chart-cluster-wide",
			render: func(t *testing.T) []*unstructured.Unstructured {
				return helmTemplate(t, "wide", releaseNamespace, nil)
			},
			namespace:        releaseNamespace,
			serviceAccount:   "wide-collaborator-operator",
			sampleNamespaces: []string{"wide-samples"},
			clusterWide:      true,
		},
		{
			name: "chart-namespaced",
			render: func(t *testing.T) []*unstructured.Unstructured {
				return helmTemplate(t, "scoped", "scoped-system", []string{"watchNamespaces={scoped-a,scoped-b}"})
			},
			namespace:        "scoped-system",
			serviceAccount:   "scoped-collaborator-operator",
			sampleNamespaces: []string{"scoped-a", "scoped-b"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := tc.render(t)
			applyRBAC(ctx, t, admin, objs, tc.sampleNamespaces)
			kubeconfig := serviceAccountKubeconfig(ctx, t, stack, tc.namespace, tc.serviceAccount)
			args := append(deploymentArgs(t, objs), "--leader-election-namespace="+tc.namespace)
			if tc.clusterWide {
				// What the manager's default is in a cluster: its service
				// account's namespace. (Outside one it would be
				// collaborator-operator-system whatever the release's.)
				args = append(args, "--cluster-resource-namespace="+tc.namespace)
			}
			mgr, err := stack.StartManager(ctx, devstack.ManagerOptions{
				Binary:     bins.Manager,
				Kubeconfig: kubeconfig,
				ExtraArgs:  args,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := mgr.Stop(30 * time.Second); err != nil {
					t.Error(err)
				}
			}()
			var cpcName string
			for i, ns := range tc.sampleNamespaces {
				samples, urls := samplesFor(t, ns)
				if _, err := stack.Kubectl(ctx, strings.NewReader(samples), "apply", "-n", ns, "-f", "-"); err != nil {
					t.Fatal(err)
				}
				if i == 0 && tc.clusterWide {
					cpcName = applyOrganization(ctx, t, admin, org.Stdout, tc.namespace, ns, urls["quantconnect"])
				}
			}
			if cpcName != "" {
				if _, err := stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "clusterproviderconfig/"+cpcName,
					"--timeout=90s"); err != nil {
					out, _ := stack.Kubectl(ctx, nil, "get", "clusterproviderconfig", cpcName, "-o", "yaml")
					t.Fatalf("%v\n%s\nmanager log:\n%s", err, out.Stdout, mgr.Tail(40))
				}
			}
			for _, ns := range tc.sampleNamespaces {
				if _, err := stack.Kubectl(ctx, nil, "wait", "--for=condition=Ready", "collaborator", "--all",
					"-n", ns, "--timeout=90s"); err != nil {
					out, _ := stack.Kubectl(ctx, nil, "get", "collaborators,providerconfigs", "-n", ns, "-o", "yaml")
					t.Fatalf("%v\n%s\nmanager log:\n%s", err, out.Stdout, mgr.Tail(40))
				}
			}
			if !tc.clusterWide {
				checkClusterProviderConfigNotServed(ctx, t, admin, tc.sampleNamespaces[0], mgr)
			}
			if strings.Contains(strings.ToLower(devstack.TailFile(mgr.LogPath, 1000)), "forbidden") {
				t.Errorf("the manager was refused something (forbidden) with the shipped RBAC:\n%s", mgr.Tail(40))
			}
		})
	}
}

// applyRBAC creates, as the administrator, the namespaces and the
// ServiceAccount and RBAC objects among objs: what the manager runs with.
func applyRBAC(ctx context.Context, t *testing.T, admin client.Client,
	objs []*unstructured.Unstructured, extraNamespaces []string) {
	t.Helper()
	namespaces := slices.Clone(extraNamespaces)
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			namespaces = append(namespaces, ns)
		}
	}
	slices.Sort(namespaces)
	for _, ns := range slices.Compact(namespaces) {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := admin.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			if err := admin.Create(ctx, o.DeepCopy()); err != nil {
				t.Fatalf("creating %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
			}
		}
	}
}

// serviceAccountKubeconfig mints a token for the ServiceAccount (the
// TokenRequest API, as the kubelet does for a Pod) and writes a kubeconfig
// that uses only that token.
func serviceAccountKubeconfig(ctx context.Context, t *testing.T, stack *devstack.Stack, ns, sa string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(stack.Config)
	if err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("minting a token for ServiceAccount %s/%s: %v", ns, sa, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: stack.Config.Host, CertificateAuthorityData: stack.Config.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: sa, Namespace: ns}
	cfg.CurrentContext = "test"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// deploymentArgs returns the rendered Deployment's manager flags that
// choose what it does (leader election, namespaces, timeouts, logging),
// without the ones the stack sets for itself: probe and metrics addresses
// (free loopback ports) and the provider URL allow-list (the simulators'
// loopback URLs, devstack.SimulatorURLsArgs).
func deploymentArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	deps := find(objs, "Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d Deployments rendered; want 1", len(deps))
	}
	c := convert[appsv1.Deployment](t, deps[0]).Spec.Template.Spec.Containers[0]
	var args []string
	for _, a := range c.Args {
		switch {
		case strings.HasPrefix(a, "--health-probe-bind-address"),
			strings.HasPrefix(a, "--metrics-bind-address"),
			strings.HasPrefix(a, "--allowed-provider-urls"):
		default:
			args = append(args, a)
		}
	}
	return args
}

// testLog sends the stack's progress lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// applyOrganization creates, as the platform team would, the objects of
// config/demo/organization (rendered in manifests) for one case: the
// Secret in the manager's namespace (its cluster resource namespace), the
// ClusterProviderConfig, named after ns, pointed at the case's
// QuantConnect simulator and granting ns, and its Collaborator in ns. It
// returns the ClusterProviderConfig's name.
func applyOrganization(ctx context.Context, t *testing.T, admin client.Client,
	manifests, managerNS, ns, quantConnectURL string) string {
	t.Helper()
	objs := parseObjects(t, []byte(manifests))
	name := ""
	for _, o := range objs {
		if o.GetKind() == "ClusterProviderConfig" {
			name = o.GetName() + "-" + ns
		}
	}
	if name == "" {
		t.Fatal("config/demo/organization has no ClusterProviderConfig")
	}
	for _, o := range objs {
		o = o.DeepCopy()
		switch o.GetKind() {
		case "Namespace":
			continue // the manager's own, which the case created
		case "Secret":
			o.SetNamespace(managerNS)
		case "ClusterProviderConfig":
			o.SetName(name)
			if err := unstructured.SetNestedField(o.Object, quantConnectURL, "spec", "quantConnect", "baseURL"); err != nil {
				t.Fatal(err)
			}
			grants, _, _ := unstructured.NestedSlice(o.Object, "spec", "grants")
			for _, g := range grants {
				g.(map[string]any)["namespaces"] = []any{ns}
			}
			if err := unstructured.SetNestedSlice(o.Object, grants, "spec", "grants"); err != nil {
				t.Fatal(err)
			}
		case "Collaborator":
			o.SetNamespace(ns)
			if err := unstructured.SetNestedField(o.Object, name, "spec", "providerConfigRef", "name"); err != nil {
				t.Fatal(err)
			}
		}
		if err := admin.Create(ctx, o); err != nil {
			t.Fatalf("creating %s %s: %v", o.GetKind(), client.ObjectKeyFromObject(o), err)
		}
	}
	return name
}

// checkClusterProviderConfigNotServed: a namespaced install serves no
// ClusterProviderConfig, so a Collaborator referencing one is NotPermitted
// with a message saying so (and the manager, which has no permission on
// them, never tries to read them: the caller checks its log for
// "forbidden").
func checkClusterProviderConfigNotServed(ctx context.Context, t *testing.T, admin client.Client,
	ns string, mgr *devstack.Process) {
	t.Helper()
	c := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "not-served", Namespace: ns},
		Spec: collabv1alpha1.CollaboratorSpec{
			ProviderConfigRef: collabv1alpha1.ProviderConfigReference{
				Kind: collabv1alpha1.KindClusterProviderConfig, Name: "quantconnect-org",
			},
			QuantConnect: &collabv1alpha1.QuantConnectCollaborator{ProjectID: 23456790, UserID: "ava-quant"},
		},
	}
	u := &unstructured.Unstructured{}
	data, err := runtime.DefaultUnstructuredConverter.ToUnstructured(c)
	if err != nil {
		t.Fatal(err)
	}
	u.Object = data
	u.SetAPIVersion(collabv1alpha1.GroupVersion.String())
	u.SetKind("Collaborator")
	if err := admin.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	notPermitted := func(ctx context.Context) (bool, error) {
		if err := admin.Get(ctx, client.ObjectKeyFromObject(u), u); err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == collabv1alpha1.ConditionReady {
				ready = m
			}
		}
		return ready != nil && ready["reason"] == collabv1alpha1.ReasonNotPermitted, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, notPermitted); err != nil {
		t.Fatalf("a Collaborator referencing a ClusterProviderConfig in a namespaced install: Ready %v, "+
			"want reason NotPermitted: %v\nmanager log:\n%s", ready, err, mgr.Tail(40))
	}
	if msg, _ := ready["message"].(string); !strings.Contains(msg, "no ClusterProviderConfig") {
		t.Errorf("the NotPermitted message does not say the installation serves no ClusterProviderConfig: %q", msg)
	}
}
