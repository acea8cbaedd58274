package collaborator_test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// maxConvergeRounds bounds the rounds of passes after the faults stop: a
// world still writing after that many is livelocked (API.md: steady
// state writes nothing).
const maxConvergeRounds = 10

// converge ends a sequence: the faults stop, the credentials are repaired,
// a person does what the statuses ask (personActs), and rounds of passes
// (every Collaborator, then the ProviderConfig and Secret reconcilers) run
// until a whole round changes nothing. Then (d): the provider holds what
// the live objects declare.
func (m *trustModel) converge() {
	m.outage = map[string]*fake.Answer{}
	m.widen()
	m.logf("the faults stop; the credentials are repaired; the ClusterProviderConfigs' grants are left wide; passes run until a round changes nothing")
	for round := 1; ; round++ {
		quiet := true
		for _, c := range allCreds {
			if m.repair(c) {
				quiet = false
			}
		}
		for _, s := range modelSlots {
			if m.personActs(s) {
				quiet = false
			}
		}
		for _, s := range modelSlots {
			if m.prev[s.name] == nil {
				continue
			}
			if p := m.pass(s, nil); !p.Quiet() || p.ProviderWrites() > 0 {
				quiet = false
			}
		}
		// The ProviderConfig, ClusterProviderConfig and Secret reconcilers
		// matter here only to let a terminating one go once unused (it is then
		// created again): the Collaborator reconciler reads neither's status.
		for _, c := range allCreds {
			if m.terminating(c) && !m.otherControllers(c) {
				quiet = false
			}
		}
		m.check()
		m.count("(d) rounds of passes to settle")
		if quiet {
			break
		}
		if round == maxConvergeRounds {
			m.t.Fatalf("(d) still changing after %d rounds of passes with no faults and working credentials", round)
		}
	}
	for _, s := range modelSlots {
		if firstOfGrant(s) {
			m.checkGrantConverged(s)
		}
	}
	m.count("(d) sequences converged")
}

// checkGrantConverged is (d) for one grant, once the world has settled.
func (m *trustModel) checkGrantConverged(s slot) {
	g := m.grantView(s)
	if len(g.objs) == 0 {
		if _, held := m.held(s); m.state[s.person].released && held {
			m.t.Fatalf("(d) the operator released the last declaration of %s's grant after removing them, and nobody added them "+
				"or declared them since, yet %s holds them again", s.person, s.provider)
		}
		return
	}
	for _, o := range grantOf(s) {
		if c := m.object(o); c != nil {
			m.checkConverged(o, g, c)
		}
	}
}

// checkConverged is (d) for one object c of slot s, once the world has
// settled; g is its grant.
func (m *trustModel) checkConverged(s slot, g grantView, c *collabv1alpha1.Collaborator) {
	t := m.t
	if isPaused(c) {
		return // no provider call until a person resumes it
	}
	state := m.describe(s)
	if isDeleting(c) {
		t.Fatalf("(d) the deletion of %s is not done after the faults stopped and the credentials were repaired: %s", s.name, state)
	}
	ready := ct.Condition(c.Status.Conditions, collabv1alpha1.ConditionReady)
	readyIs := func(reasons ...string) bool {
		for _, r := range reasons {
			if ready != nil && ready.ObservedGeneration == c.Generation && ready.Reason == r &&
				(ready.Status == metav1.ConditionTrue || r == collabv1alpha1.ReasonDrifted) {
				return true
			}
		}
		return false
	}
	switch {
	case isObserve(c):
		// Observe changes nothing at the provider; its verdict is (c)'s.
		want := []string{collabv1alpha1.ReasonAvailable, collabv1alpha1.ReasonDrifted}
		if s.provider == wtiName {
			want = []string{collabv1alpha1.ReasonDeleteOnly}
		}
		if !readyIs(want...) || !condTrue(c, collabv1alpha1.ConditionSynced, "") {
			t.Fatalf("(d) Observe %s: want a successful read with Ready %v: %s", s.name, want, state)
		}
	case isExpired(c) && g.owner != nil:
		// (b'): the grant's owner keeps the person; this expiry removed
		// nobody.
		m.count("(d) expired declarations beside a live owner")
		if !readyIs(collabv1alpha1.ReasonExpired) {
			t.Fatalf("(d) %s expired while %s owns the grant: want Ready=True Expired: %s", s.name, g.owner.Name, state)
		}
	case isExpired(c):
		m.checkExpiredConverged(s, c, readyIs(collabv1alpha1.ReasonExpired))
	case g.owner.UID != c.UID && !agree(c, g.owner):
		// (j) at rest.
		m.count("(d) non-owners in conflict")
		if ready == nil || ready.Reason != collabv1alpha1.ReasonConflict || ready.Status != metav1.ConditionFalse ||
			ready.ObservedGeneration != c.Generation || !condTrue(c, collabv1alpha1.ConditionStalled, collabv1alpha1.ReasonConflict) {
			t.Fatalf("(d) %s asks for other access than %s, which owns the grant: want Ready=False Stalled=True Conflict: %s",
				s.name, g.owner.Name, state)
		}
	case isPaused(g.owner):
		// The owner is paused: nobody writes for the grant until a person
		// resumes it, so what the provider holds is nobody's doing; (c)
		// checked this one's Ready against it at its last pass.
		m.count("(d) declarations whose owner is paused")
	default:
		if g.owner.UID != c.UID {
			m.count("(d) non-owners agreeing with the owner")
		}
		want := collabv1alpha1.ReasonAvailable
		if s.provider == wtiName {
			want = collabv1alpha1.ReasonDeleteOnly
		} else if !m.holdsAsSpecified(s, c) {
			t.Fatalf("(d) %s is live (Full, not expired), yet %s does not hold %s with the access its spec asks for: %s",
				s.name, s.provider, s.person, state)
		}
		if !readyIs(want) {
			t.Fatalf("(d) %s is live (Full, not expired): want Ready=True %s: %s", s.name, want, state)
		}
	}
}

// checkExpiredConverged is (d) for an expired object whose grant has no
// live owner: the person is gone, and c is Ready=True Expired
// (expiredReady).
func (m *trustModel) checkExpiredConverged(s slot, c *collabv1alpha1.Collaborator, expiredReady bool) {
	t, st := m.t, m.state[s.person]
	got, held := m.held(s)
	state := m.describe(s)
	switch {
	case !held:
	case s.provider == wtiName && st.wtiUnseen:
		m.count("(d) expired objects excused: WebTranslateIt has no read")
		t.Logf("(d) %s is expired and %s is in the organization: WebTranslateIt has no read to see them come back", s.name, s.person)
	case m.unseeable(s, c, ct.Pass{}, got) != "":
		m.count("(d) expired objects excused: " + excuse(m.unseeable(s, c, ct.Pass{}, got)))
		t.Logf("(d) %s is expired and %s is at AppHarbor: %s", s.name, s.person, m.unseeable(s, c, ct.Pass{}, got))
	default:
		t.Fatalf("(d) %s expired, yet %s still holds %s: %s", s.name, s.provider, s.person, state)
	}
	switch {
	case expiredReady:
	case s.provider == ahName && !held && condTrue(c, collabv1alpha1.ConditionStalled, collabv1alpha1.ReasonExternalIDUnknown):
		// A create whose outcome was in doubt (5xx, connection lost)
		// left the create-pending mark; AppHarbor holds nobody with
		// the email, so there is no id for a person to write, and the
		// object stays Stalled (reported: no documented way out short
		// of extending or deleting it). Trust holds: nobody has access.
		m.count("(d) expired AppHarbor objects Stalled ExternalIDUnknown, nobody at AppHarbor")
		t.Logf("(d) %s expired and Stalled ExternalIDUnknown with nobody at AppHarbor: no id for a person to write", s.name)
	default:
		t.Fatalf("(d) %s expired: want Ready=True Expired: %s", s.name, state)
	}
}

// terminating reports a credentials object or its Secret deleted and
// held by a finalizer.
func (m *trustModel) terminating(c creds) bool {
	for _, o := range []client.Object{c.config(), c.secret()} {
		if m.e.Get(o) && !o.GetDeletionTimestamp().IsZero() {
			return true
		}
	}
	return false
}
