package collaborator_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// A new Collaborator is created at its provider with the spec's access,
// the provider's id of it is recorded in collab.dev/external-id, and it
// is Ready; WebTranslateIt documents no create, so its Collaborator is
// Ready DeleteOnly without a call. The credentials are held (in-use
// finalizers) once anything is granted.
func TestCreate(t *testing.T) {
	type want struct {
		State    state
		Access   access
		WriteOps []fake.Op
		Events   []string
	}
	tests := map[string]struct {
		c    *collabv1alpha1.Collaborator
		want want
	}{
		"QuantConnect: created with write and live control": {
			c: ct.QuantConnect("mia", "mia-ai", true, true),
			want: want{
				State:    state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
				Access:   access{Write: true, LiveControl: true},
				WriteOps: []fake.Op{fake.OpCreate},
				Events:   []string{"Created"},
			},
		},
		"QuantConnect: created read-only": {
			c: ct.QuantConnect("noah", "noah", false, false),
			want: want{
				State:    state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
				WriteOps: []fake.Op{fake.OpCreate},
				Events:   []string{"Created"},
			},
		},
		"AppHarbor: created as administrator": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleAdministrator),
			want: want{
				State:    state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
				Access:   access{Role: "administrator"},
				WriteOps: []fake.Op{fake.OpCreate},
				Events:   []string{"Created"},
			},
		},
		"AppHarbor: role defaults to collaborator": {
			c: ct.AppHarbor("carol", "carol@example.com", ""),
			want: want{
				State:    state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
				Access:   access{Role: "collaborator"},
				WriteOps: []fake.Op{fake.OpCreate},
				Events:   []string{"Created"},
			},
		},
		"WebTranslateIt: DeleteOnly, the provider is not called": {
			c: ct.WebTranslateIt("wendy", "wendy@example.com"),
			want: want{
				State: state{Exists: true, Finalizer: true, Conds: ct.Healthy(collabv1alpha1.ReasonDeleteOnly)},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			e.Create(tc.c)
			passes := e.Settle(r, tc.c)

			if id, want := tc.c.Annotations[collabv1alpha1.ExternalIDAnnotation], providerID(e, tc.c); id != want {
				t.Errorf("external id %q, want the provider's id %q", id, want)
			}
			got := want{State: stateOf(e, tc.c), WriteOps: writeOps(passes...), Events: e.Recorder.Reasons(tc.c)}
			got.Access = accessOf(e, tc.c)
			got.State.ExternalID = ""
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after settling (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if name == "WebTranslateIt: DeleteOnly, the provider is not called" && len(e.WebTranslateIt.Calls()) != 0 {
				t.Errorf("WebTranslateIt was called: %v", e.WebTranslateIt.Calls())
			}
			for _, obj := range []client.Object{ct.ProviderConfig(tc.c.Spec.ProviderName()), ct.Secret(tc.c.Spec.ProviderName())} {
				if e.Get(obj); !controllerutil.ContainsFinalizer(obj, collabv1alpha1.InUseFinalizer) {
					t.Errorf("%s %T lacks %s: a later delete could lose its credentials", obj.GetName(), obj, collabv1alpha1.InUseFinalizer)
				}
			}
			if tc.c.Status.ObservedGeneration != tc.c.Generation {
				t.Errorf("status.observedGeneration = %d, want %d", tc.c.Status.ObservedGeneration, tc.c.Generation)
			}
		})
	}
}

// AppHarbor names a new collaborator only in its create's answer, so the
// object carries collab.dev/create-pending while the create is on its way
// and loses it once the id is recorded; it keeps it while the create's
// outcome is unknown, and a create the provider refused outright leaves
// no mark behind.
func TestCreatePendingMark(t *testing.T) {
	type want struct {
		// MarkedDuringCreate: the stored object carried the mark when the
		// provider received the create.
		MarkedDuringCreate bool
		State              state
		IDRecorded         bool
	}
	tests := map[string]struct {
		answer fake.Answer
		want   want
	}{
		"answered: the id replaces the mark": {
			answer: fake.Answer{Kind: fake.OK},
			want: want{MarkedDuringCreate: true, IDRecorded: true,
				State: state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)}},
		},
		"answer lost: the mark stays, the provider holds someone nobody can name": {
			answer: fake.Answer{Kind: fake.Lost},
			want: want{MarkedDuringCreate: true,
				State: state{Exists: true, Finalizer: true, Held: true, Pending: true,
					Conds: ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable)}},
		},
		"5xx: the outcome is unknown, the mark stays": {
			answer: fake.Answer{Kind: fake.ServerError},
			want: want{MarkedDuringCreate: true,
				State: state{Exists: true, Finalizer: true, Pending: true,
					Conds: ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable)}},
		},
		// AppHarbor answers a create for someone already there with the
		// same 400 as invalid data: the person may be there under an id
		// nobody recorded.
		"refused (400): someone may be there, the mark stays": {
			answer: fake.Answer{Kind: fake.Rejected},
			want: want{MarkedDuringCreate: true,
				State: state{Exists: true, Finalizer: true, Pending: true,
					Conds: ct.Terminal(collabv1alpha1.ReasonRejected, collabv1alpha1.ReasonRejected)}},
		},
		"rate limited (429): nobody was added, the mark goes": {
			answer: fake.Answer{Kind: fake.RateLimited},
			want: want{MarkedDuringCreate: true,
				State: state{Exists: true, Finalizer: true,
					Conds: ct.Transient(collabv1alpha1.ReasonRateLimited, collabv1alpha1.ReasonRateLimited)}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.AppHarbor("bob", "bob@example.com", "")
			marked := false
			e.AppHarbor.Inject(func(call fake.Call) fake.Answer {
				if call.Op != fake.OpCreate {
					return fake.Answer{}
				}
				stored := c.DeepCopy()
				if e.Get(stored) {
					_, marked = stored.Annotations[collabv1alpha1.PendingCreateAnnotation]
				}
				return tc.answer
			})
			e.Create(c)
			pass := e.Reconcile(r, c)
			got := want{MarkedDuringCreate: marked, State: stateOf(e, c)}
			got.IDRecorded = got.State.ExternalID != "" && got.State.ExternalID == providerID(e, c)
			got.State.ExternalID = ""
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("after one pass (-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
			}
		})
	}
}

// A person already at the provider is adopted, never created twice: found
// in QuantConnect's list, or, for AppHarbor (whose list has no email),
// through a collab.dev/external-id written by hand. Access that differs
// from the spec is then corrected.
func TestAdopt(t *testing.T) {
	type want struct {
		State    state
		Access   access
		WriteOps []fake.Op
		Members  int
		Events   []string
	}
	qcProject, ahApp := ct.Target(collabv1alpha1.ProviderQuantConnect), ct.Target(collabv1alpha1.ProviderAppHarbor)
	healthy := state{Exists: true, Finalizer: true, Held: true, Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)}
	tests := map[string]struct {
		c *collabv1alpha1.Collaborator
		// seed puts the person at the provider before the object exists,
		// as someone did by hand, and may annotate c.
		seed func(e *ct.Env, c *collabv1alpha1.Collaborator)
		want want
	}{
		"QuantConnect: there as specified, nothing written": {
			c:    ct.QuantConnect("mia", "mia-ai", true, false),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) { e.Seed(c) },
			// The owner and mia.
			want: want{State: healthy, Access: access{Write: true}, Members: 2, Events: []string{"Adopted"}},
		},
		"QuantConnect: there read-only, given the spec's write and live control": {
			c: ct.QuantConnect("mia", "mia-ai", true, true),
			seed: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Add(qcProject, fake.Member{ID: "mia-ai"})
			},
			want: want{State: healthy, Access: access{Write: true, LiveControl: true}, WriteOps: []fake.Op{fake.OpUpdate},
				Members: 2, Events: []string{"Adopted", "Updated"}},
		},
		"AppHarbor: external id written by hand": {
			c: ct.AppHarbor("bob", "bob@example.com", ""),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: e.Seed(c).ID}
			},
			want: want{State: healthy, Access: access{Role: "collaborator"}, Members: 1, Events: []string{"Adopted"}},
		},
		"AppHarbor: external id written by hand, role corrected": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleAdministrator),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				m := e.AppHarbor.Add(ahApp, fake.Member{Email: "bob@example.com", Role: "collaborator"})
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: m.ID}
			},
			want: want{State: healthy, Access: access{Role: "administrator"}, WriteOps: []fake.Op{fake.OpUpdate},
				Members: 1, Events: []string{"Adopted", "Updated"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			tc.seed(e, tc.c)
			byHand := tc.c.Annotations[collabv1alpha1.ExternalIDAnnotation]
			e.Create(tc.c)
			passes := e.Settle(r, tc.c)

			id := tc.c.Annotations[collabv1alpha1.ExternalIDAnnotation]
			if id != providerID(e, tc.c) || (byHand != "" && id != byHand) {
				t.Errorf("external id %q; the provider's id is %q, the one written by hand %q", id, providerID(e, tc.c), byHand)
			}
			got := want{State: stateOf(e, tc.c), WriteOps: writeOps(passes...),
				Members: len(e.Provider(tc.c.Spec.ProviderName()).Members(ct.Target(tc.c.Spec.ProviderName()))),
				Events:  e.Recorder.Reasons(tc.c)}
			got.Access = accessOf(e, tc.c)
			got.State.ExternalID = ""
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after settling (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
		})
	}
}

// An AppHarbor person already there but named by no external id cannot be
// recognised in AppHarbor's list (it has no email): the invitation is
// refused, the object is Stalled Rejected for a person to write the id,
// keeps the pending-create mark (so a delete waits for the id instead of
// removing nobody), and retries never add anyone twice.
func TestAdoptAppHarborWithoutIDIsRefused(t *testing.T) {
	e, r := newEnv(t)
	c := ct.AppHarbor("bob", "bob@example.com", "")
	e.Seed(c)
	e.Create(c)
	passes := e.Run(r, c, 3)
	got := stateOf(e, c)
	want := state{Exists: true, Finalizer: true, Held: true, Pending: true,
		Conds: ct.Terminal(collabv1alpha1.ReasonRejected, collabv1alpha1.ReasonRejected)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
	}
	if n := len(e.AppHarbor.Members(ct.Target(collabv1alpha1.ProviderAppHarbor))); n != 1 {
		t.Errorf("%d members at AppHarbor, want the one person once", n)
	}
	e.Delete(c)
	passes = e.Run(r, c, 2)
	if got := stateOf(e, c); !got.Exists || !got.Held {
		t.Errorf("the delete released the object while bob, whose id nobody recorded, stays: %+v\n%s", got, ct.DescribePasses(passes))
	}
}

// A spec change is applied at the provider and Ready then describes the
// new generation; a failed apply of a new generation never leaves
// Ready=True.
func TestUpdate(t *testing.T) {
	type want struct {
		Conds    []ct.Cond
		Access   access
		WriteOps []fake.Op
	}
	tests := map[string]struct {
		c      *collabv1alpha1.Collaborator
		change func(c *collabv1alpha1.Collaborator)
		// answer, when set, answers the update; one pass is run.
		answer *fake.Answer
		want   want
	}{
		"QuantConnect: write and live control taken away": {
			c: ct.QuantConnect("mia", "mia-ai", true, true),
			change: func(c *collabv1alpha1.Collaborator) {
				c.Spec.QuantConnect.Write, c.Spec.QuantConnect.LiveControl = false, false
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), WriteOps: []fake.Op{fake.OpUpdate}},
		},
		"QuantConnect: live control given": {
			c:      ct.QuantConnect("mia", "mia-ai", true, false),
			change: func(c *collabv1alpha1.Collaborator) { c.Spec.QuantConnect.LiveControl = true },
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Write: true, LiveControl: true},
				WriteOps: []fake.Op{fake.OpUpdate}},
		},
		"AppHarbor: made administrator": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
			change: func(c *collabv1alpha1.Collaborator) {
				c.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Role: "administrator"},
				WriteOps: []fake.Op{fake.OpUpdate}},
		},
		"QuantConnect: the update fails (5xx): not Ready, retried": {
			c:      ct.QuantConnect("mia", "mia-ai", true, true),
			change: func(c *collabv1alpha1.Collaborator) { c.Spec.QuantConnect.Write = false },
			answer: &fake.Answer{Kind: fake.ServerError},
			want: want{Conds: ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable),
				Access: access{Write: true, LiveControl: true}, WriteOps: []fake.Op{fake.OpUpdate}},
		},
		"AppHarbor: the update is refused (401): not Ready, stalled": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
			change: func(c *collabv1alpha1.Collaborator) {
				c.Spec.AppHarbor.Role = collabv1alpha1.AppHarborRoleAdministrator
			},
			answer: &fake.Answer{Kind: fake.Unauthorized},
			want: want{Conds: ct.Terminal(collabv1alpha1.ReasonCredentialsInvalid, collabv1alpha1.ReasonCredentialsInvalid),
				Access: access{Role: "collaborator"}, WriteOps: []fake.Op{fake.OpUpdate}},
		},
		"QuantConnect: the update is rate limited: not Ready, retried after the provider's wait": {
			c:      ct.QuantConnect("mia", "mia-ai", true, false),
			change: func(c *collabv1alpha1.Collaborator) { c.Spec.QuantConnect.LiveControl = true },
			answer: &fake.Answer{Kind: fake.RateLimited, RetryAfter: 90e9},
			want: want{Conds: ct.Transient(collabv1alpha1.ReasonRateLimited, collabv1alpha1.ReasonRateLimited),
				Access: access{Write: true}, WriteOps: []fake.Op{fake.OpUpdate}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			settled(t, e, r, tc.c)
			e.Edit(tc.c, func() { tc.change(tc.c) })
			var passes []ct.Pass
			if tc.answer != nil {
				e.Provider(tc.c.Spec.ProviderName()).Next(fake.OpUpdate, *tc.answer)
				passes = []ct.Pass{e.Reconcile(r, tc.c)}
				if tc.answer.RetryAfter > 0 && passes[0].Result.RequeueAfter < tc.answer.RetryAfter {
					t.Errorf("retried after %s, before the provider's Retry-After %s", passes[0].Result.RequeueAfter, tc.answer.RetryAfter)
				}
			} else {
				passes = e.Settle(r, tc.c)
			}
			got := want{Conds: ct.ConditionsOf(tc.c), WriteOps: writeOps(passes...)}
			got.Access = accessOf(e, tc.c)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after the change (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if tc.c.Generation != 2 || tc.c.Status.ObservedGeneration != 2 {
				t.Errorf("generation %d, status.observedGeneration %d; want 2 and 2", tc.c.Generation, tc.c.Status.ObservedGeneration)
			}
		})
	}
}

// Changes made at the provider behind the operator's back are corrected
// at the next read: other access is set back, a removed person is added
// again (AppHarbor under a new id, which is recorded). A failed periodic
// read changes nothing at the provider and leaves Ready as last observed,
// with Synced=False.
func TestDrift(t *testing.T) {
	type want struct {
		Conds    []ct.Cond
		Access   access
		WriteOps []fake.Op
		Events   []string
	}
	qcProject, ahApp := ct.Target(collabv1alpha1.ProviderQuantConnect), ct.Target(collabv1alpha1.ProviderAppHarbor)
	tests := map[string]struct {
		c     *collabv1alpha1.Collaborator
		drift func(e *ct.Env, c *collabv1alpha1.Collaborator)
		// once runs a single pass instead of settling: a failure's retry
		// waits for its backoff.
		once bool
		want want
	}{
		"QuantConnect: access lowered by hand, set back": {
			c: ct.QuantConnect("mia", "mia-ai", true, true),
			drift: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Add(qcProject, fake.Member{ID: "mia-ai"})
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Write: true, LiveControl: true},
				WriteOps: []fake.Op{fake.OpUpdate}, Events: []string{"Updated"}},
		},
		"QuantConnect: live control given by hand, taken back": {
			c: ct.QuantConnect("mia", "mia-ai", false, false),
			drift: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Add(qcProject, fake.Member{ID: "mia-ai", Write: true, LiveControl: true})
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), WriteOps: []fake.Op{fake.OpUpdate}, Events: []string{"Updated"}},
		},
		"QuantConnect: removed by hand, added again": {
			c:     ct.QuantConnect("mia", "mia-ai", true, false),
			drift: func(e *ct.Env, _ *collabv1alpha1.Collaborator) { e.QuantConnect.Remove(qcProject, "mia-ai") },
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Write: true},
				WriteOps: []fake.Op{fake.OpCreate}, Events: []string{"Created"}},
		},
		"AppHarbor: role raised by hand, set back": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
			drift: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				e.AppHarbor.Add(ahApp, fake.Member{ID: c.Annotations[collabv1alpha1.ExternalIDAnnotation], Email: "bob@example.com", Role: "administrator"})
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Role: "collaborator"},
				WriteOps: []fake.Op{fake.OpUpdate}, Events: []string{"Updated"}},
		},
		"AppHarbor: removed by hand, invited again under a new id": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
			drift: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				e.AppHarbor.Remove(ahApp, c.Annotations[collabv1alpha1.ExternalIDAnnotation])
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Access: access{Role: "collaborator"},
				WriteOps: []fake.Op{fake.OpCreate}, Events: []string{"Created"}},
		},
		"QuantConnect: the periodic read fails (5xx): Ready stays, Synced=False": {
			c: ct.QuantConnect("mia", "mia-ai", true, false),
			drift: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.ServerError} })
			},
			once: true,
			want: want{Conds: []ct.Cond{
				{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
				{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonProviderUnavailable},
			}, Access: access{Write: true}, Events: []string{"SyncFailed"}},
		},
		"AppHarbor: the periodic read is refused (401): Ready stays, Synced=False": {
			c: ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator),
			drift: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.AppHarbor.Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.Unauthorized} })
			},
			once: true,
			want: want{Conds: []ct.Cond{
				{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
				{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonCredentialsInvalid},
			}, Access: access{Role: "collaborator"}, Events: []string{"SyncFailed"}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			settled(t, e, r, tc.c)
			e.Recorder.Reset()
			tc.drift(e, tc.c)
			var passes []ct.Pass
			if tc.once {
				passes = e.Run(r, tc.c, 1)
			} else {
				passes = e.Settle(r, tc.c)
			}
			if id := tc.c.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != providerID(e, tc.c) {
				t.Errorf("external id %q, the provider's id is %q", id, providerID(e, tc.c))
			}
			got := want{Conds: ct.ConditionsOf(tc.c), WriteOps: writeOps(passes...), Events: e.Recorder.Reasons(tc.c)}
			got.Access = accessOf(e, tc.c)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after the drift (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
		})
	}
}

// Steady state writes nothing: once settled, a periodic pass that finds
// the provider as expected makes no provider write and no API-server
// write (status and lastSyncTime included), and comes back later.
func TestSteadyStateWritesNothing(t *testing.T) {
	for _, pname := range ct.ProviderNames {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			before := c.Status.LastSyncTime.DeepCopy()
			passes := e.Run(r, c, 3)
			for i, p := range passes {
				if !p.Quiet() || p.ProviderWrites() != 0 {
					t.Errorf("steady pass %d wrote:\n%s", i+1, ct.DescribePasses([]ct.Pass{p}))
				}
				if pname != collabv1alpha1.ProviderWebTranslateIt && p.Result.RequeueAfter <= 0 {
					t.Errorf("steady pass %d plans no periodic re-read: %+v", i+1, p.Result)
				}
			}
			if !c.Status.LastSyncTime.Equal(before) {
				t.Errorf("lastSyncTime moved from %v to %v", before, c.Status.LastSyncTime)
			}
		})
	}
}

// A new collab.dev/reconcile-requested-at value is recorded in
// status.lastHandledReconcileAt once a pass has handled it.
func TestReconcileRequested(t *testing.T) {
	e, r := newEnv(t)
	c := ct.QuantConnect("mia", "mia-ai", true, false)
	settled(t, e, r, c)
	e.Edit(c, func() {
		metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.ReconcileRequestedAtAnnotation, "2026-11-24T10:00:00Z")
	})
	passes := e.Settle(r, c)
	if c.Status.LastHandledReconcileAt != "2026-11-24T10:00:00Z" {
		t.Errorf("lastHandledReconcileAt = %q\n%s", c.Status.LastHandledReconcileAt, ct.DescribePasses(passes))
	}
	if n := len(passes[0].Calls); n == 0 {
		t.Error("the requested pass did not read the provider")
	}
}
