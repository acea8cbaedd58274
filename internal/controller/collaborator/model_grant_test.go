package collaborator_test

import (
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// "One grant, one owner" (API.md), as the model knows it: its own oracle
// of who owns a grant, independent of internal/controller/grant, and the
// invariants over grants, checked after every pass (checkGrantPass, and
// refinements of (a) and (b) in model_check_test.go) and at the end of a
// sequence (converge):
//
//	(h) Only the owner writes: a pass of a declaration while another
//	    one owns its grant (deleting, expiring or orphaning a non-last
//	    declaration included: it is not live, so another live one owns)
//	    makes no provider create, update or delete.
//	(i) While a declaration is live, its own pass never removes its
//	    person: with (h), while any live declaration of a grant exists the
//	    operator sends no delete for its person.
//	(j) A live non-owner whose spec asks for other access than the
//	    owner's is Ready=False, Stalled=True, reason Conflict after its pass
//	    (unless the pass failed on the credentials: then Ready stays as
//	    last observed, as after any failed pass; see checkGrantPass).
//	(k) An AppHarbor duplicate takes the owner's collab.dev/external-id
//	    (whether or not it agrees with the owner); and a declaration
//	    released while another live one remains (whatever its policies)
//	    leaves its id with a live one: AppHarbor names a person only by
//	    the id its create answered, and its create refuses a second
//	    collaborator for one email, so without the id the declaration that
//	    takes the grant over would be Stalled, waiting for a person to
//	    write an id the operator knew. A NotPermitted declaration's id is
//	    no candidate's: its release passes it to no other namespace.
//	(a') A deletion that ends a declaration while another live one remains
//	    is a hand-over: the object goes without a provider call, the
//	    person stays, and a live declaration then holds the finalizer, so
//	    that deleting it later still removes the person.
//	(b') An expiry while another live declaration remains removes nobody
//	    (Ready=True Expired, no call), and when that one goes, the expired
//	    object still has the removal to do: (d) checks it is done.
//	(d') After the faults stop, the provider holds the owner's spec; a
//	    non-owner is Available (WebTranslateIt DeleteOnly) when it agrees
//	    with the owner, else Stalled Conflict; an expired declaration
//	    whose grant still has a live owner is Expired and the person stays;
//	    when the grant's last declaration goes, the person goes as before.
//
// Live is API.md's "not being deleted, not expired", permitted (a
// declaration through a ClusterProviderConfig whose grants do not permit
// it is no candidate: model_cluster_test.go), and Full: an Observe
// object never creates, updates or deletes (API.md, Observe), so it cannot
// hold a grant for anyone; it neither owns nor keeps a person there (a
// Full declaration's deletion beside an Observe one removes the person,
// and the Observe one then reports them missing). A paused live
// declaration is live: it owns the grant when it is the oldest (and then
// nobody writes until it is resumed, which API.md's pause asks for), and
// it keeps the person when the others go.

// declares reports whether c is a live declaration of its grant: live,
// and permitted by its ClusterProviderConfig's grants now (a NotPermitted
// declaration is no live candidate: permit.go).
func (m *trustModel) declares(c *collabv1alpha1.Collaborator) bool {
	return c != nil && !isDeleting(c) && !isExpired(c) && !isObserve(c) && m.permits(c)
}

// olderThan is the grant's order: creationTimestamp, then namespace/name.
func olderThan(a, b *collabv1alpha1.Collaborator) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// grantView is a grant's objects as the store holds them at one moment.
type grantView struct {
	objs []*collabv1alpha1.Collaborator
	// owner is the oldest live declaration, or nil.
	owner *collabv1alpha1.Collaborator
	// live holds the UIDs of the live (and permitted) declarations.
	live map[types.UID]bool
}

// grantView reads the objects of s's grant afresh (a pass of one of them
// may change another: a hand-over gives it the finalizer and the id).
func (m *trustModel) grantView(s slot) grantView {
	g := grantView{live: map[types.UID]bool{}}
	for _, o := range grantOf(s) {
		c := m.object(o)
		if c == nil {
			continue
		}
		g.objs = append(g.objs, c)
		if !m.declares(c) {
			continue
		}
		g.live[c.UID] = true
		if g.owner == nil || olderThan(c, g.owner) {
			g.owner = c
		}
	}
	return g
}

// otherLive returns a live declaration of the grant other than c, or nil.
func (g grantView) otherLive(c *collabv1alpha1.Collaborator) *collabv1alpha1.Collaborator {
	for _, o := range g.objs {
		if o.UID != c.UID && g.live[o.UID] {
			return o
		}
	}
	return nil
}

// agree reports whether two declarations of a grant ask for the same
// access (an AppHarbor role left out is collaborator; WebTranslateIt has
// no access to ask for).
func agree(a, b *collabv1alpha1.Collaborator) bool {
	switch {
	case a.Spec.QuantConnect != nil && b.Spec.QuantConnect != nil:
		return a.Spec.QuantConnect.Write == b.Spec.QuantConnect.Write && a.Spec.QuantConnect.LiveControl == b.Spec.QuantConnect.LiveControl
	case a.Spec.AppHarbor != nil && b.Spec.AppHarbor != nil:
		return roleOf(a) == roleOf(b)
	}
	return a.Spec.WebTranslateIt != nil && b.Spec.WebTranslateIt != nil
}

func roleOf(c *collabv1alpha1.Collaborator) collabv1alpha1.AppHarborRole {
	if r := c.Spec.AppHarbor.Role; r != "" {
		return r
	}
	return collabv1alpha1.AppHarborRoleCollaborator
}

// checkGrantPass is (h), (i), (j) and (k) for one pass of s's object:
// g is its grant before the pass.
func (m *trustModel) checkGrantPass(s slot, g grantView, before, after *collabv1alpha1.Collaborator, p ct.Pass) {
	t := m.t
	if before == nil {
		return
	}
	if g.owner != nil && g.owner.UID != before.UID {
		// Another live declaration owns the grant: before is younger, or
		// not live (being deleted, expired, Observe).
		m.countNonOwner(g.owner, before)
		if p.ProviderWrites() > 0 {
			t.Fatalf("(h) %s wrote at %s (%v) while %s owns the grant: only the owner writes, "+
				"and ending a declaration that is not the last removes nobody", s.name, s.provider, p.Calls, g.owner.Name)
		}
	}
	if m.declares(before) && sent(p, fake.OpDelete) {
		t.Fatalf("(i) %s is a live declaration, yet its pass sent a delete: %v", s.name, p.Calls)
	}
	if after == nil || !m.declares(after) || isPaused(after) || g.owner == nil {
		return
	}
	owner := g.owner
	if owner.UID == after.UID || agree(after, owner) {
		// (j)'s converse: the owner, and a declaration asking for what
		// the owner's does, are never reported in Conflict by a pass that
		// succeeded.
		if condTrue(after, collabv1alpha1.ConditionSynced, "") && condTrue(after, collabv1alpha1.ConditionStalled, collabv1alpha1.ReasonConflict) {
			t.Fatalf("(j) %s is Stalled Conflict after a successful pass, yet it owns the grant or asks for what its owner %s does: %v",
				s.name, owner.Name, ct.ConditionsOf(after))
		}
		if owner.UID == after.UID {
			return
		}
	}
	if s.provider == ahName {
		m.checkOwnersID(s, owner, after)
	}
	if len(p.Calls) > 0 && !slices.ContainsFunc(p.Calls, func(c ct.Call) bool { return c.Answer.Kind != fake.OK }) &&
		!condTrue(after, collabv1alpha1.ConditionSynced, "") {
		// A non-owner only reads: a pass whose reads all succeeded talked
		// to the provider successfully (API.md's Synced).
		t.Fatalf("(j) %s does not own its grant and every call of its pass succeeded (%v), yet it is not Synced=True: %v",
			s.name, p.Calls, ct.ConditionsOf(after))
	}
	if !agree(after, owner) {
		ready := ct.Condition(after.Status.Conditions, collabv1alpha1.ConditionReady)
		if !condTrue(after, collabv1alpha1.ConditionSynced, "") {
			// The pass could not use the credentials (the only failure
			// before the grant is looked at): like any failed pass it
			// leaves Ready as last observed (API.md), and a Ready=True
			// still means what (c) checked when it was set: the provider
			// seen holding this generation's spec (only the owner's spec,
			// or who owns, changed since). A failed pass never leaves a
			// new generation Ready=True.
			m.count("(j) passes of a non-owner in conflict that failed on the credentials")
			if ready != nil && ready.Status == metav1.ConditionTrue && ready.ObservedGeneration != after.Generation {
				t.Fatalf("(j) %s asks for other access than %s, which owns the grant, and its pass failed, yet it is Ready=True %s for generation %d of %d: %v",
					s.name, owner.Name, ready.Reason, ready.ObservedGeneration, after.Generation, ct.ConditionsOf(after))
			}
			return
		}
		m.count("(j) passes of a non-owner in conflict")
		if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != collabv1alpha1.ReasonConflict ||
			ready.ObservedGeneration != after.Generation || !condTrue(after, collabv1alpha1.ConditionStalled, collabv1alpha1.ReasonConflict) {
			t.Fatalf("(j) %s asks for other access than %s, which owns the grant: want Ready=False Stalled=True Conflict after its pass: %v",
				s.name, owner.Name, ct.ConditionsOf(after))
		}
	}
}

// countNonOwner counts a pass of c while owner owns its grant.
func (m *trustModel) countNonOwner(owner, c *collabv1alpha1.Collaborator) {
	m.count("(h) passes of a declaration that does not own its grant")
	if owner.Namespace != c.Namespace {
		m.count("(h) passes of a declaration whose grant is owned from another namespace")
	}
}

// checkOwnersID is (k) after a pass of a live AppHarbor non-owner c that
// talked to the provider, or decided it needed not (Synced=True).
func (m *trustModel) checkOwnersID(s slot, owner, c *collabv1alpha1.Collaborator) {
	id := owner.Annotations[collabv1alpha1.ExternalIDAnnotation]
	if id == "" || !condTrue(c, collabv1alpha1.ConditionSynced, "") {
		return
	}
	m.count("(k) AppHarbor duplicates checked for the owner's id")
	if got := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; got != id {
		m.t.Fatalf("(k) %s is an AppHarbor duplicate of %s, whose collab.dev/external-id is %s, yet after its pass it records %q (spec agrees: %t)",
			s.name, owner.Name, id, got, agree(c, owner))
	}
}

// checkIDPassedOn is the second half of (k), for a pass that released
// before.
func (m *trustModel) checkIDPassedOn(s slot, g grantView, before *collabv1alpha1.Collaborator) {
	id := before.Annotations[collabv1alpha1.ExternalIDAnnotation]
	if s.provider != ahName || id == "" {
		return
	}
	if !m.permits(before) {
		m.checkNoIDFromOutside(s, g, before, id)
		return
	}
	other := g.otherLive(before)
	if other == nil {
		return
	}
	m.count("(k) AppHarbor releases beside a live declaration checked for the id")
	for _, o := range grantOf(s) {
		if c := m.object(o); m.declares(c) && c.Annotations[collabv1alpha1.ExternalIDAnnotation] != "" {
			return
		}
	}
	m.t.Fatalf("(k) %s (deletionPolicy %s, managementPolicy %s) recorded AppHarbor id %s and was released while %s declares "+
		"the same grant, yet no live declaration records an id now", s.name, before.Spec.DeletionPolicy, before.Spec.ManagementPolicy, id, other.Name)
}

// checkNoIDFromOutside is (k) for a NotPermitted declaration released
// (Orphan, Observe): like its ownership, its id is no candidate's
// (permit.go; shareID passes ids only between permitted declarations),
// so no declaration of another namespace gains it. A namespace outside
// the grants must not choose the AppHarbor collaborator id that a
// permitted declaration elsewhere then updates, expires or deletes.
func (m *trustModel) checkNoIDFromOutside(s slot, g grantView, before *collabv1alpha1.Collaborator, id string) {
	m.count("(k) NotPermitted AppHarbor releases checked for no id passed on")
	for _, o := range g.objs {
		if o.UID == before.UID || o.Namespace == before.Namespace || o.Annotations[collabv1alpha1.ExternalIDAnnotation] == id {
			continue
		}
		if c := m.object(slotNamed(o.Name)); c != nil && c.UID == o.UID && c.Annotations[collabv1alpha1.ExternalIDAnnotation] == id {
			m.t.Fatalf("(k) %s, NotPermitted by %s, was released and passed its AppHarbor id %s to %s in namespace %s: "+
				"a namespace outside the grants chose the id a permitted declaration writes with", s.name, cpcName(s.provider), id, o.Name, o.Namespace)
		}
	}
}

// slotNamed is the slot of an object name.
func slotNamed(name string) slot {
	return modelSlots[slices.IndexFunc(modelSlots, func(s slot) bool { return s.name == name })]
}

// checkHandOver is (a') for a pass that released before while another
// live declaration of its grant remained: it reports whether it was one.
func (m *trustModel) checkHandOver(s slot, g grantView, before *collabv1alpha1.Collaborator) bool {
	other := g.otherLive(before)
	if other == nil || isOrphan(before) || isObserve(before) {
		return false
	}
	// (h) saw to it that the pass made no provider write; a live
	// declaration must now hold the finalizer.
	for _, o := range grantOf(s) {
		if c := m.object(o); m.declares(c) && controllerutil.ContainsFinalizer(c, collabv1alpha1.Finalizer) {
			m.count("(a') hand-overs checked")
			if c.Namespace != before.Namespace {
				m.count("(a') hand-overs checked across namespaces")
			}
			return true
		}
	}
	m.t.Fatalf("(a') the deletion of %s was handed over to %s (which declares the same grant), yet no live declaration "+
		"holds the finalizer now: deleting it would let it vanish without removing %s", s.name, other.Name, s.person)
	return true
}

// String names g's owner and objects, for the logs.
func (g grantView) String() string {
	if g.owner == nil {
		return "no live declaration"
	}
	names := make([]string, 0, len(g.objs))
	for _, c := range g.objs {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return fmt.Sprintf("owner %s of %v", g.owner.Name, names)
}
