package accesspolicy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/accesspolicy"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

var (
	qcProject = ct.Target(collabv1alpha1.ProviderQuantConnect)
	ahApp     = ct.Target(collabv1alpha1.ProviderAppHarbor)
)

// newEnv builds a world with the fixture ProviderConfigs and an
// AccessPolicy reconciler on it.
func newEnv(t *testing.T) (*ct.Env, *accesspolicy.Reconciler) {
	t.Helper()
	e := ct.New(t)
	return e, &accesspolicy.Reconciler{Client: e.Client, Connector: e.Connector, Recorder: e.Recorder}
}

// result is what a policy test compares: the policy's status and the
// provider's members afterwards (by name: the QuantConnect user id, the
// AppHarbor user name).
type result struct {
	Conds      []ct.Cond
	Members    int32
	Managed    int32
	Unmanaged  []collabv1alpha1.UnmanagedMember
	AtProvider []string
	WriteOps   []fake.Op
}

func resultOf(e *ct.Env, p *collabv1alpha1.AccessPolicy, passes []ct.Pass) result {
	e.Get(p)
	r := result{Conds: ct.ConditionsOf(p), Members: p.Status.Members, Managed: p.Status.Managed, Unmanaged: p.Status.Unmanaged}
	prov, target := e.QuantConnect, qcProject
	if p.Spec.AppHarbor != nil {
		prov, target = e.AppHarbor, ahApp
	}
	for _, m := range prov.Members(target) {
		r.AtProvider = append(r.AtProvider, m.Name)
	}
	for _, pass := range passes {
		r.WriteOps = append(r.WriteOps, pass.WriteOps()...)
	}
	return r
}

// ignoreNotes leaves the notes out of a comparison; tests that care check
// them apart.
var ignoreNotes = cmpopts.IgnoreFields(collabv1alpha1.UnmanagedMember{}, "Note")

// qcWorld seeds a QuantConnect project the way most tests need it: the
// owner (from the fake), the credentials' own account, mia-ai declared by
// a Collaborator, ci-bot to be exempted, and the extra members given.
func qcWorld(e *ct.Env, extra ...fake.Member) {
	e.QuantConnect.Add(qcProject, fake.Member{ID: ct.QuantConnectAccount, Write: true})
	e.QuantConnect.Add(qcProject, fake.Member{ID: "mia-ai", Write: true})
	e.QuantConnect.Add(qcProject, fake.Member{ID: "ci-bot"})
	for _, m := range extra {
		e.QuantConnect.Add(qcProject, m)
	}
	e.Create(ct.QuantConnect("mia", "mia-ai", true, false))
}

func enforce(p *collabv1alpha1.AccessPolicy, maxRemovals int32) *collabv1alpha1.AccessPolicy {
	p.Spec.Mode = collabv1alpha1.AccessPolicyEnforce
	if maxRemovals > 0 {
		p.Spec.MaxRemovals = ptr.To(maxRemovals)
	}
	return p
}

// An AccessPolicy compares the project's whole member list with the
// Collaborators that declare it. Report lists what no Collaborator
// declares (the owner, the credentials' own account and exempt members
// never); Enforce removes it through the provider's delete, unless more
// than maxRemovals would go in one pass.
func TestQuantConnectPolicy(t *testing.T) {
	lee := fake.Member{ID: "lee-q", Write: true, LiveControl: true}
	kai := fake.Member{ID: "kai"}
	tests := map[string]struct {
		// setup seeds the world beyond qcWorld's.
		setup  func(e *ct.Env)
		extra  []fake.Member
		policy *collabv1alpha1.AccessPolicy
		want   result
		// events are the policy's Event reasons.
		events []string
	}{
		"Report: everyone accounted for is Compliant": {
			policy: ct.QuantConnectPolicy("pol", collabv1alpha1.AccessPolicyReport, "ci-bot"),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 4, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "mia-ai"}},
		},
		"Report: an undeclared member is listed, not removed": {
			extra:  []fake.Member{lee},
			policy: ct.QuantConnectPolicy("pol", collabv1alpha1.AccessPolicyReport, "ci-bot"),
			want: result{Conds: ct.Finding(collabv1alpha1.ReasonUnmanagedMembers), Members: 5, Managed: 1,
				Unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "lee-q", Access: "write+live"}},
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "lee-q", "mia-ai"}},
		},
		"Report: exempt matches user ids case-insensitively": {
			policy: ct.QuantConnectPolicy("pol", collabv1alpha1.AccessPolicyReport, "CI-Bot"),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 4, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "mia-ai"}},
		},
		"Enforce: the undeclared go; owner, own account, exempt and declared stay": {
			extra:  []fake.Member{lee, kai},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 4, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "mia-ai"},
				WriteOps:   []fake.Op{fake.OpRemove, fake.OpRemove}},
			events: []string{"Removed", "Removed"},
		},
		"Enforce: a member not exempt is removed": {
			policy: enforce(ct.QuantConnectPolicy("pol", ""), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 3, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "mia-ai"},
				WriteOps:   []fake.Op{fake.OpRemove}},
			events: []string{"Removed"},
		},
		"Enforce: exempt never matches a display name": {
			extra:  []fake.Member{{ID: "sneaky", Name: "ci-bot-2"}},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot", "ci-bot-2"), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 4, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "mia-ai"},
				WriteOps:   []fake.Op{fake.OpRemove}},
			events: []string{"Removed"},
		},
		"Enforce: more than maxRemovals, none removed": {
			extra:  []fake.Member{lee, kai},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 1),
			want: result{Conds: ct.Finding(collabv1alpha1.ReasonRemovalLimit), Members: 6, Managed: 1,
				Unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "kai", Access: "read"}, {Member: "lee-q", Access: "write+live"}},
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "kai", "lee-q", "mia-ai"}},
		},
		"Enforce: a Collaborator being deleted declares nothing": {
			setup: func(e *ct.Env) {
				mia := ct.QuantConnect("mia", "mia-ai", true, false)
				e.Edit(mia, func() { mia.Finalizers = []string{collabv1alpha1.Finalizer} })
				e.Delete(mia)
			},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 3,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot"},
				WriteOps:   []fake.Op{fake.OpRemove}},
			events: []string{"Removed"},
		},
		"Enforce: an expired Collaborator declares nothing": {
			setup: func(e *ct.Env) {
				mia := ct.QuantConnect("mia", "mia-ai", true, false)
				e.Edit(mia, func() { mia.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(-time.Minute)} })
			},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 3,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot"},
				WriteOps:   []fake.Op{fake.OpRemove}},
			events: []string{"Removed"},
		},
		"Enforce: a Collaborator that expires later still declares": {
			setup: func(e *ct.Env) {
				mia := ct.QuantConnect("mia", "mia-ai", true, false)
				e.Edit(mia, func() { mia.Spec.ExpiresAt = &metav1.Time{Time: time.Now().Add(time.Hour)} })
			},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
			want: result{Conds: ct.Healthy(collabv1alpha1.ReasonCompliant), Members: 4, Managed: 1,
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "mia-ai"}},
		},
		"Enforce: a removal fails (5xx): retried, the member still listed": {
			setup:  func(e *ct.Env) { e.QuantConnect.Next(fake.OpRemove, fake.Answer{Kind: fake.ServerError}) },
			extra:  []fake.Member{lee},
			policy: enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
			want: result{Conds: ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable),
				Members: 5, Managed: 1,
				Unmanaged:  []collabv1alpha1.UnmanagedMember{{Member: "lee-q", Access: "write+live"}},
				AtProvider: []string{fake.DefaultOwner, ct.QuantConnectAccount, "ci-bot", "lee-q", "mia-ai"},
				WriteOps:   []fake.Op{fake.OpRemove}},
			events: []string{"SyncFailed"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			qcWorld(e, tc.extra...)
			if tc.setup != nil {
				tc.setup(e)
			}
			e.Create(tc.policy)
			passes := e.Run(r, tc.policy, 1)
			got := resultOf(e, tc.policy, passes)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty(), ignoreNotes); diff != "" {
				t.Errorf("after one pass (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if diff := cmp.Diff(tc.events, e.Recorder.Reasons(tc.policy), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			ready := ct.Condition(tc.policy.Status.Conditions, collabv1alpha1.ConditionReady)
			for _, u := range tc.want.Unmanaged {
				if ready != nil && ready.Status == metav1.ConditionFalse && !strings.Contains(ready.Message, u.Member) &&
					ready.Reason != collabv1alpha1.ReasonProviderUnavailable {
					t.Errorf("the message does not name %s: %q", u.Member, ready.Message)
				}
			}
		})
	}
}

// A member declared by a live Collaborator elsewhere in the cluster on the
// same target (another namespace, same provider host and project) is
// never removed; it is listed with declaredElsewhere.
func TestDeclaredElsewhereIsNeverRemoved(t *testing.T) {
	e, r := newEnv(t)
	qcWorld(e, fake.Member{ID: "zoe"})
	pc := ct.ProviderConfig(collabv1alpha1.ProviderQuantConnect)
	pc.Namespace = "other"
	zoe := ct.QuantConnect("zoe", "zoe", false, false)
	zoe.Namespace = "other"
	e.Create(pc, zoe)
	p := enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0)
	e.Create(p)
	passes := e.Run(r, p, 1)
	got := resultOf(e, p, passes)
	if n := len(got.WriteOps); n != 0 {
		t.Errorf("%d removals:\n%s", n, ct.DescribePasses(passes))
	}
	want := []collabv1alpha1.UnmanagedMember{{Member: "zoe", Access: "read", DeclaredElsewhere: true}}
	if diff := cmp.Diff(want, got.Unmanaged, ignoreNotes); diff != "" {
		t.Errorf("unmanaged (-want +got):\n%s", diff)
	}
}

// AppHarbor members are matched by the collaborator id in collab.dev/
// external-id (its list has no email). AppHarbor does not say which
// member its token belongs to, so Enforce never removes an administrator;
// it is listed with a note saying so. While an AppHarbor Collaborator has
// no id yet, the member it may be creating cannot be told apart, so
// nothing is removed.
func TestAppHarborPolicy(t *testing.T) {
	t.Run("declared by external id, administrator kept with a note", func(t *testing.T) {
		e, r := newEnv(t)
		bob := e.AppHarbor.Add(ahApp, fake.Member{Email: "bob@example.com"})
		e.AppHarbor.Add(ahApp, fake.Member{Email: "carol@example.com"})
		e.AppHarbor.Add(ahApp, fake.Member{Email: "dave@example.com", Role: "administrator"})
		c := ct.AppHarbor("bob", "bob@example.com", "")
		c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: bob.ID}
		p := enforce(ct.AppHarborPolicy("pol", ""), 0)
		e.Create(c, p)
		passes := e.Run(r, p, 1)
		got := resultOf(e, p, passes)
		if diff := cmp.Diff([]string{"bob", "dave"}, got.AtProvider); diff != "" {
			t.Errorf("members left (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
		}
		if got.Managed != 1 {
			t.Errorf("managed = %d, want 1 (bob, by his external id)", got.Managed)
		}
		if len(got.Unmanaged) != 1 || got.Unmanaged[0].Member != "dave" || got.Unmanaged[0].Note == "" {
			t.Errorf("unmanaged = %+v, want dave with a note", got.Unmanaged)
		}
	})
	t.Run("a Collaborator without an id yet: nothing removed", func(t *testing.T) {
		e, r := newEnv(t)
		e.AppHarbor.Add(ahApp, fake.Member{Email: "carol@example.com"})
		e.Create(ct.AppHarbor("bob", "bob@example.com", ""))
		p := enforce(ct.AppHarborPolicy("pol", ""), 0)
		e.Create(p)
		passes := e.Run(r, p, 1)
		got := resultOf(e, p, passes)
		if len(got.WriteOps) != 0 || len(got.AtProvider) != 1 {
			t.Errorf("removed while a Collaborator may be creating its member:\n%s", ct.DescribePasses(passes))
		}
		if ready := ct.Condition(p.Status.Conditions, collabv1alpha1.ConditionReady); ready == nil ||
			ready.Status != metav1.ConditionFalse || ready.Reason != collabv1alpha1.ReasonWaitingForCollaborators {
			t.Errorf("Ready = %+v, want False WaitingForCollaborators", ready)
		}
	})
}

// A policy whose credentials cannot be used, or whose provider cannot
// list members, says why and removes nothing; a failed list read is
// retried.
func TestPolicyCannotRead(t *testing.T) {
	for _, problem := range ct.CredentialProblems(collabv1alpha1.ProviderQuantConnect) {
		t.Run(problem.Name, func(t *testing.T) {
			e, r := newEnv(t)
			qcWorld(e, fake.Member{ID: "lee-q"})
			problem.Break(e)
			p := enforce(ct.QuantConnectPolicy("pol", ""), 0)
			e.Create(p)
			passes := e.Settle(r, p)
			want := ct.Transient(problem.Reason, problem.Reason)
			if problem.Terminal {
				want = ct.Terminal(problem.Reason, problem.Reason)
			}
			if diff := cmp.Diff(want, ct.ConditionsOf(p)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if n := len(e.QuantConnect.Calls()); n != 0 {
				t.Errorf("%d provider calls with unusable credentials", n)
			}
		})
	}
	t.Run("the list read fails (5xx)", func(t *testing.T) {
		e, r := newEnv(t)
		qcWorld(e, fake.Member{ID: "lee-q"})
		e.QuantConnect.Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.ServerError} })
		p := enforce(ct.QuantConnectPolicy("pol", ""), 0)
		e.Create(p)
		passes := e.Settle(r, p)
		want := ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable)
		if diff := cmp.Diff(want, ct.ConditionsOf(p)); diff != "" || passes[0].Result.RequeueAfter <= 0 {
			t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
		}
		if !e.QuantConnect.Has(qcProject, "lee-q") {
			t.Error("a member was removed without a list")
		}
	})
}

// Steady state writes nothing: a compliant policy's periodic pass makes
// no API-server write and no provider write.
func TestPolicySteadyStateWritesNothing(t *testing.T) {
	for name, p := range map[string]*collabv1alpha1.AccessPolicy{
		"Report compliant":           ct.QuantConnectPolicy("pol", collabv1alpha1.AccessPolicyReport, "ci-bot"),
		"Report with unmanaged":      ct.QuantConnectPolicy("pol", collabv1alpha1.AccessPolicyReport),
		"Enforce after its removals": enforce(ct.QuantConnectPolicy("pol", "", "ci-bot"), 0),
	} {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			qcWorld(e, fake.Member{ID: "lee-q"})
			e.Create(p)
			e.Settle(r, p)
			for i, pass := range e.Run(r, p, 2) {
				if !pass.Quiet() || pass.ProviderWrites() != 0 {
					t.Errorf("steady pass %d wrote:\n%s", i+1, ct.DescribePasses([]ct.Pass{pass}))
				}
			}
		})
	}
}
