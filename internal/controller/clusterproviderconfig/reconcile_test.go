package clusterproviderconfig_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/clusterproviderconfig"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// clusterNS is the cluster resource namespace of these tests.
const clusterNS = "operator"

// newEnv builds a world with a ClusterProviderConfig "org" of the
// provider, its Secret in the cluster resource namespace, and a reconciler
// whose connector serves ClusterProviderConfigs.
func newEnv(t *testing.T, providerName string, change func(*collabv1alpha1.ClusterProviderConfig)) (*ct.Env, *clusterproviderconfig.Reconciler, *collabv1alpha1.ClusterProviderConfig) {
	t.Helper()
	e := ct.New(t, ct.Bare())
	secret := ct.Secret(providerName)
	secret.Namespace = clusterNS
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	cpc.Name = "org"
	cpc.Spec.ProviderConfigSpec = ct.ProviderConfig(providerName).Spec
	cpc.Spec.Grants = []collabv1alpha1.ClusterGrant{{Namespaces: []string{ct.Namespace}}, {Namespaces: []string{"other"}}}
	if change != nil {
		change(cpc)
	}
	e.Create(secret, cpc)
	allowed, err := provider.ParseURLAllowList(provider.DefaultAllowedURLs)
	if err != nil {
		t.Fatal(err)
	}
	conns := connector.New(connector.Options{Client: e.Client, SecretReader: e.Client, Providers: e.Registry, AllowedURLs: allowed,
		ClusterResourceNamespace: clusterNS})
	return e, &clusterproviderconfig.Reconciler{Client: e.Client, Connector: conns}, cpc
}

// viaOrg is a fixture Collaborator in namespace ns using the
// ClusterProviderConfig "org".
func viaOrg(ns, name string) *collabv1alpha1.Collaborator {
	c := ct.QuantConnect(name, name, false, false)
	c.Namespace = ns
	c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"}
	return c
}

// A ClusterProviderConfig is Ready as a ProviderConfig is, from its Secret
// in the cluster resource namespace, and shows its provider and grant
// count; the same failures say the same, naming the kind.
func TestClusterProviderConfigStatus(t *testing.T) {
	type want struct {
		Conds    []ct.Cond
		Ops      []fake.Op
		Provider string
		Grants   int32
		Message  string
	}
	tests := map[string]struct {
		provider string
		change   func(*collabv1alpha1.ClusterProviderConfig)
		// setup breaks the world after it is built; nil leaves it working.
		setup func(e *ct.Env)
		want  want
	}{
		"QuantConnect, accepted by its check": {
			provider: collabv1alpha1.ProviderQuantConnect,
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Ops: []fake.Op{fake.OpAuthenticate},
				Provider: collabv1alpha1.ProviderQuantConnect, Grants: 2, Message: "accepted them"},
		},
		"AppHarbor, no check offered": {
			provider: collabv1alpha1.ProviderAppHarbor,
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Provider: collabv1alpha1.ProviderAppHarbor, Grants: 2,
				Message: "offers no way to check"},
		},
		"Secret missing from the cluster resource namespace": {
			provider: collabv1alpha1.ProviderQuantConnect,
			setup:    func(e *ct.Env) { e.Delete(withNamespace(ct.Secret(collabv1alpha1.ProviderQuantConnect), clusterNS)) },
			want: want{Conds: ct.Transient(collabv1alpha1.ReasonSecretNotFound, collabv1alpha1.ReasonSecretNotFound),
				Provider: collabv1alpha1.ProviderQuantConnect, Grants: 2, Message: `ClusterProviderConfig "org" not found in namespace "operator"`},
		},
		"base URL not allowed": {
			provider: collabv1alpha1.ProviderQuantConnect,
			change: func(c *collabv1alpha1.ClusterProviderConfig) {
				c.Spec.QuantConnect.BaseURL = "https://evil.example"
			},
			want: want{Conds: ct.Terminal(collabv1alpha1.ReasonBaseURLNotAllowed, collabv1alpha1.ReasonBaseURLNotAllowed),
				Provider: collabv1alpha1.ProviderQuantConnect, Grants: 2, Message: `ClusterProviderConfig "org": baseURL`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r, cpc := newEnv(t, tc.provider, tc.change)
			if tc.setup != nil {
				tc.setup(e)
			}
			pass := e.Reconcile(r, cpc)
			if pass.Err != nil {
				t.Fatalf("reconcile: %v", pass.Err)
			}
			e.Get(cpc)
			got := want{Conds: ct.Conds(cpc.Status.Conditions, cpc.Generation), Ops: pass.Ops(), Provider: cpc.Status.Provider,
				Grants: cpc.Status.Grants, Message: tc.want.Message}
			if msg := ct.Condition(cpc.Status.Conditions, collabv1alpha1.ConditionReady).Message; !strings.Contains(msg, tc.want.Message) {
				t.Errorf("Ready message %q lacks %q", msg, tc.want.Message)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if cpc.Status.ObservedGeneration != cpc.Generation {
				t.Errorf("observedGeneration %d, generation %d", cpc.Status.ObservedGeneration, cpc.Generation)
			}
		})
	}
}

func withNamespace[T interface{ SetNamespace(string) }](o T, ns string) T {
	o.SetNamespace(ns)
	return o
}

// The in-use finalizer is held while Collaborators of any namespace use
// the ClusterProviderConfig; deletion waits for them, naming them by
// namespace and name (the status is the cluster administrators'), and a
// ProviderConfig of the same name counts for nothing.
func TestClusterProviderConfigInUse(t *testing.T) {
	e, r, cpc := newEnv(t, collabv1alpha1.ProviderQuantConnect, nil)
	samePCName := ct.QuantConnect("by-pc", "x", false, false)
	samePCName.Spec.ProviderConfigRef.Name = "org"
	e.Create(samePCName)
	if e.Reconcile(r, cpc); e.Get(cpc) && controllerutil.ContainsFinalizer(cpc, collabv1alpha1.InUseFinalizer) {
		t.Fatal("a ProviderConfig's Collaborator of the same name holds the ClusterProviderConfig")
	}
	a, b := viaOrg(ct.Namespace, "mia"), viaOrg("other", "noah")
	e.Create(a, b)
	e.Reconcile(r, cpc)
	if e.Get(cpc); !controllerutil.ContainsFinalizer(cpc, collabv1alpha1.InUseFinalizer) {
		t.Fatal("no in-use finalizer while used")
	}
	e.Delete(cpc)
	e.Reconcile(r, cpc)
	e.Get(cpc)
	msg := ct.Condition(cpc.Status.Conditions, collabv1alpha1.ConditionReconciling).Message
	for _, want := range []string{"ClusterProviderConfig", ct.Namespace + "/mia", "other/noah"} {
		if !strings.Contains(msg, want) {
			t.Errorf("deletion message %q lacks %q", msg, want)
		}
	}
	e.ForceDelete(a)
	e.ForceDelete(b)
	e.Reconcile(r, cpc)
	if e.Get(cpc) {
		t.Errorf("the unused ClusterProviderConfig stayed: finalizers %v", cpc.Finalizers)
	}
}
