package collaborator_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"pgregory.net/rapid"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// The steps that act on the world around the Collaborators: the
// credentials, the providers' answers, the manager, and a person reading
// statuses.

// breakCredentials makes a provider's credentials unusable in one of the
// ways a person does. Deletes honour the in-use finalizers (the object
// then stays, terminating, until the ProviderConfig and Secret
// reconcilers let it go); force deletes strip them first.
func (m *trustModel) breakCredentials(t *rapid.T) {
	p := drawProvider(t)
	how := rapid.SampledFrom([]string{"Secret key misspelt", "Secret deleted", "Secret deleted by force",
		"ProviderConfig deleted", "ProviderConfig deleted by force", "baseURL not allowed", "ProviderConfig for another provider"}).Draw(t, "how")
	sec, pc := ct.Secret(p), ct.ProviderConfig(p)
	secThere, pcThere := m.e.Get(sec), m.e.Get(pc)
	did := true
	switch {
	case how == "Secret key misspelt" && secThere:
		key := ct.CredentialKeys(p)[0]
		m.e.Edit(sec, func() {
			sec.Data = ct.Secret(p).Data
			sec.Data[key[:len(key)-1]] = sec.Data[key]
			delete(sec.Data, key)
		})
	case how == "Secret deleted" && secThere && sec.DeletionTimestamp.IsZero():
		m.e.Delete(sec)
	case how == "Secret deleted by force" && secThere:
		m.e.ForceDelete(sec)
	case how == "ProviderConfig deleted" && pcThere && pc.DeletionTimestamp.IsZero():
		m.e.Delete(pc)
	case how == "ProviderConfig deleted by force" && pcThere:
		m.e.ForceDelete(pc)
	case how == "baseURL not allowed" && pcThere:
		ct.SetBaseURL(m.e, p, ct.NotAllowedURL)
	case how == "ProviderConfig for another provider":
		if pcThere {
			m.e.ForceDelete(pc)
		}
		other := ahName
		if p == ahName {
			other = qcName
		}
		wrong := ct.ProviderConfig(other)
		wrong.Name = ct.ConfigName(p)
		m.e.Create(wrong)
	default:
		did = false
	}
	m.logf("break the %s credentials (%s; done: %t)", p, how, did)
}

// repair makes a provider's fixture credentials usable again, as a person
// does, and reports whether anything needed it. A terminating
// ProviderConfig or Secret is left to go (its users still log in through
// it; the reconcilers let it go when unused, then it is created again).
func (m *trustModel) repair(p string) bool {
	var did []string
	sec := ct.Secret(p)
	switch {
	case !m.e.Get(sec):
		m.e.Create(ct.Secret(p))
		did = append(did, "Secret created")
	case !sameData(sec.Data, ct.Secret(p).Data):
		m.e.Edit(sec, func() { sec.Data = ct.Secret(p).Data })
		did = append(did, "Secret keys fixed")
	}
	want, _ := ct.ProviderConfig(p).Spec.Endpoint()
	pc := ct.ProviderConfig(p)
	if !m.e.Get(pc) {
		m.e.Create(ct.ProviderConfig(p))
		did = append(did, "ProviderConfig created")
	} else if got, ok := pc.Spec.Endpoint(); !ok || got.Provider != p {
		m.e.ForceDelete(pc)
		m.e.Create(ct.ProviderConfig(p))
		did = append(did, "ProviderConfig re-created for its provider")
	} else if got.BaseURL != want.BaseURL {
		ct.SetBaseURL(m.e, p, "")
		did = append(did, "baseURL restored")
	}
	if len(did) > 0 {
		m.logf("repair the %s credentials: %v", p, did)
	}
	return len(did) > 0
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if string(b[k]) != string(v) {
			return false
		}
	}
	return true
}

// faultKinds are every answer but OK that a provider can give.
var faultKinds = map[string]fake.Kind{
	"Gone": fake.Gone, "NotFoundPage": fake.NotFoundPage, "Redirect": fake.Redirect, "RateLimited": fake.RateLimited,
	"ServerError": fake.ServerError, "Lost": fake.Lost, "Unreachable": fake.Unreachable, "Unauthorized": fake.Unauthorized,
	"Rejected": fake.Rejected,
}

func drawAnswer(t *rapid.T) fake.Answer {
	names := make([]string, 0, len(faultKinds))
	for name := range faultKinds {
		names = append(names, name)
	}
	slices.Sort(names)
	a := fake.Answer{Kind: faultKinds[rapid.SampledFrom(names).Draw(t, "answer")]}
	switch a.Kind {
	case fake.RateLimited:
		a.RetryAfter = time.Duration(rapid.IntRange(0, 120).Draw(t, "retryAfterSeconds")) * time.Second
	case fake.Unauthorized:
		a.Status = rapid.SampledFrom([]int{401, 403}).Draw(t, "status")
	case fake.Redirect:
		a.Status = rapid.SampledFrom([]int{301, 302, 307}).Draw(t, "status")
	case fake.ServerError:
		a.Status = rapid.SampledFrom([]int{500, 502, 503}).Draw(t, "status")
	}
	return a
}

// faultyPass reconciles an object while its provider gives one answer to
// its next calls (of one request kind, or any).
func (m *trustModel) faultyPass(t *rapid.T) {
	s, _ := m.drawSlot(t, exists)
	a := drawAnswer(t)
	// Half the faults hit whatever the pass sends first; the others wait
	// for one request kind (which the pass may not send).
	op := rapid.SampledFrom([]fake.Op{"", "", "", "", "", fake.OpObserve, fake.OpCreate, fake.OpUpdate, fake.OpDelete, fake.OpConfirm}).Draw(t, "op")
	n := rapid.IntRange(1, 3).Draw(t, "calls")
	what := string(op)
	if what == "" {
		what = "any"
	}
	m.logf("pass %s, %s answering %s to the next %d %s call(s)", s.name, s.provider, a.Kind, n, what)
	m.pass(s, &fault{provider: s.provider, op: op, left: n, initial: n, answer: a})
}

// toggleOutage starts or ends a provider answering every call the same
// way, across passes and restarts.
func (m *trustModel) toggleOutage(t *rapid.T) {
	p := drawProvider(t)
	if m.outage[p] != nil {
		delete(m.outage, p)
		m.logf("%s answers normally again", p)
		return
	}
	a := drawAnswer(t)
	m.outage[p] = &a
	m.logf("%s answers %s (status %d) to every call from now on", p, a.Kind, a.Status)
}

// restart is a new manager: new reconcilers and a new connector, nothing
// remembered in memory, the same objects and provider truth.
func (m *trustModel) restart(*rapid.T) {
	m.start(m.e.NewConnector())
	m.count("restarts")
	m.logf("restart the manager")
}

// otherControllers runs the ProviderConfig and Secret reconcilers of a
// provider's fixture credentials: they hold, and once unused release, the
// in-use finalizers.
func (m *trustModel) otherControllers(p string) bool {
	pcPass := m.e.ReconcileKey(m.pcr, types.NamespacedName{Namespace: ct.Namespace, Name: ct.ConfigName(p)}, nil)
	secPass := m.e.ReconcileKey(m.sr, types.NamespacedName{Namespace: ct.Namespace, Name: ct.SecretName(p)}, nil)
	m.logf("reconcile the %s ProviderConfig (err %v, writes %v) and Secret (err %v, writes %v)",
		p, pcPass.Err, pcPass.Writes, secPass.Err, secPass.Writes)
	return pcPass.Quiet() && secPass.Quiet()
}

func (m *trustModel) personActsStep(t *rapid.T) {
	s, _ := m.drawSlot(t, func(s slot, c *collabv1alpha1.Collaborator) bool { return c != nil && s.provider == ahName })
	if !m.personActs(s) {
		m.logf("a person reads %s's status: nothing to do", s.name)
	}
}

// describe renders a slot's object and provider truth for the logs, when
// rapid logs (only the failing case's replay, or with -rapid.v): reading
// them for every step would cost the model a third of its time.
func (m *trustModel) describe(s slot) fmt.Stringer {
	return lazy(func() string { return m.description(s) })
}

type lazy func() string

func (l lazy) String() string { return l() }

func (m *trustModel) description(s slot) string {
	var b strings.Builder
	c := m.object(s)
	if c == nil {
		b.WriteString("no object")
	} else {
		fmt.Fprintf(&b, "gen %d", c.Generation)
		for _, f := range []struct {
			on   bool
			text string
		}{
			{isDeleting(c), "deleting"}, {isPaused(c), "paused"}, {isObserve(c), "Observe"}, {isOrphan(c), "Orphan"},
			{isExpired(c), "expired"}, {!controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer), "no finalizer"},
		} {
			if f.on {
				b.WriteString(", " + f.text)
			}
		}
		if id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" {
			fmt.Fprintf(&b, ", external-id %s", id)
		}
		if mark, ok := c.Annotations[collabv1alpha1.PendingCreateAnnotation]; ok {
			fmt.Fprintf(&b, ", create-pending %q", mark)
		}
		fmt.Fprintf(&b, ", %v", ct.ConditionsOf(c))
	}
	if got, ok := m.held(s); ok {
		fmt.Fprintf(&b, "; provider holds %s (id %s, write %t, live %t, role %q)", s.person, got.ID, got.Write, got.LiveControl, got.Role)
	} else {
		fmt.Fprintf(&b, "; provider does not hold %s", s.person)
	}
	return b.String()
}
