package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Report lists exactly the members someone added by hand: never the owner
// (who is also the ProviderConfig's account here) nor an exempt one; and a
// Collaborator created for one of them makes the policy Compliant at once.
func TestAccessPolicyReport(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q", "ci-bot")
	// Added by hand before the project's first read, which the policy
	// shares with mia's.
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", true, true))
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	must(t, f.qc.SetCollaborator(qcProject, "ci-bot", true, false))
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")

	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyReport, 5, "ci-bot"))
	p := f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(unmanagedNames(p), []string{"lee-q write+live", "noah read"}); err != nil {
		t.Errorf("status.unmanaged: %v", err)
	}
	if p.Status.Members != 5 || p.Status.Managed != 1 || p.Status.UnmanagedCount != 2 {
		t.Errorf("members/managed/unmanagedCount = %d/%d/%d, want 5/1/2", p.Status.Members, p.Status.Managed, p.Status.UnmanagedCount)
	}
	if err := containsAll(policyMessage(p), "lee-q", "noah"); err != nil {
		t.Error(err)
	}
	if strings.Contains(policyMessage(p), qcOwner) || strings.Contains(policyMessage(p), "ci-bot") {
		t.Errorf("the message names the owner or an exempt member: %s", policyMessage(p))
	}
	if got := f.qcMembers(); len(got) != 5 {
		t.Errorf("Report removed someone: the project holds %v", got)
	}

	// Declaring them is what makes the policy Compliant, through the
	// Collaborator watch (the policy's next periodic pass is an hour away).
	f.create(qcCollaborator("lee", "qc", "lee-q", true, true))
	f.create(qcCollaborator("noah", "qc", "noah", false, false))
	p = f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if p.Status.Managed != 3 || len(p.Status.Unmanaged) != 0 {
		t.Errorf("after declaring: managed %d, unmanaged %v", p.Status.Managed, p.Status.Unmanaged)
	}
}

// Enforce removes the hand-added members with one Event each and leaves
// the declared ones, the owner and the exempt ones.
func TestAccessPolicyEnforceRemoves(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q", "ci-bot")
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", true, true))
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	must(t, f.qc.SetCollaborator(qcProject, "ci-bot", false, false))
	f.create(qcCollaborator("mia", "qc", "mia-ai", true, false))
	f.waitReady("mia")

	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyEnforce, 5, "ci-bot"))
	p := f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if err := equalStrings(f.qcMembers(), []string{"ci-bot", "mia-ai", qcOwner}); err != nil {
		t.Errorf("members after enforce: %v", err)
	}
	if p.Status.Members != 3 || p.Status.Managed != 1 || len(p.Status.Unmanaged) != 0 {
		t.Errorf("status after enforce: members %d managed %d unmanaged %v", p.Status.Members, p.Status.Managed, p.Status.Unmanaged)
	}
	f.waitEvents("team", "Removed")
	f.waitReady("mia")
}

// More unmanaged members than maxRemovals stops the whole pass: nobody is
// removed, and the status says how many.
func TestAccessPolicyRemovalLimit(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q", "kim")
	for _, id := range []string{"lee-q", "kim", "noah"} {
		must(t, f.qc.SetCollaborator(qcProject, id, false, false))
	}
	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyEnforce, 2))
	p := f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonRemovalLimit)
	if err := containsAll(policyMessage(p), "3 member(s)", "maxRemovals (2)", "none was removed"); err != nil {
		t.Error(err)
	}
	if got := f.qcMembers(); len(got) != 4 {
		t.Errorf("a blocked pass removed someone: the project holds %v", got)
	}

	// Raising the limit lets the pass through.
	f.update(p, func() { p.Spec.MaxRemovals = ptrInt32(3) })
	f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if err := equalStrings(f.qcMembers(), []string{qcOwner}); err != nil {
		t.Errorf("members after raising the limit: %v", err)
	}
}

func ptrInt32(v int32) *int32 { return &v }

// A member whose Collaborator exists but is not Ready yet (here: paused
// before its first pass, while the person is already at the provider, as
// between a create and its first status write) is declared: an enforce
// pass never removes it.
func TestAccessPolicyNeverRemovesACollaboratorBeingCreated(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	noah := qcCollaborator("noah", "qc", "noah", false, false)
	noah.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"}
	f.create(noah)
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyEnforce, 5))
	p := f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if p.Status.Managed != 1 {
		t.Errorf("managed = %d, want 1 (noah, not Ready yet)", p.Status.Managed)
	}
	consistently(t, time.Second, func() error {
		return equalStrings(f.qcMembers(), []string{"noah", qcOwner})
	})
}

// AppHarbor members are matched by the collaborator id in the
// Collaborators' collab.dev/external-id annotation (the list has no
// email): an adopted one and a created one are managed, the hand-added one
// is not, and Enforce removes only that one.
func TestAccessPolicyAppHarborMatchesExternalID(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Hour)
	daveID, err := f.ah.AddCollaborator(ahApp, "dave@example.com", "administrator")
	must(t, err)
	_, err = f.ah.AddCollaborator(ahApp, "carol@example.com", "collaborator")
	must(t, err)
	f.create(ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator))
	f.waitReady("bob")
	dave := ahCollaborator("dave", "dave@example.com", collabv1alpha1.AppHarborRoleAdministrator)
	dave.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: daveID}
	f.create(dave)
	f.waitReady("dave")

	f.create(ahPolicy("app", collabv1alpha1.AccessPolicyReport))
	p := f.waitPolicy("app", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(unmanagedNames(p), []string{"carol collaborator"}); err != nil {
		t.Errorf("status.unmanaged: %v", err)
	}
	if p.Status.Managed != 2 {
		t.Errorf("managed = %d, want 2", p.Status.Managed)
	}
	f.update(p, func() { p.Spec.Mode = collabv1alpha1.AccessPolicyEnforce })
	f.waitPolicy("app", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if _, ok := ahHolds(f, "carol@example.com"); ok {
		t.Error("carol is still a collaborator after Enforce")
	}
	for _, email := range []string{"bob@example.com", "dave@example.com"} {
		if _, ok := ahHolds(f, email); !ok {
			t.Errorf("%s, declared, was removed", email)
		}
	}
}

// A policy over a project whose Collaborators are observed costs no extra
// read: it shares their snapshot, one read per sync interval in all.
func TestAccessPolicySharesTheProjectRead(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	const interval = time.Second
	f.quantConnectConfig(interval)
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")
	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyReport, 5))
	f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)

	reads := qcCalls(f, "/collaboration/read")
	const intervals = 4
	waitFor(t, intervals*interval)
	got := qcCalls(f, "/collaboration/read") - reads
	if got < intervals-1 || got > intervals+1 {
		t.Errorf("%d project reads in %d intervals with a Collaborator and a policy; want about %d (one per interval)", got, intervals, intervals)
	}
}

// A new policy judges from a read made after it existed, and a changed
// one from a read made after its change: a member added at the provider
// after the project's shared snapshot was read (here by mia's create, with
// an hour's sync interval) is listed at once, not an hour later.
func TestAccessPolicyReadsAfterItsGeneration(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q")
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	f.waitReady("mia")
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))

	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyReport, 5))
	p := f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(unmanagedNames(p), []string{"noah read"}); err != nil {
		t.Errorf("new policy: status.unmanaged: %v", err)
	}

	// Exempting noah is a new generation: its pass reads again and finds
	// lee-q, added since, rather than calling the project Compliant.
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", false, true))
	f.update(p, func() { p.Spec.Exempt = []string{"noah"} })
	p = f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(unmanagedNames(p), []string{"lee-q write"}); err != nil {
		t.Errorf("changed policy: status.unmanaged: %v", err)
	}
}

// A member declared by a live Collaborator elsewhere on the same target
// (another namespace, or another ProviderConfig on the same provider host)
// is never removed, and is listed as declared elsewhere with no other
// detail; a hand-added one is removed as before.
func TestAccessPolicyKeepsMembersDeclaredElsewhere(t *testing.T) {
	f := newFixture(t)
	other := f.tenant()
	startManager(t, f.ns, f.reg, managerOptions{alsoWatch: []string{other.ns}})
	f.quantConnectConfig(time.Hour)
	f.qcConfigNamed("qc2")
	other.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q", "kim")
	f.create(qcCollaborator("lee", "qc2", "lee-q", false, false))
	other.create(qcCollaborator("noah", "qc", "noah", false, false))
	f.waitReady("lee")
	other.waitReady("noah")
	must(t, f.qc.SetCollaborator(qcProject, "kim", false, false))

	f.create(qcPolicy("team", collabv1alpha1.AccessPolicyEnforce, 5))
	eventually(t, 20*time.Second, func() error { return equalStrings(f.qcMembers(), []string{"lee-q", "noah", qcOwner}) })
	p := f.waitPolicy("team", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	checkDeclaredElsewhere(t, p, []string{"lee-q", "noah"})
	consistently(t, 2*time.Second, func() error { return equalStrings(f.qcMembers(), []string{"lee-q", "noah", qcOwner}) })
}

// AppHarbor cannot say whose its token is, so Enforce never removes an
// administrator: one no Collaborator declares is listed with a note and
// keeps the policy from Compliant until it is declared or exempt, while
// the other unmanaged members are removed (and only those count toward
// maxRemovals).
func TestAccessPolicyNeverRemovesAppHarborAdministrators(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Hour)
	_, err := f.ah.AddCollaborator(ahApp, "dave@example.com", "administrator")
	must(t, err)
	_, err = f.ah.AddCollaborator(ahApp, "carol@example.com", "collaborator")
	must(t, err)
	f.create(ahCollaborator("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator))
	f.waitReady("bob")

	// One removal allowed: dave, never removed, does not count.
	policy := ahPolicy("app", collabv1alpha1.AccessPolicyEnforce)
	policy.Spec.MaxRemovals = ptrInt32(1)
	f.create(policy)
	eventually(t, 20*time.Second, func() error {
		if _, ok := ahHolds(f, "carol@example.com"); ok {
			return fmt.Errorf("carol, unmanaged, is still a collaborator")
		}
		return nil
	})
	p := f.waitPolicy("app", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	checkAdministratorNote(t, p, "dave")
	if err := containsAll(policyMessage(p), "dave (administrator)", "never removed"); err != nil {
		t.Error(err)
	}
	consistently(t, time.Second, func() error {
		if _, ok := ahHolds(f, "dave@example.com"); !ok {
			return fmt.Errorf("dave, an administrator, was removed")
		}
		return nil
	})

	f.update(p, func() { p.Spec.Exempt = []string{"dave"} })
	p = f.waitPolicy("app", metav1.ConditionTrue, collabv1alpha1.ReasonCompliant)
	if len(p.Status.Unmanaged) != 0 {
		t.Errorf("after exempting dave: status.unmanaged %+v", p.Status.Unmanaged)
	}
}
