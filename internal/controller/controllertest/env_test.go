package controllertest_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Create fills what the API server fills: namespace, UID, generation 1,
// and creation times in creation order; Edit moves the generation only
// when the spec changed.
func TestCreateAndEditAsTheAPIServer(t *testing.T) {
	e := ct.New(t, ct.Bare())
	a := ct.QuantConnect("a", "a", false, false)
	b := ct.QuantConnect("b", "b", false, false)
	a.Namespace, b.Namespace = "", ""
	e.Create(a, b)
	if a.Namespace != ct.Namespace || a.UID == "" || a.UID == b.UID || a.Generation != 1 {
		t.Errorf("created %s/%s uid %q generation %d; b uid %q", a.Namespace, a.Name, a.UID, a.Generation, b.UID)
	}
	if !a.CreationTimestamp.Before(&b.CreationTimestamp) {
		t.Errorf("creation times %v, %v: not in creation order", a.CreationTimestamp, b.CreationTimestamp)
	}
	e.Edit(a, func() { a.Labels = map[string]string{"team": "x"} })
	if a.Generation != 1 {
		t.Errorf("a metadata edit moved the generation to %d", a.Generation)
	}
	e.Edit(a, func() { a.Spec.QuantConnect.Write = true })
	if !e.Get(a) || a.Generation != 2 || !a.Spec.QuantConnect.Write {
		t.Errorf("after a spec edit: generation %d, write %t", a.Generation, a.Spec.QuantConnect.Write)
	}
}

// The fixture Secrets hold what each fake provider's factory accepts.
func TestFixtureCredentialsAreAccepted(t *testing.T) {
	e := ct.New(t)
	for _, name := range ct.ProviderNames {
		s := ct.Secret(name)
		if !e.Get(s) {
			t.Fatalf("no fixture Secret %s", s.Name)
		}
		if _, err := e.Registry.New(name, provider.Config{Credentials: s.Data}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		pc := ct.ProviderConfig(name)
		if ep, ok := pc.Spec.Endpoint(); !ok || ep.Provider != name || ep.SecretName != s.Name {
			t.Errorf("%s: ProviderConfig endpoint %+v", name, ep)
		}
	}
}

// A pass's writes through Env.Client are logged in order, and FailWrite
// fails them before they reach the store; Settle stops at the first pass
// that writes nothing.
func TestPassesLogAndFailWrites(t *testing.T) {
	e := ct.New(t, ct.Bare())
	c := ct.QuantConnect("a", "a", false, false)
	e.Create(c)
	labels := 0
	r := reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		obj := &collabv1alpha1.Collaborator{}
		if err := e.Client.Get(ctx, req.NamespacedName, obj); err != nil {
			return reconcile.Result{}, err
		}
		if labels == 2 {
			return reconcile.Result{}, nil
		}
		labels++
		base := obj.DeepCopy()
		obj.Labels = map[string]string{"n": strconv.Itoa(labels)}
		return reconcile.Result{}, e.Client.Patch(ctx, obj, client.MergeFrom(base))
	})

	passes := e.Settle(r, c)
	if len(passes) != 3 || !passes[2].Quiet() {
		t.Fatalf("settled in %d passes:\n%s", len(passes), ct.DescribePasses(passes))
	}
	want := []ct.Write{{Verb: "patch", Kind: "Collaborator", Key: client.ObjectKeyFromObject(c)}}
	if diff := cmp.Diff(want, passes[0].Writes); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if c.Labels["n"] != "2" {
		t.Errorf("obj not refreshed after the passes: labels %v", c.Labels)
	}

	labels = 0
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "collab.dev", Resource: "collaborators"}, c.Name, errors.New("test"))
	e.FailWrite = func(ct.Write) error { return conflict }
	p := e.Reconcile(r, c)
	if !apierrors.IsConflict(p.Err) || len(p.Writes) != 0 || c.Labels["n"] != "2" {
		t.Errorf("failed write: err %v, logged %v, labels %v", p.Err, p.Writes, c.Labels)
	}
}

// WithClusterResourceNamespace makes the Env's connector, and those
// NewConnector builds (a restarted manager's), serve ClusterProviderConfigs
// from that namespace; without it they serve none.
func TestWithClusterResourceNamespace(t *testing.T) {
	if got := ct.New(t, ct.Bare()).Connector.ClusterResourceNamespace(); got != "" {
		t.Errorf("by default the connector serves ClusterProviderConfigs from %q, want none", got)
	}
	e := ct.New(t, ct.Bare(), ct.WithClusterResourceNamespace("operator"))
	for name, got := range map[string]string{
		"Connector": e.Connector.ClusterResourceNamespace(), "NewConnector": e.NewConnector().ClusterResourceNamespace(),
	} {
		if got != "operator" {
			t.Errorf("%s serves ClusterProviderConfigs from %q, want operator", name, got)
		}
	}
}
