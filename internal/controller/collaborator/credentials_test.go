package collaborator_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// problemConds are the conditions of a new object whose credentials
// cannot be used.
func problemConds(p ct.Problem) []ct.Cond {
	if p.Terminal {
		return ct.Terminal(p.Reason, p.Reason)
	}
	return ct.Transient(p.Reason, p.Reason)
}

// While its credentials cannot be used, a Collaborator reports why
// (ProviderConfigNotFound and SecretNotFound are retried, the others wait
// for a person) and nothing is sent to the provider; once a person fixes
// them, it is granted.
func TestCredentialsUnusable(t *testing.T) {
	for _, pname := range ct.ProviderNames {
		for _, problem := range ct.CredentialProblems(pname) {
			t.Run(pname+"/"+problem.Name, func(t *testing.T) {
				e, r := newEnv(t)
				problem.Break(e)
				c := ct.Collaborator(pname, "person", "person")
				e.Create(c)
				passes := e.Settle(r, c)
				if diff := cmp.Diff(problemConds(problem), ct.ConditionsOf(c)); diff != "" {
					t.Errorf("conditions (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
				}
				for _, p := range e.Providers() {
					if calls := p.Calls(); len(calls) != 0 {
						t.Errorf("%s was called with unusable credentials: %v", p.Name(), calls)
					}
				}

				problem.Fix(e)
				passes = e.Settle(r, c)
				want := ct.Healthy(collabv1alpha1.ReasonAvailable)
				if pname == collabv1alpha1.ProviderWebTranslateIt {
					want = ct.Healthy(collabv1alpha1.ReasonDeleteOnly)
				}
				if diff := cmp.Diff(want, ct.ConditionsOf(c)); diff != "" {
					t.Errorf("after the fix (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
				}
			})
		}
	}
}

// A Ready Collaborator whose credentials break keeps Ready as last
// observed and reports the problem in Synced: nothing new was learnt
// about the provider.
func TestCredentialsBreakAfterReady(t *testing.T) {
	for _, problem := range ct.CredentialProblems(collabv1alpha1.ProviderQuantConnect) {
		t.Run(problem.Name, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.QuantConnect("mia", "mia-ai", true, false)
			settled(t, e, r, c)
			problem.Break(e)
			passes := e.Run(r, c, 1)
			want := []ct.Cond{
				{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
				{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: problem.Reason},
			}
			if diff := cmp.Diff(want, ct.ConditionsOf(c)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if n := len(passes[0].Calls); n != 0 {
				t.Errorf("the provider was called:\n%s", ct.DescribePasses(passes))
			}
		})
	}
}

// deleteBlockedCase is one object whose delete meets unusable credentials.
type deleteBlockedCase struct {
	c *collabv1alpha1.Collaborator
	// reached: the object synced with the provider before the
	// credentials broke; otherwise they were broken from its creation
	// and the person was already at the provider (a WebTranslateIt
	// member, an adopted QuantConnect member, an AppHarbor member named
	// by an external id written by hand).
	reached bool
}

func deleteBlockedCases() map[string]deleteBlockedCase {
	ahAdopted := ct.AppHarbor("person", "person@example.com", "")
	out := map[string]deleteBlockedCase{}
	for _, reached := range []bool{true, false} {
		suffix := "/reached before"
		if !reached {
			suffix = "/never reached"
		}
		out[collabv1alpha1.ProviderQuantConnect+suffix] = deleteBlockedCase{ct.QuantConnect("person", "person", true, false), reached}
		out[collabv1alpha1.ProviderAppHarbor+suffix] = deleteBlockedCase{ahAdopted.DeepCopy(), reached}
		out[collabv1alpha1.ProviderWebTranslateIt+suffix] = deleteBlockedCase{ct.WebTranslateIt("person", "person@example.com"), reached}
	}
	return out
}

// Orphan releases a deleting object whose credentials are gone for good,
// without calling the provider: the person keeps their access.
func TestOrphanReleasesWithoutCredentials(t *testing.T) {
	for name, tc := range deleteBlockedCases() {
		if !tc.reached {
			continue
		}
		pname := tc.c.Spec.ProviderName()
		for _, problem := range ct.CredentialProblems(pname) {
			t.Run(name+"/"+problem.Name, func(t *testing.T) {
				e, r := newEnv(t)
				c := tc.c.DeepCopy()
				settled(t, e, r, c)
				problem.Break(e)
				e.Delete(c)
				e.Run(r, c, 1)
				e.Edit(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
				pass := e.Reconcile(r, c)
				if diff := cmp.Diff(state{Held: true}, stateOf(e, c)); diff != "" {
					t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
				}
			})
		}
	}
}

// While the credentials cannot be used a deleting object stays, whether
// or not the operator ever reached the provider for it: the person may
// be there (API.md, "A delete is done only when..."). Its status says
// why and that Orphan releases it; once a person fixes the credentials
// the delete runs and removes the person.
func TestTrustDeleteWhileCredentialsUnusable(t *testing.T) {
	for name, tc := range deleteBlockedCases() {
		pname := tc.c.Spec.ProviderName()
		for _, problem := range ct.CredentialProblems(pname) {
			t.Run(name+"/"+problem.Name, func(t *testing.T) {
				e, r := newEnv(t)
				c := tc.c.DeepCopy()
				if tc.reached {
					settled(t, e, r, c)
					problem.Break(e)
				} else {
					m := e.Seed(c)
					if pname == collabv1alpha1.ProviderAppHarbor {
						metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, m.ID)
					}
					problem.Break(e)
					e.Create(c)
					e.Reconcile(r, c)
				}
				e.Delete(c)
				passes := e.Run(r, c, 2)

				s := stateOf(e, c)
				if !s.Exists || !s.Finalizer || !s.Held {
					t.Fatalf("released while the credentials cannot be used: object stays %t, finalizer %t, person held %t\n%s",
						s.Exists, s.Finalizer, s.Held, ct.DescribePasses(passes))
				}
				if n := providerWrites(passes...); n != 0 {
					t.Errorf("%d provider writes with unusable credentials", n)
				}
				synced := ct.Condition(c.Status.Conditions, collabv1alpha1.ConditionSynced)
				ready := ct.Condition(c.Status.Conditions, collabv1alpha1.ConditionReady)
				if synced == nil || synced.Reason != problem.Reason || ready == nil || ready.Status != metav1.ConditionFalse {
					t.Errorf("Synced %+v, Ready %+v; want Synced reason %s and Ready=False", synced, ready, problem.Reason)
				}
				if ready != nil && !strings.Contains(ready.Message, orphanHint) {
					t.Errorf("the message does not name Orphan: %q", ready.Message)
				}

				problem.Fix(e)
				passes = e.Settle(r, c)
				if s := stateOf(e, c); s.Exists || s.Held {
					t.Errorf("after the fix: object stays %t, person held %t\n%s", s.Exists, s.Held, ct.DescribePasses(passes))
				}
			})
		}
	}
}
