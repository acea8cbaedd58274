package providerconfig_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/controller/providerconfig"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// newEnv builds a world with the fixture ProviderConfigs and a
// ProviderConfig reconciler on it.
func newEnv(t *testing.T) (*ct.Env, *providerconfig.Reconciler) {
	t.Helper()
	e := ct.New(t)
	return e, &providerconfig.Reconciler{Client: e.Client, Connector: e.Connector}
}

// A ProviderConfig is Ready when its Secret exists with its keys and the
// provider accepted them where it offers a check (QuantConnect's
// authenticate); otherwise it says why, and only a person can fix
// missing keys, a refused token or a base URL the manager may not send
// credentials to (no credential is sent there).
func TestProviderConfigReady(t *testing.T) {
	type want struct {
		Conds []ct.Cond
		Ops   []fake.Op
	}
	tests := map[string]struct {
		provider string
		// setup breaks the world; nil leaves it working.
		setup func(e *ct.Env)
		want  want
	}{
		"QuantConnect: accepted by its check": {
			provider: collabv1alpha1.ProviderQuantConnect,
			want:     want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Ops: []fake.Op{fake.OpAuthenticate}},
		},
		"AppHarbor: no check offered": {
			provider: collabv1alpha1.ProviderAppHarbor,
			want:     want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
		},
		"WebTranslateIt: no check offered": {
			provider: collabv1alpha1.ProviderWebTranslateIt,
			want:     want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable)},
		},
		"QuantConnect: refused by its check (401)": {
			provider: collabv1alpha1.ProviderQuantConnect,
			setup: func(e *ct.Env) {
				e.QuantConnect.Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.Unauthorized} })
			},
			want: want{Conds: ct.Terminal(collabv1alpha1.ReasonCredentialsInvalid, collabv1alpha1.ReasonCredentialsInvalid),
				Ops: []fake.Op{fake.OpAuthenticate}},
		},
		"QuantConnect: its check fails (5xx)": {
			provider: collabv1alpha1.ProviderQuantConnect,
			setup: func(e *ct.Env) {
				e.QuantConnect.Inject(func(fake.Call) fake.Answer { return fake.Answer{Kind: fake.ServerError} })
			},
			want: want{Conds: ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable),
				Ops: []fake.Op{fake.OpAuthenticate}},
		},
	}
	for _, pname := range ct.ProviderNames {
		for _, problem := range ct.CredentialProblems(pname) {
			if problem.Reason == collabv1alpha1.ReasonProviderConfigNotFound || problem.Reason == collabv1alpha1.ReasonProviderMismatch {
				continue // the ProviderConfig itself is fine or gone
			}
			w := want{Conds: ct.Transient(problem.Reason, problem.Reason)}
			if problem.Terminal {
				w.Conds = ct.Terminal(problem.Reason, problem.Reason)
			}
			tests[pname+": "+problem.Name] = struct {
				provider string
				setup    func(e *ct.Env)
				want     want
			}{provider: pname, setup: problem.Break, want: w}
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			pc := ct.ProviderConfig(tc.provider)
			e.Get(pc)
			passes := e.Run(r, pc, 1)
			got := want{Conds: ct.ConditionsOf(pc), Ops: passes[0].Ops()}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if pc.Status.ObservedGeneration != pc.Generation || pc.Status.Provider != tc.provider {
				t.Errorf("status observedGeneration %d provider %q; want %d and %q",
					pc.Status.ObservedGeneration, pc.Status.Provider, pc.Generation, tc.provider)
			}
		})
	}
}

// The credentials check runs at most once per sync interval for the same
// ProviderConfig generation and Secret: a steady pass writes nothing and
// asks the provider nothing. A 429 to the check leaves a Ready
// ProviderConfig Ready (a rate limit says nothing about the
// credentials).
func TestProviderConfigSteadyState(t *testing.T) {
	e, r := newEnv(t)
	pc := ct.ProviderConfig(collabv1alpha1.ProviderQuantConnect)
	e.Get(pc)
	e.Settle(r, pc)
	for i, p := range e.Run(r, pc, 2) {
		if !p.Quiet() || len(p.Calls) != 0 {
			t.Errorf("steady pass %d:\n%s", i+1, ct.DescribePasses([]ct.Pass{p}))
		}
	}

	// A Secret change asks again; a 429 then keeps Ready.
	s := ct.Secret(collabv1alpha1.ProviderQuantConnect)
	e.Edit(s, func() { s.Data[collabv1alpha1.QuantConnectAPITokenKey] = []byte("rotated") })
	e.QuantConnect.Next(fake.OpAuthenticate, fake.Answer{Kind: fake.RateLimited})
	passes := e.Run(r, pc, 1)
	want := []ct.Cond{
		{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
		{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonRateLimited},
	}
	if diff := cmp.Diff(want, ct.ConditionsOf(pc)); diff != "" {
		t.Errorf("after a 429 (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
	}
}

// A ProviderConfig holds collab.dev/in-use exactly while Collaborators
// use it; one being deleted waits for them (Reconciling InUse) and goes
// once none is left.
func TestProviderConfigInUse(t *testing.T) {
	e, r := newEnv(t)
	pc := ct.ProviderConfig(collabv1alpha1.ProviderQuantConnect)
	e.Get(pc)
	c := ct.QuantConnect("mia", "mia-ai", true, false)
	e.Create(c)
	e.Settle(r, pc)
	if !controllerutil.ContainsFinalizer(pc, collabv1alpha1.InUseFinalizer) {
		t.Fatalf("used, but no %s", collabv1alpha1.InUseFinalizer)
	}

	e.Delete(pc)
	passes := e.Settle(r, pc)
	if !e.Get(pc) {
		t.Fatalf("deleted while a Collaborator uses it:\n%s", ct.DescribePasses(passes))
	}
	rec := ct.Condition(pc.Status.Conditions, collabv1alpha1.ConditionReconciling)
	if rec == nil || rec.Status != metav1.ConditionTrue || rec.Reason != collabv1alpha1.ReasonInUse {
		t.Errorf("Reconciling = %+v, want True InUse naming the user", rec)
	}

	e.ForceDelete(c)
	passes = e.Settle(r, pc)
	if e.Get(pc) {
		t.Errorf("still there with no user:\n%s", ct.DescribePasses(passes))
	}
}

// Without users the in-use finalizer goes (a Collaborator's own pass may
// have put it on), so an unused ProviderConfig is deleted at once.
func TestProviderConfigUnusedReleasesFinalizer(t *testing.T) {
	e, r := newEnv(t)
	pc := ct.ProviderConfig(collabv1alpha1.ProviderAppHarbor)
	e.Edit(pc, func() { pc.Finalizers = []string{collabv1alpha1.InUseFinalizer} })
	e.Settle(r, pc)
	if controllerutil.ContainsFinalizer(pc, collabv1alpha1.InUseFinalizer) {
		t.Errorf("unused, but still holds %s", collabv1alpha1.InUseFinalizer)
	}
}
