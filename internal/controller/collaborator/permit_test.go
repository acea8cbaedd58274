package collaborator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// newClusterEnv builds a world with a QuantConnect ClusterProviderConfig
// "org" whose one grant lets the fixture namespace have read access on the
// fixture project, and a Collaborator reconciler that serves it.
func newClusterEnv(t *testing.T) (*ct.Env, *collaborator.Reconciler) {
	t.Helper()
	return newClusterEnvOf(t, collabv1alpha1.ProviderQuantConnect,
		collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace}, MaxAccess: collabv1alpha1.AccessRead})
}

// newClusterEnvOf builds a world with a ClusterProviderConfig "org" of the
// provider with grants, its Secret in the cluster resource namespace
// "operator", and a Collaborator reconciler that serves it.
func newClusterEnvOf(t *testing.T, providerName string, grants ...collabv1alpha1.ClusterGrant) (*ct.Env, *collaborator.Reconciler) {
	t.Helper()
	e := ct.New(t)
	secret := ct.Secret(providerName)
	secret.Namespace = "operator"
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	cpc.Name = "org"
	cpc.Spec.ProviderConfigSpec = ct.ProviderConfig(providerName).Spec
	cpc.Spec.Grants = grants
	e.Create(secret, cpc)
	allowed, err := provider.ParseURLAllowList(provider.DefaultAllowedURLs)
	if err != nil {
		t.Fatal(err)
	}
	conns := connector.New(connector.Options{Client: e.Client, SecretReader: e.Client, Providers: e.Registry, AllowedURLs: allowed,
		ClusterResourceNamespace: "operator"})
	return e, &collaborator.Reconciler{Client: e.Client, Connector: conns, Recorder: e.Recorder}
}

// viaOrg is mia-ai on the fixture project through the ClusterProviderConfig.
func viaOrg(name string, write bool) *collabv1alpha1.Collaborator {
	c := ct.QuantConnect(name, "mia-ai", write, false)
	c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"}
	return c
}

// A NotPermitted declaration is no candidate of its grant: an older one
// neither owns it (the permitted one applies its spec) nor keeps the
// person when the last permitted one goes; and its own deletion makes no
// call and tells nothing of the other declaration.
func TestNotPermittedDeclarationIsNoCandidate(t *testing.T) {
	e, r := newClusterEnv(t)
	beyond := viaOrg("beyond", true) // write, beyond the grant's read
	e.Create(beyond)
	passes := e.Settle(r, beyond)
	if diff := cmp.Diff(ct.Terminal(collabv1alpha1.ReasonNotPermitted, collabv1alpha1.ReasonNotPermitted), ct.ConditionsOf(beyond)); diff != "" {
		t.Errorf("beyond the grant (-want +got):\n%s", diff)
	}
	for _, p := range passes {
		if ops := p.Ops(); len(ops) > 0 {
			t.Fatalf("a NotPermitted object called the provider: %v", ops)
		}
	}

	within := viaOrg("within", false)
	settled(t, e, r, within)
	if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonAvailable), ct.ConditionsOf(within)); diff != "" {
		t.Errorf("the permitted declaration behind an older NotPermitted one (-want +got):\n%s", diff)
	}

	// The NotPermitted one's deletion: no call, no hand-over, no word of
	// the other declaration; it stays until Orphan.
	e.Delete(beyond)
	for _, p := range e.Run(r, beyond, 2) {
		if ops := p.Ops(); len(ops) > 0 {
			t.Errorf("deleting a NotPermitted object called the provider: %v", ops)
		}
	}
	if !e.Get(beyond) {
		t.Fatal("a NotPermitted object was released on deletion")
	}
	msg := readyMessage(beyond)
	if !strings.Contains(msg, "Orphan") || strings.Contains(msg, within.Name) {
		t.Errorf("blocked delete message %q: want Orphan named and nothing of %s", msg, within.Name)
	}
	for _, ev := range e.Recorder.Events() {
		if strings.Contains(ev.Message, within.Name) && ev.Object.Name != within.Name {
			t.Errorf("an Event about another object names %s: %+v", within.Name, ev)
		}
	}

	// The last permitted declaration's deletion removes the person,
	// although the NotPermitted one still names them.
	e.Delete(within)
	e.Settle(r, within)
	if e.Holds(within) {
		t.Error("the NotPermitted declaration kept the person after the last permitted one went")
	}
}

// Whatever a NotPermitted object would do (grant, read, expire, delete)
// it calls no provider: Ready=False, Stalled=True, reason NotPermitted,
// and a deleting one stays, its message naming Orphan.
func TestNotPermittedMakesNoCall(t *testing.T) {
	past := metav1.NewTime(time.Now().Add(-time.Hour))
	tests := map[string]struct {
		change func(c *collabv1alpha1.Collaborator)
		delete bool
	}{
		"a grant":   {},
		"an expiry": {change: func(c *collabv1alpha1.Collaborator) { c.Spec.ExpiresAt = &past }},
		"a read (Observe)": {change: func(c *collabv1alpha1.Collaborator) {
			c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
		}},
		"a delete": {delete: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newClusterEnv(t)
			c := viaOrg("beyond", true)
			if tc.change != nil {
				tc.change(c)
			}
			e.Seed(c)
			e.Create(c)
			passes := e.Run(r, c, 2)
			if tc.delete {
				e.Delete(c)
				passes = append(passes, e.Run(r, c, 2)...)
				if !e.Get(c) || !strings.Contains(readyMessage(c), "Orphan") {
					t.Errorf("the deleting object went, or its message %q does not name Orphan", readyMessage(c))
				}
			}
			for _, p := range passes {
				if ops := p.Ops(); len(ops) > 0 {
					t.Errorf("a NotPermitted object called the provider: %v", ops)
				}
			}
			if diff := cmp.Diff(ct.Terminal(collabv1alpha1.ReasonNotPermitted, collabv1alpha1.ReasonNotPermitted), ct.ConditionsOf(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !e.Holds(c) {
				t.Error("the person was removed")
			}
		})
	}
}

// An AppHarbor person declared from two namespaces through one
// ClusterProviderConfig: the duplicate takes the provider's id (its only
// way to find them) though the owner is in another namespace, is Ready
// without a write, keeps the person when the owner goes, and removes them
// when it goes last.
func TestAppHarborDuplicateAcrossNamespaces(t *testing.T) {
	e, r := newClusterEnvOf(t, collabv1alpha1.ProviderAppHarbor, collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace, "other"}})
	via := func(ns, name string) *collabv1alpha1.Collaborator {
		c := ct.AppHarbor(name, "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator)
		c.Namespace = ns
		c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"}
		return c
	}
	owner, dup := via(ct.Namespace, "bob"), via("other", "bob")
	settled(t, e, r, owner)
	e.Create(dup)
	passes := e.Settle(r, dup)
	if n := providerWrites(passes...); n != 0 {
		t.Errorf("the duplicate wrote %d times", n)
	}
	if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonAvailable), ct.ConditionsOf(dup)); diff != "" {
		t.Errorf("the duplicate (-want +got):\n%s", diff)
	}
	if msg := readyMessage(dup); strings.Contains(msg, ct.Namespace) {
		t.Errorf("the duplicate's message names the owner's namespace: %q", msg)
	}
	if id := providerID(e, owner); dup.Annotations[collabv1alpha1.ExternalIDAnnotation] != id {
		t.Errorf("the duplicate's id %q, want the person's %q", dup.Annotations[collabv1alpha1.ExternalIDAnnotation], id)
	}

	e.Delete(owner)
	e.Settle(r, owner)
	e.Settle(r, dup)
	if !e.Holds(dup) || e.Get(owner) {
		t.Fatal("deleting the owner removed the person, or kept the owner")
	}
	if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonAvailable), ct.ConditionsOf(dup)); diff != "" {
		t.Errorf("the duplicate once it owns the grant (-want +got):\n%s", diff)
	}
	e.Delete(dup)
	e.Settle(r, dup)
	if e.Holds(dup) {
		t.Error("deleting the last declaration kept the person")
	}
}
