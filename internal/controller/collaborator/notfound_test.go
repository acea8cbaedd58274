package collaborator_test

import (
	"context"
	"testing"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// notFoundDelete is a provider client whose Delete answers a NotFound-class
// error without removing anyone, as a client that took a stray 404 for
// absence would.
type notFoundDelete struct{ provider.Client }

func (notFoundDelete) Delete(context.Context, *collabv1alpha1.Collaborator) error {
	return &provider.Error{Provider: "QuantConnect", Op: "delete collaborator", Class: provider.ClassNotFound,
		StatusCode: 404, Message: "Not Found"}
}

// Only a nil Delete releases an object: an error of any class, NotFound
// included, keeps it while the person may still be there.
func TestDeleteErrorOfAnyClassKeepsTheObject(t *testing.T) {
	e, r := newEnv(t)
	real := e.QuantConnect.Factory()
	e.Registry.Register(collabv1alpha1.ProviderQuantConnect, func(cfg provider.Config) (provider.Client, error) {
		cl, err := real(cfg)
		return notFoundDelete{cl}, err
	})
	c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
	settled(t, e, r, c)
	e.Delete(c)
	e.Run(r, c, 3)
	if !e.Get(c) {
		t.Fatal("the object was released on a NotFound-class error from Delete")
	}
	if !e.Holds(c) {
		t.Fatal("setup: the person left the provider")
	}
}
