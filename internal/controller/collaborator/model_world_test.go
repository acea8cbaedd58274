package collaborator_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"pgregory.net/rapid"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// The steps that act on the world around the Collaborators: the
// credentials, the providers' answers, the manager, and a person reading
// statuses.

// creds is one credentials object of a provider and its Secret: the
// fixture ProviderConfig in ct.Namespace, or (cluster) its
// ClusterProviderConfig with its Secret in the cluster resource namespace.
type creds struct {
	provider string
	cluster  bool
}

// allCreds are every credentials object of the model.
var allCreds = func() []creds {
	out := make([]creds, 0, len(ct.ProviderNames)+len(clusterProviders))
	for _, p := range ct.ProviderNames {
		out = append(out, creds{provider: p})
	}
	for _, p := range clusterProviders {
		out = append(out, creds{provider: p, cluster: true})
	}
	return out
}()

func drawCreds(t *rapid.T) creds { return rapid.SampledFrom(allCreds).Draw(t, "credentials") }

func (c creds) String() string {
	if c.cluster {
		return "ClusterProviderConfig " + cpcName(c.provider)
	}
	return "ProviderConfig " + ct.ConfigName(c.provider)
}

// secret is the Secret the credentials object names, as the fixture has it.
func (c creds) secret() *corev1.Secret {
	if c.cluster {
		return clusterSecret(c.provider)
	}
	return ct.Secret(c.provider)
}

// config is an empty credentials object of c's kind and name, to read.
func (c creds) config() client.Object {
	if c.cluster {
		return &collabv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: cpcName(c.provider)}}
	}
	return ct.ProviderConfig(c.provider)
}

// key names the credentials object (config) or its Secret in mustHold.
func (c creds) key(secret bool) string {
	if secret {
		return "Secret of " + c.String()
	}
	return c.String()
}

// users reports whether a stored Collaborator references c (as the model
// knew the store after the previous step).
func (m *trustModel) users(c creds) bool {
	for _, s := range modelSlots {
		if s.provider == c.provider && s.cluster == c.cluster && m.prev[s.name] != nil {
			return true
		}
	}
	return false
}

// breakCredentials makes a provider's credentials unusable in one of the
// ways a person does. Deletes honour the in-use finalizers (the object
// then stays, terminating, until the ProviderConfig, ClusterProviderConfig
// and Secret reconcilers let it go); force deletes strip them first.
func (m *trustModel) breakCredentials(t *rapid.T) {
	c := drawCreds(t)
	hows := []string{"Secret key misspelt", "Secret deleted", "Secret deleted by force",
		"ProviderConfig deleted", "ProviderConfig deleted by force", "baseURL not allowed", "ProviderConfig for another provider"}
	if c.cluster {
		hows = []string{"Secret key misspelt", "Secret deleted", "Secret deleted by force",
			"ClusterProviderConfig deleted", "ClusterProviderConfig deleted by force", "baseURL not allowed"}
	}
	how := rapid.SampledFrom(hows).Draw(t, "how")
	p := c.provider
	sec, pc := c.secret(), c.config()
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
		m.plainDelete(c, true, sec)
	case how == "Secret deleted by force" && secThere:
		m.forceDelete(c, true, sec)
	case strings.HasSuffix(how, "ProviderConfig deleted") && pcThere && pc.GetDeletionTimestamp().IsZero():
		m.plainDelete(c, false, pc)
	case strings.HasSuffix(how, "ProviderConfig deleted by force") && pcThere:
		m.forceDelete(c, false, pc)
	case how == "baseURL not allowed" && pcThere && c.cluster:
		m.setClusterBaseURL(p, ct.NotAllowedURL)
	case how == "baseURL not allowed" && pcThere:
		ct.SetBaseURL(m.e, p, ct.NotAllowedURL)
	case how == "ProviderConfig for another provider":
		if pcThere {
			m.forceDelete(c, false, pc)
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
	if c.cluster {
		m.refreshCluster(p)
		if did {
			m.count("cluster credentials broken: " + how)
		}
	}
	m.logf("break the %s credentials (%s; done: %t)", c, how, did)
}

// plainDelete deletes a credentials object (or its Secret) as kubectl
// does, honouring the in-use finalizer: one the model knows in use
// (mustHold) must then stay, Terminating, for the revocations still to
// come.
func (m *trustModel) plainDelete(c creds, secret bool, obj client.Object) {
	m.e.Delete(obj)
	there := m.e.Get(obj)
	switch {
	case m.mustHold[c.key(secret)] && !there:
		m.t.Fatalf("the %s was in use (it must carry the in-use finalizer), yet a plain delete removed it at once", c.key(secret))
	case there:
		m.count("plain deletes of credentials left Terminating by the in-use finalizer")
		if m.mustHold[c.key(secret)] {
			m.count("plain deletes of credentials known in use left Terminating")
		}
		if c.cluster {
			m.count("plain deletes of cluster credentials left Terminating by the in-use finalizer")
		}
	default:
		delete(m.mustHold, c.key(secret))
	}
}

// forceDelete deletes a credentials object (or its Secret) whatever its
// finalizers; one created again starts without the in-use finalizer.
func (m *trustModel) forceDelete(c creds, secret bool, obj client.Object) {
	m.e.ForceDelete(obj)
	delete(m.mustHold, c.key(secret))
}

// createCreds stores a credentials object (or its Secret) anew: it carries no
// in-use finalizer until a pass or its reconciler adds one.
func (m *trustModel) createCreds(c creds, secret bool, obj client.Object) {
	m.e.Create(obj)
	delete(m.mustHold, c.key(secret))
}

// repair makes a provider's credentials usable again, as a person does,
// and reports whether anything needed it. A terminating credentials
// object or Secret is left to go (its users still log in through it; the
// reconcilers let it go when unused, then it is created again). A
// ClusterProviderConfig is created again with the grants the model holds.
func (m *trustModel) repair(c creds) bool {
	var did []string
	p := c.provider
	sec := c.secret()
	switch {
	case !m.e.Get(sec):
		m.createCreds(c, true, c.secret())
		did = append(did, "Secret created")
	case !sameData(sec.Data, ct.Secret(p).Data):
		m.e.Edit(sec, func() { sec.Data = ct.Secret(p).Data })
		did = append(did, "Secret keys fixed")
	}
	want, _ := ct.ProviderConfig(p).Spec.Endpoint()
	if c.cluster {
		cpc := &collabv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: cpcName(p)}}
		if !m.e.Get(cpc) {
			m.createCreds(c, false, m.clusterConfig(p))
			m.cpcThere[p] = true
			did = append(did, "ClusterProviderConfig created with grants "+grantsString(m.grants[p]))
		} else if got, _ := cpc.Spec.Endpoint(); got.BaseURL != want.BaseURL {
			m.setClusterBaseURL(p, "")
			did = append(did, "baseURL restored")
		}
	} else {
		pc := ct.ProviderConfig(p)
		if !m.e.Get(pc) {
			m.createCreds(c, false, ct.ProviderConfig(p))
			did = append(did, "ProviderConfig created")
		} else if got, ok := pc.Spec.Endpoint(); !ok || got.Provider != p {
			m.forceDelete(c, false, pc)
			m.createCreds(c, false, ct.ProviderConfig(p))
			did = append(did, "ProviderConfig re-created for its provider")
		} else if got.BaseURL != want.BaseURL {
			ct.SetBaseURL(m.e, p, "")
			did = append(did, "baseURL restored")
		}
	}
	if len(did) > 0 {
		m.logf("repair the %s credentials: %v", c, did)
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

// otherControllers runs the reconcilers of a credentials object
// (ProviderConfig or ClusterProviderConfig) and of its Secret: they hold,
// and once unused release, the in-use finalizers. While Collaborators use
// an object that names its fixture Secret, both must hold the finalizer
// after them; a plain delete of either must then leave it Terminating.
func (m *trustModel) otherControllers(c creds) bool {
	var pcPass ct.Pass
	if c.cluster {
		pcPass = m.e.ReconcileKey(m.cpr, types.NamespacedName{Name: cpcName(c.provider)}, nil)
		m.refreshCluster(c.provider)
	} else {
		pcPass = m.e.ReconcileKey(m.pcr, types.NamespacedName{Namespace: ct.Namespace, Name: ct.ConfigName(c.provider)}, nil)
	}
	sec := c.secret()
	secPass := m.e.ReconcileKey(m.sr, client.ObjectKeyFromObject(sec), nil)
	m.logf("reconcile the %s (err %v, writes %v) and its Secret (err %v, writes %v)",
		c, pcPass.Err, pcPass.Writes, secPass.Err, secPass.Writes)
	m.checkHeld(c, pcPass, secPass)
	return pcPass.Quiet() && secPass.Quiet()
}

// checkHeld is the in-use finalizer after the reconcilers of c and its
// Secret ran: held on both while Collaborators use c, which names its
// fixture Secret (a ProviderConfig re-created for another provider names
// another one). What they released (unused, or no longer named) no longer
// must hold it.
func (m *trustModel) checkHeld(c creds, pcPass, secPass ct.Pass) {
	cfg, sec := c.config(), c.secret()
	cfgThere, secThere := m.e.Get(cfg), m.e.Get(sec)
	if !cfgThere || !controllerutil.ContainsFinalizer(cfg, collabv1alpha1.InUseFinalizer) {
		delete(m.mustHold, c.key(false))
	}
	if !secThere || !controllerutil.ContainsFinalizer(sec, collabv1alpha1.InUseFinalizer) {
		delete(m.mustHold, c.key(true))
	}
	if !m.users(c) || !cfgThere || pcPass.Err != nil || secPass.Err != nil {
		return
	}
	var spec *collabv1alpha1.ProviderConfigSpec
	switch o := cfg.(type) {
	case *collabv1alpha1.ProviderConfig:
		spec = &o.Spec
	case *collabv1alpha1.ClusterProviderConfig:
		spec = &o.Spec.ProviderConfigSpec
	}
	if ep, ok := spec.Endpoint(); !ok || ep.Provider != c.provider {
		return
	}
	m.count("in-use finalizers checked after their reconcilers")
	if c.cluster {
		m.count("in-use finalizers of cluster credentials checked after their reconcilers")
	}
	for _, o := range []client.Object{cfg, sec} {
		if o == client.Object(sec) && !secThere {
			continue
		}
		if !controllerutil.ContainsFinalizer(o, collabv1alpha1.InUseFinalizer) {
			m.t.Fatalf("the %s is used by Collaborators, yet after its reconciler it lacks the in-use finalizer %s (finalizers %v)",
				c.key(o == client.Object(sec)), collabv1alpha1.InUseFinalizer, o.GetFinalizers())
		}
		m.mustHold[c.key(o == client.Object(sec))] = true
	}
}

// checkHold is connector.Hold after a pass of a Collaborator through c
// (not being deleted) that wrote at the provider: before any write that
// grants access, c and its Secret carry the in-use finalizer.
func (m *trustModel) checkHold(s slot, c creds) {
	cfg, sec := c.config(), c.secret()
	for _, o := range []client.Object{cfg, sec} {
		isSecret := o == client.Object(sec)
		if !m.e.Get(o) || !controllerutil.ContainsFinalizer(o, collabv1alpha1.InUseFinalizer) {
			m.t.Fatalf("a pass of %s wrote at %s through the %s, yet the %s does not carry the in-use finalizer %s: "+
				"a plain delete of it would leave the revocation without credentials", s.name, s.provider, c, c.key(isSecret),
				collabv1alpha1.InUseFinalizer)
		}
		m.mustHold[c.key(isSecret)] = true
	}
	if c.cluster {
		m.count("passes through cluster credentials that wrote, checked for the in-use finalizers")
	}
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
