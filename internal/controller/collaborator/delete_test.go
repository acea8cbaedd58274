package collaborator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// orphanHint is the word by which the message of a blocked delete names
// the escape hatch, deletionPolicy Orphan.
const orphanHint = "Orphan"

// Deleting a Collaborator runs the provider's documented delete before the
// finalizer goes. Only the provider's documented success, or its
// documented "already gone" (confirmed by a fresh read where the provider
// has one), releases the object; every other answer leaves it, with the
// reason in its status and Orphan named as the way out, and the delete is
// retried until the provider answers (then the object goes and the person
// is gone).
func TestDeleteAnswers(t *testing.T) {
	const (
		qc  = collabv1alpha1.ProviderQuantConnect
		ah  = collabv1alpha1.ProviderAppHarbor
		wti = collabv1alpha1.ProviderWebTranslateIt
	)
	type want struct {
		// Released: the finalizer is gone and with it the object.
		Released bool
		// Held: the provider still holds the person.
		Held bool
		// Conds of an object that stays.
		Conds []ct.Cond
	}
	released := want{Released: true}
	stays := func(held bool, conds []ct.Cond) want { return want{Held: held, Conds: conds} }
	unavailable := ct.Transient(collabv1alpha1.ReasonDeleting, collabv1alpha1.ReasonProviderUnavailable)
	rejected := ct.Terminal(collabv1alpha1.ReasonDeleting, collabv1alpha1.ReasonRejected)
	credentials := ct.Terminal(collabv1alpha1.ReasonDeleting, collabv1alpha1.ReasonCredentialsInvalid)
	rateLimited := ct.Transient(collabv1alpha1.ReasonDeleting, collabv1alpha1.ReasonRateLimited)
	same := func(w want) map[string]want { return map[string]want{qc: w, ah: w, wti: w} }

	tests := map[string]struct {
		// before acts on the provider after the object settled and
		// before it is deleted.
		before func(e *ct.Env, c *collabv1alpha1.Collaborator)
		// answers are queued per request for the delete pass.
		answers map[fake.Op][]fake.Answer
		want    map[string]want
	}{
		"documented success": {
			want: same(released),
		},
		"documented already gone (removed by hand before)": {
			before: func(e *ct.Env, c *collabv1alpha1.Collaborator) { removeByHand(e, c) },
			want:   same(released),
		},
		// Where the provider has a read, its "already gone" is believed
		// only when a fresh read agrees; WebTranslateIt has none, and its
		// documented 404 is its word.
		"documented already gone while the person is there": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Gone}}},
			want: map[string]want{
				qc:  stays(true, rejected),
				ah:  stays(true, unavailable),
				wti: {Released: true, Held: true},
			},
		},
		"another 404 (a proxy's page)": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.NotFoundPage}}},
			want: map[string]want{
				qc: stays(true, unavailable),
				ah: stays(true, unavailable),
				// The token is WebTranslateIt's path: an undocumented 404
				// says it addresses no organization.
				wti: stays(true, credentials),
			},
		},
		"another 404 for a person already gone": {
			before:  func(e *ct.Env, c *collabv1alpha1.Collaborator) { removeByHand(e, c) },
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.NotFoundPage}}},
			want: map[string]want{
				qc:  stays(false, unavailable),
				ah:  stays(false, unavailable),
				wti: stays(false, credentials),
			},
		},
		"3xx redirect": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Redirect, Status: 301}}},
			want:    same(stays(true, rejected)),
		},
		"429 with Retry-After": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.RateLimited, RetryAfter: 90 * time.Second}}},
			want:    same(stays(true, rateLimited)),
		},
		"5xx": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.ServerError, Status: 503}}},
			want:    same(stays(true, unavailable)),
		},
		"connection refused": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Unreachable}}},
			want:    same(stays(true, unavailable)),
		},
		// The provider acted but the answer never arrived: the object
		// stays until a later delete hears the documented "already gone".
		"lost answer": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Lost}}},
			want:    same(stays(false, unavailable)),
		},
		"401": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Unauthorized}}},
			want:    same(stays(true, credentials)),
		},
		"403": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Unauthorized, Status: 403}}},
			want:    same(stays(true, credentials)),
		},
		"400": {
			answers: map[fake.Op][]fake.Answer{fake.OpDelete: {{Kind: fake.Rejected}}},
			want:    same(stays(true, rejected)),
		},
		"already gone, but the confirming read fails": {
			before:  func(e *ct.Env, c *collabv1alpha1.Collaborator) { removeByHand(e, c) },
			answers: map[fake.Op][]fake.Answer{fake.OpConfirm: {{Kind: fake.ServerError}}},
			want: map[string]want{
				qc:  stays(false, rejected),
				ah:  stays(false, unavailable),
				wti: released, // no read to make
			},
		},
	}
	for name, tc := range tests {
		for _, pname := range ct.ProviderNames {
			t.Run(name+"/"+pname, func(t *testing.T) {
				e, r := newEnv(t)
				c := ct.Collaborator(pname, "person", "person")
				settled(t, e, r, c)
				if tc.before != nil {
					tc.before(e, c)
				}
				e.Delete(c)
				p := e.Provider(pname)
				for op, answers := range tc.answers {
					p.Next(op, answers...)
				}
				pass := e.Reconcile(r, c)

				s := stateOf(e, c)
				got := want{Released: !s.Exists, Held: s.Held}
				if s.Exists {
					got.Conds = s.Conds
					if !s.Finalizer {
						t.Error("the object stays without its finalizer")
					}
				}
				if diff := cmp.Diff(tc.want[pname], got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("after the delete pass (-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
				}
				if pass.Err != nil {
					t.Errorf("Reconcile returned %v; failures are reported in status", pass.Err)
				}
				if !s.Exists {
					return
				}
				if msg := readyMessage(c); !strings.Contains(msg, orphanHint) {
					t.Errorf("the blocked delete's message does not name the escape hatch (%q): %q", orphanHint, msg)
				}
				for _, a := range tc.answers[fake.OpDelete] {
					if a.RetryAfter > 0 && pass.Result.RequeueAfter < a.RetryAfter {
						t.Errorf("retried after %s, before the provider's Retry-After %s", pass.Result.RequeueAfter, a.RetryAfter)
					}
				}

				// The provider answers normally again: the retried delete
				// completes.
				passes := e.Settle(r, c)
				if s := stateOf(e, c); s.Exists || s.Held {
					t.Errorf("after the provider recovered: object stays %t, person held %t\n%s",
						s.Exists, s.Held, ct.DescribePasses(passes))
				}
			})
		}
	}
}

// removeByHand takes the person c names away at the provider, as someone
// doing it by hand would.
func removeByHand(e *ct.Env, c *collabv1alpha1.Collaborator) {
	e.T.Helper()
	m, ok := e.Held(c)
	if !ok || !e.Provider(c.Spec.ProviderName()).Remove(ct.Target(c.Spec.ProviderName()), m.ID) {
		e.T.Fatalf("%s is not at the provider to remove", c.Name)
	}
}

// With deletionPolicy Orphan (or managementPolicy Observe) the provider is
// not called and the person keeps their access.
func TestDeleteLeavesThePerson(t *testing.T) {
	policies := map[string]func(c *collabv1alpha1.Collaborator){
		"Orphan":  func(c *collabv1alpha1.Collaborator) { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan },
		"Observe": func(c *collabv1alpha1.Collaborator) { c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve },
	}
	for pol, set := range policies {
		for _, pname := range ct.ProviderNames {
			t.Run(pol+"/"+pname, func(t *testing.T) {
				e, r := newEnv(t)
				c := ct.Collaborator(pname, "person", "person")
				settled(t, e, r, c)
				e.Edit(c, func() { set(c) })
				e.Settle(r, c)
				e.Delete(c)
				pass := e.Reconcile(r, c)
				got := stateOf(e, c)
				if diff := cmp.Diff(state{Held: true}, got); diff != "" {
					t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
				}
				if len(pass.Calls) != 0 {
					t.Errorf("the provider was called:\n%s", ct.DescribePasses([]ct.Pass{pass}))
				}
			})
		}
	}
}

// deletionPolicy may change while the object is being deleted: Orphan is
// the escape hatch of a delete the provider keeps refusing, and releases
// the object at once without calling the provider.
func TestOrphanReleasesABlockedDelete(t *testing.T) {
	for _, pname := range ct.ProviderNames {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Provider(pname).Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.ServerError} })
			e.Delete(c)
			blocked := e.Run(r, c, 2)
			if s := stateOf(e, c); !s.Exists || !s.Finalizer {
				t.Fatalf("the delete was not blocked:\n%s", ct.DescribePasses(blocked))
			}
			e.Edit(c, func() { c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
			pass := e.Reconcile(r, c)
			if diff := cmp.Diff(state{Held: true}, stateOf(e, c)); diff != "" {
				t.Errorf("after Orphan (-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
			}
			if len(pass.Calls) != 0 {
				t.Errorf("Orphan called the provider:\n%s", ct.DescribePasses([]ct.Pass{pass}))
			}
		})
	}
}

// An AppHarbor create whose answer was lost may have added someone whose
// id nobody knows: the delete then waits (ExternalIDUnknown, Stalled)
// instead of removing nobody and reporting success, until a person
// writes the id; then it removes them.
func TestDeleteAfterLostCreateWaitsForTheID(t *testing.T) {
	e, r := newEnv(t)
	c := ct.AppHarbor("bob", "bob@example.com", "")
	e.AppHarbor.Next(fake.OpCreate, fake.Answer{Kind: fake.Lost})
	e.Create(c)
	e.Reconcile(r, c)
	if s := stateOf(e, c); !s.Pending || !s.Held || s.ExternalID != "" {
		t.Fatalf("setup: after the lost create %+v", s)
	}
	e.Delete(c)
	passes := e.Run(r, c, 2)
	want := state{Exists: true, Finalizer: true, Held: true, Pending: true,
		Conds: ct.Terminal(collabv1alpha1.ReasonDeleting, collabv1alpha1.ReasonExternalIDUnknown)}
	if diff := cmp.Diff(want, stateOf(e, c)); diff != "" {
		t.Fatalf("delete with the id unknown (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
	}
	if n := providerWrites(passes...); n != 0 {
		t.Errorf("%d provider writes while the id is unknown", n)
	}
	if msg := readyMessage(c); !strings.Contains(msg, collabv1alpha1.ExternalIDAnnotation) || !strings.Contains(msg, orphanHint) {
		t.Errorf("the message names neither the annotation to set nor Orphan: %q", msg)
	}

	m, _ := e.Held(c)
	e.Edit(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, m.ID) })
	passes = e.Settle(r, c)
	if diff := cmp.Diff(state{}, stateOf(e, c)); diff != "" {
		t.Errorf("after the id was written (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
	}
}

// A re-create (the person removed by hand while the object lives) is
// marked too: the id recorded before names the collaborator that is gone,
// so a lost answer to the re-create must never let the delete confirm that
// old id absent and release the object, leaving the new collaborator in
// place. (Here the user the first create recorded is recognised under the
// new id, so the delete finds and removes them.)
func TestDeleteAfterLostReCreateWaitsForTheNewID(t *testing.T) {
	e, r := newEnv(t)
	c := ct.AppHarbor("bob", "bob@example.com", "")
	settled(t, e, r, c)
	old, _ := e.Held(c)
	if !e.AppHarbor.Remove(provider.Target{Application: c.Spec.AppHarbor.Application}, old.ID) {
		t.Fatal("setup: bob was not removed by hand")
	}
	e.AppHarbor.Next(fake.OpCreate, fake.Answer{Kind: fake.Lost})
	e.Reconcile(r, c)
	if s := stateOf(e, c); !s.Pending || !s.Held {
		t.Fatalf("setup: after the lost re-create %+v", s)
	}
	e.Delete(c)
	passes := e.Run(r, c, 3)
	if s := stateOf(e, c); !s.Exists && s.Held {
		t.Fatalf("the delete released the object while the re-created bob stays: %+v\n%s", s, ct.DescribePasses(passes))
	}
	if s := stateOf(e, c); s.Held {
		t.Errorf("the re-created bob was not removed: %+v\n%s", s, ct.DescribePasses(passes))
	}
}

// An AppHarbor person invited by hand while their Collaborator could not
// reach AppHarbor (its credentials broken) has no id the object could
// know: once the credentials work again, the delete waits
// (ExternalIDUnknown) instead of calling nothing and reporting success,
// and writing the person's id has them removed.
func TestAppHarborDeleteWithoutAnIDWaits(t *testing.T) {
	e, r := newEnv(t)
	problem := ct.CredentialProblems(collabv1alpha1.ProviderAppHarbor)[0]
	problem.Break(e)
	c := ct.AppHarbor("bob", "bob@example.com", "")
	held := e.Seed(c)
	e.Create(c)
	e.Run(r, c, 2)
	e.Delete(c)
	e.Run(r, c, 2)
	problem.Fix(e)
	passes := e.Run(r, c, 3)
	if s := stateOf(e, c); !s.Exists || !s.Held {
		t.Fatalf("released without naming bob, who stays at AppHarbor: %+v\n%s", s, ct.DescribePasses(passes))
	}
	if msg := readyMessage(c); !strings.Contains(msg, collabv1alpha1.ExternalIDAnnotation) || !strings.Contains(msg, orphanHint) {
		t.Errorf("the message names neither the annotation nor Orphan: %q", msg)
	}
	e.Edit(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, held.ID) })
	passes = e.Settle(r, c)
	if diff := cmp.Diff(state{}, stateOf(e, c)); diff != "" {
		t.Errorf("after the id was written (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
	}
}
