package collaborator_test

import (
	"strconv"

	"testing"

	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// newEnv builds a world with the three fixture ProviderConfigs and a
// Collaborator reconciler on it.
func newEnv(t *testing.T) (*ct.Env, *collaborator.Reconciler) {
	t.Helper()
	e := ct.New(t)
	return e, &collaborator.Reconciler{Client: e.Client, Connector: e.Connector, Recorder: e.Recorder}
}

// state is what the Collaborator tests compare after their passes: the
// object as stored and the provider's truth about its person.
type state struct {
	// Exists: the object is still stored.
	Exists bool
	// Finalizer: it still holds collab.dev/finalizer.
	Finalizer bool
	// Conds are its conditions for its current generation.
	Conds []ct.Cond
	// Held: the provider holds the person it names.
	Held bool
	// ExternalID is its collab.dev/external-id annotation.
	ExternalID string
	// Pending: it carries collab.dev/create-pending.
	Pending bool
}

// stateOf reads c afresh (c keeps its last content when it is gone).
func stateOf(e *ct.Env, c *collabv1alpha1.Collaborator) state {
	s := state{Held: e.Holds(c)}
	if !e.Get(c) {
		return s
	}
	_, pending := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
	s.Exists, s.Finalizer, s.Pending = true, controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer), pending
	s.Conds = ct.ConditionsOf(c)
	s.ExternalID = c.Annotations[collabv1alpha1.ExternalIDAnnotation]
	return s
}

// providerWrites counts the provider write requests of passes.
func providerWrites(passes ...ct.Pass) int {
	n := 0
	for _, p := range passes {
		n += p.ProviderWrites()
	}
	return n
}

// readyMessage is the Ready condition's message, or "".
func readyMessage(c *collabv1alpha1.Collaborator) string {
	if cond := ct.Condition(c.Status.Conditions, collabv1alpha1.ConditionReady); cond != nil {
		return cond.Message
	}
	return ""
}

// settled creates c, settles it and fails the test unless the provider
// then holds its person (or, for WebTranslateIt, c is DeleteOnly).
func settled(t *testing.T, e *ct.Env, r *collaborator.Reconciler, c *collabv1alpha1.Collaborator) {
	t.Helper()
	if c.Spec.WebTranslateIt != nil && !e.Holds(c) {
		e.Seed(c)
	}
	e.Create(c)
	passes := e.Settle(r, c)
	if !e.Holds(c) || !controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer) {
		t.Fatalf("setup: %s not settled with its person at the provider:\n%s", c.Name, ct.DescribePasses(passes))
	}
}

// writeOps lists the provider write requests of passes, in order.
func writeOps(passes ...ct.Pass) []fake.Op {
	var out []fake.Op
	for _, p := range passes {
		out = append(out, p.WriteOps()...)
	}
	return out
}

// access is the part of a provider's member that a spec decides.
type access struct {
	Write, LiveControl bool
	Role               string
}

// accessOf is what the provider grants the person c names (zero when it
// does not hold them).
func accessOf(e *ct.Env, c *collabv1alpha1.Collaborator) access {
	m, _ := e.Held(c)
	return access{Write: m.Write, LiveControl: m.LiveControl, Role: m.Role}
}

// providerID is the id the provider knows the person c names by, as
// collab.dev/external-id records it: the QuantConnect uid, the AppHarbor
// collaborator id; "" when the provider does not hold them or has no id
// (WebTranslateIt).
func providerID(e *ct.Env, c *collabv1alpha1.Collaborator) string {
	m, ok := e.Held(c)
	switch {
	case !ok:
		return ""
	case c.Spec.QuantConnect != nil:
		return strconv.FormatInt(m.UID, 10)
	case c.Spec.AppHarbor != nil:
		return m.ID
	}
	return ""
}
