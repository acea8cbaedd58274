package collaborator_test

import (
	"strings"
	"testing"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"

	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// Steady state writes nothing, expired objects included: once the
// removal at expiry is recorded, a periodic pass that finds the person
// still gone writes no status (API.md, "What holds whatever the load"),
// and the Expired message says its piece once.
func TestTrustExpiredSteadyState(t *testing.T) {
	for _, pname := range ct.ProviderNames {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Edit(c, func() { expiring(c, -time.Minute) })
			first := e.Reconcile(r, c)
			if e.Holds(c) {
				t.Fatalf("setup: not removed at expiry:\n%s", ct.DescribePasses([]ct.Pass{first}))
			}
			expiredMsg := readyMessage(c)
			passes := e.Run(r, c, 2)
			for i, p := range passes {
				if !p.Quiet() || p.ProviderWrites() != 0 {
					t.Errorf("pass %d after the expiry was handled wrote:\n%s", i+2, ct.DescribePasses([]ct.Pass{p}))
				}
			}
			if msg := readyMessage(c); msg != expiredMsg {
				t.Errorf("the Expired message changed from\n  %q\nto\n  %q", expiredMsg, msg)
			}
			if n := strings.Count(readyMessage(c), "spec.expiresAt"); n != 1 {
				t.Errorf("the Expired message names spec.expiresAt %d times: %q", n, readyMessage(c))
			}
		})
	}
}

// While expired, periodic reads keep the person removed if someone adds
// them back, wherever the provider has a read (API.md, "Access
// lifecycle"). An AppHarbor re-add is a new invitation with a new
// collaborator id; the person is still the same AppHarbor user.
func TestTrustExpiredReAddIsRemovedAgain(t *testing.T) {
	for _, pname := range []string{collabv1alpha1.ProviderQuantConnect, collabv1alpha1.ProviderAppHarbor} {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Edit(c, func() { expiring(c, -time.Minute) })
			e.Reconcile(r, c)
			if e.Holds(c) {
				t.Fatal("setup: not removed at expiry")
			}
			e.Seed(c) // re-added by hand
			passes := e.Run(r, c, 2)
			if e.Holds(c) {
				t.Errorf("re-added by hand after expiry and still there after two reads:\n%s", ct.DescribePasses(passes))
			}
		})
	}
}

// Steady state writes nothing (API.md, "What holds whatever the load"):
// a periodic re-read that finds the provider as expected changes no
// object. QuantConnect's create answer is its whole list, so the first
// read after a create is already quiet. AppHarbor's create answer carries
// only the new id: the first read adds the user's id and name to
// status.appHarbor (one status write per created collaborator, new
// information, not churn), and every read after it is quiet.
func TestTrustReadsAfterCreateWriteNothing(t *testing.T) {
	tests := map[string]struct {
		provider string
		// learning is how many reads after the create still learn
		// something the create's answer could not say.
		learning int
	}{
		"QuantConnect": {provider: collabv1alpha1.ProviderQuantConnect},
		"AppHarbor":    {provider: collabv1alpha1.ProviderAppHarbor, learning: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(tc.provider, "person", "person")
			e.Create(c)
			created := e.Reconcile(r, c)
			if !e.Holds(c) || created.Err != nil {
				t.Fatalf("setup: not created:\n%s", ct.DescribePasses([]ct.Pass{created}))
			}
			for i := range tc.learning {
				if read := e.Reconcile(r, c); read.Quiet() {
					t.Errorf("read %d after the create learnt nothing; want the user's id and name", i+1)
				}
			}
			for i := range 2 {
				if read := e.Reconcile(r, c); !read.Quiet() {
					t.Errorf("steady-state read %d wrote:\n%s", i+1, ct.DescribePasses([]ct.Pass{read}))
				}
			}
		})
	}
}
