package controllertest_test

import (
	"context"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// Without managed fields the store still keeps an object with finalizers,
// marked for deletion, until they go, and still keeps status apart from
// the rest.
func TestWithoutManagedFieldsKeepsTheAPIServerRules(t *testing.T) {
	e := ct.New(t, ct.WithoutManagedFields())
	c := ct.QuantConnect("a", "a", false, false)
	controllerutil.AddFinalizer(c, collabv1alpha1.Finalizer)
	e.Create(c)
	e.EditStatus(c, func() { c.Status.ObservedGeneration = 7 })
	e.Edit(c, func() { c.Status.ObservedGeneration = 9; c.Spec.QuantConnect.Write = true })
	if !e.Get(c) || c.Status.ObservedGeneration != 7 || c.Generation != 2 {
		t.Errorf("status %d (want 7, kept apart from spec edits), generation %d (want 2)", c.Status.ObservedGeneration, c.Generation)
	}
	e.Delete(c)
	if !e.Get(c) || c.DeletionTimestamp.IsZero() {
		t.Fatal("an object with a finalizer was not kept, marked for deletion")
	}
	e.Edit(c, func() { controllerutil.RemoveFinalizer(c, collabv1alpha1.Finalizer) })
	if e.Get(c) {
		t.Error("the object stayed once its last finalizer went")
	}
}

// NewConnector builds a connector of its own over the same world, as a
// restarted manager does.
func TestNewConnector(t *testing.T) {
	e := ct.New(t)
	k := e.NewConnector()
	if k == e.Connector {
		t.Fatal("NewConnector returned the Env's connector")
	}
	conn, err := k.For(context.Background(), connector.CollaboratorUse(ct.QuantConnect("a", "a", false, false)))
	if err != nil || conn.Client == nil {
		t.Fatalf("connecting with the fixture credentials: %v", err)
	}
}

// reporter records what Within passes on.
type reporter struct {
	testing.TB
	logs []string
}

func (r *reporter) Logf(format string, _ ...any) { r.logs = append(r.logs, format) }
func (r *reporter) Name() string                 { return "inner" }

// Within sends logs (and failures) to the inner reporter, so that a
// failing generated case fails only itself.
func TestWithin(t *testing.T) {
	inner := &reporter{TB: t}
	tb := ct.Within(t, inner)
	tb.Logf("hello")
	if tb.Name() != "inner" || strings.Join(inner.logs, ",") != "hello" {
		t.Errorf("name %q, inner logs %v", tb.Name(), inner.logs)
	}
}
