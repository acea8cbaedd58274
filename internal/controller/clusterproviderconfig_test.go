package controller

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// The ClusterProviderConfig reports Ready, its provider and grant count,
// and a granted namespace's Collaborator becomes Ready through it; every
// use beyond the grants (another project, member, access, namespace) is
// Stalled NotPermitted without a single call about it; a NotPermitted
// object stays on deletion until Orphan; widening the grants, or labelling
// a namespace a selector picks, makes waiting objects Ready at once.
func TestClusterProviderConfigGrants(t *testing.T) {
	other := newNamespace(t)
	f := newClusterFixture(t, managerOptions{}, other)
	f.addQCUsers("lee-q")
	f.createClusterConfig(
		collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns}, Targets: []string{fmt.Sprint(qcProject)},
			Members: []string{"mia-ai", "noah"}, MaxAccess: collabv1alpha1.AccessWrite},
		collabv1alpha1.ClusterGrant{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": f.cpc}},
			Targets: []string{"2345*"}, Members: []string{"lee-q"}, MaxAccess: collabv1alpha1.AccessRead},
	)
	eventually(t, 20*time.Second, func() error {
		cpc := f.clusterConfig()
		if !meta.IsStatusConditionTrue(cpc.Status.Conditions, collabv1alpha1.ConditionReady) ||
			cpc.Status.Provider != collabv1alpha1.ProviderQuantConnect || cpc.Status.Grants != 2 ||
			cpc.Status.ObservedGeneration != cpc.Generation {
			return fmt.Errorf("ClusterProviderConfig status: %+v", cpc.Status)
		}
		return nil
	})

	f.create(f.viaCluster("mia", "mia-ai", qcProject, true, false))
	f.waitReady("mia")
	if m, ok := f.qc.Member(qcProject, "mia-ai"); !ok || !m.Write {
		t.Fatalf("mia at the provider: %+v, %v", m, ok)
	}
	// The CPC and its Secret in the cluster resource namespace hold the
	// in-use finalizer.
	eventually(t, 10*time.Second, func() error {
		if err := hasInUse(t, client.ObjectKey{Name: f.cpc}, &collabv1alpha1.ClusterProviderConfig{}); err != nil {
			return err
		}
		return hasInUse(t, client.ObjectKey{Namespace: f.clusterNS, Name: "qc-org"}, &corev1.Secret{})
	})

	calls := f.qc.CountWhere(isCollaborationCall)
	otherTeam := f.in(other)
	denied := map[string]struct {
		f       *clusterFixture
		c       *collabv1alpha1.Collaborator
		message []string
	}{
		"another project": {f: f, c: f.viaCluster("project", "noah", 999, false, false),
			message: []string{f.cpc, "no access to project 999"}},
		"another member": {f: f, c: f.viaCluster("member", "lee-q", qcProject, false, false),
			message: []string{f.cpc, `not for member "lee-q"`}},
		"more access": {f: f, c: f.viaCluster("access", "noah", qcProject, true, true),
			message: []string{f.cpc, "at most write", "asks for write+live"}},
		"another namespace": {f: otherTeam, c: otherTeam.viaCluster("elsewhere", "lee-q", qcProject, false, false),
			message: []string{f.cpc, fmt.Sprintf("grants namespace %q nothing", other)}},
	}
	for _, tc := range denied {
		tc.f.create(tc.c)
	}
	for name, tc := range denied {
		c := tc.f.waitCondition(tc.c.Name, collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonNotPermitted)
		if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), tc.message...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, typ := range []string{collabv1alpha1.ConditionReady, collabv1alpha1.ConditionSynced} {
			if meta.IsStatusConditionTrue(c.Status.Conditions, typ) {
				t.Errorf("%s: %s is True: %+v", name, typ, c.Status.Conditions)
			}
		}
	}
	consistently(t, 2*time.Second, func() error {
		if n := f.qc.CountWhere(isCollaborationCall); n != calls {
			return fmt.Errorf("%d calls about collaborators were made for objects that are not permitted", n-calls)
		}
		return nil
	})

	// Deleting a NotPermitted object calls nobody and keeps it, with the
	// escape hatch named; Orphan releases it.
	project := denied["another project"].c
	f.delete(project)
	c := f.waitCondition(project.Name, collabv1alpha1.ConditionReady, metav1.ConditionFalse, collabv1alpha1.ReasonNotPermitted)
	if err := containsAll(condMessage(c, collabv1alpha1.ConditionReady), "Orphan"); err != nil {
		t.Error(err)
	}
	if n := f.qc.CountWhere(isCollaborationCall); n != calls {
		t.Errorf("the blocked delete called the provider %d times", n-calls)
	}
	f.update(project, func() { project.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan })
	f.waitGone(project)

	// Widening the grant lets the waiting object in at once.
	f.setGrants(
		collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns}, Targets: []string{fmt.Sprint(qcProject)},
			Members: []string{"mia-ai", "noah"}, MaxAccess: collabv1alpha1.AccessWriteLive},
		collabv1alpha1.ClusterGrant{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": f.cpc}},
			Targets: []string{"2345*"}, Members: []string{"lee-q"}, MaxAccess: collabv1alpha1.AccessRead},
	)
	eventually(t, 5*time.Second, func() error {
		return readyErr(f.collaborator("access"))
	})

	// Labelling the other namespace so the selector picks it lets its
	// object in; the same member in the fixture's namespace stays out.
	eventually(t, 10*time.Second, func() error {
		ns := &corev1.Namespace{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: other}, ns); err != nil {
			return err
		}
		metav1.SetMetaDataLabel(&ns.ObjectMeta, "team", f.cpc)
		return k8s.Update(context.Background(), ns)
	})
	eventually(t, 5*time.Second, func() error {
		return readyErr(otherTeam.collaborator("elsewhere"))
	})
	if c := f.collaborator("member"); meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionReady) {
		t.Errorf("a member the fixture's namespace is not granted became Ready: %+v", c.Status.Conditions)
	}
}

// One person declared from two namespaces through one ClusterProviderConfig
// is one grant: either declaration's deletion keeps them, the last one's
// removes them, and neither namespace learns the other's names. Once
// unused, the ClusterProviderConfig and its Secret lose the in-use
// finalizer.
func TestClusterProviderConfigOneGrantTwoNamespaces(t *testing.T) {
	second := newNamespace(t)
	f := newClusterFixture(t, managerOptions{}, second)
	b := f.in(second)
	f.createClusterConfig(collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns, second}, MaxAccess: collabv1alpha1.AccessWrite})

	first := f.viaCluster("mia-first", "mia-ai", qcProject, true, false)
	f.create(first)
	f.waitReady(first.Name)
	later := b.viaCluster("mia-later", "mia-ai", qcProject, true, false)
	b.create(later)
	b.waitReady(later.Name)
	// Both were created in the same second, maybe: the owner is then the
	// one whose namespace sorts first. The other names it only as
	// "another namespace".
	owner, ownerF, rest, restF := first, f, later, b
	if strings.Contains(condMessage(f.collaborator(first.Name), collabv1alpha1.ConditionReady), "owns the grant") {
		owner, ownerF, rest, restF = later, b, first, f
	}
	msg := condMessage(restF.collaborator(rest.Name), collabv1alpha1.ConditionReady)
	if !strings.Contains(msg, "another namespace") || strings.Contains(msg, ownerF.ns) || strings.Contains(msg, owner.Name) {
		t.Errorf("the non-owner's message names the owner beyond \"another namespace\": %q", msg)
	}

	ownerF.delete(owner)
	ownerF.waitGone(owner)
	if _, ok := f.qc.Member(qcProject, "mia-ai"); !ok {
		t.Fatal("deleting the owner of two declarations removed the person")
	}
	eventually(t, 10*time.Second, func() error {
		c := restF.collaborator(rest.Name)
		if strings.Contains(condMessage(c, collabv1alpha1.ConditionReady), "owns the grant") {
			return fmt.Errorf("%s has not taken the grant over: %+v", c.Name, c.Status.Conditions)
		}
		return readyErr(c)
	})
	restF.delete(rest)
	restF.waitGone(rest)
	if _, ok := f.qc.Member(qcProject, "mia-ai"); ok {
		t.Error("deleting the last declaration kept the person")
	}
	for _, ns := range []*clusterFixture{f, b} {
		list := &eventsv1.EventList{}
		must(t, k8s.List(context.Background(), list, client.InNamespace(ns.ns)))
		for _, e := range list.Items {
			if other := map[string]string{f.ns: second, second: f.ns}[ns.ns]; strings.Contains(e.Note, other) {
				t.Errorf("an Event in %s names the other namespace: %s", ns.ns, e.Note)
			}
		}
	}
	eventually(t, 10*time.Second, func() error {
		for key, obj := range map[client.ObjectKey]client.Object{
			{Name: f.cpc}: &collabv1alpha1.ClusterProviderConfig{}, {Namespace: f.clusterNS, Name: "qc-org"}: &corev1.Secret{},
		} {
			if err := hasInUse(t, key, obj); err == nil {
				return fmt.Errorf("%T %s still holds the in-use finalizer", obj, key)
			}
		}
		return nil
	})
}

// An AccessPolicy over a ClusterProviderConfig counts another namespace's
// Collaborators through it as declared, removes in Enforce only members
// its own grant covers, and lists the others with a note.
func TestAccessPolicyOverClusterProviderConfig(t *testing.T) {
	second := newNamespace(t)
	f := newClusterFixture(t, managerOptions{}, second)
	b := f.in(second)
	f.addQCUsers("lee-q")
	f.createClusterConfig(
		collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns}, Targets: []string{fmt.Sprint(qcProject)}, Members: []string{"noah", "mia-ai"}},
		collabv1alpha1.ClusterGrant{Namespaces: []string{second}, Targets: []string{fmt.Sprint(qcProject)}},
	)
	b.create(b.viaCluster("mia", "mia-ai", qcProject, false, false))
	b.waitReady("mia")
	must(t, f.qc.SetCollaborator(qcProject, "noah", false, false))
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", false, false))

	p := qcPolicy("team", collabv1alpha1.AccessPolicyEnforce, 5)
	p.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: f.cpc}
	f.create(p)
	got := f.waitPolicy("team", metav1.ConditionFalse, collabv1alpha1.ReasonUnmanagedMembers)
	if err := equalStrings(f.qcMembers(), []string{"lee-q", "mia-ai", qcOwner}); err != nil {
		t.Errorf("members at the provider: %v", err)
	}
	if got.Status.Managed != 1 || len(got.Status.Unmanaged) != 1 {
		t.Fatalf("managed %d, unmanaged %+v; want mia managed and lee-q listed", got.Status.Managed, got.Status.Unmanaged)
	}
	u := got.Status.Unmanaged[0]
	if u.Member != "lee-q" || u.DeclaredElsewhere || !strings.Contains(u.Note, "never removes") {
		t.Errorf("status.unmanaged[0] = %+v, want lee-q with a note", u)
	}
	if msg := policyMessage(got); strings.Contains(msg, second) {
		t.Errorf("the policy's message names the other namespace: %q", msg)
	}
	f.waitEvents("team", "Removed")
}

// An AccessPolicy on a target its namespace is not granted is NotPermitted
// and reads nothing: no QuantConnect call about collaborators at all (the
// ClusterProviderConfig's own credentials check is /authenticate).
func TestAccessPolicyNotPermittedReadsNothing(t *testing.T) {
	f := newClusterFixture(t, managerOptions{})
	f.createClusterConfig(collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns}, Targets: []string{fmt.Sprint(qcProject)}})
	denied := qcPolicy("elsewhere", collabv1alpha1.AccessPolicyEnforce, 5)
	denied.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: f.cpc}
	denied.Spec.QuantConnect.ProjectID = 999
	f.create(denied)
	if msg := policyMessage(f.waitPolicy("elsewhere", metav1.ConditionFalse, collabv1alpha1.ReasonNotPermitted)); !strings.Contains(msg, "project 999") {
		t.Errorf("NotPermitted message %q does not name the project", msg)
	}
	if n := f.qc.CountWhere(isCollaborationCall); n != 0 {
		t.Errorf("a policy that is not permitted made %d calls", n)
	}
}

// Two namespaces using one ClusterProviderConfig share its one credential
// cache entry: once it is built, passes in either namespace read its
// Secret no more.
func TestClusterProviderConfigSharedAcrossNamespaces(t *testing.T) {
	second := newNamespace(t)
	gets := &atomic.Int64{}
	f := newClusterFixture(t, managerOptions{secretGets: gets}, second)
	b := f.in(second)
	f.createClusterConfig(collabv1alpha1.ClusterGrant{Namespaces: []string{f.ns, second}})
	people := map[*clusterFixture]*collabv1alpha1.Collaborator{
		f: f.viaCluster("mia", "mia-ai", qcProject, false, false),
		b: b.viaCluster("noah", "noah", qcProject, false, false),
	}
	for team, c := range people {
		team.create(c)
	}
	for team, c := range people {
		team.waitReady(c.Name)
	}
	before := gets.Load()
	for team, c := range people {
		team.update(c, func() { c.Spec.QuantConnect.Write = true })
	}
	eventually(t, 20*time.Second, func() error {
		for _, c := range people {
			if m, ok := f.qc.Member(qcProject, c.Spec.QuantConnect.UserID); !ok || !m.Write {
				return fmt.Errorf("%s not updated yet", c.Name)
			}
		}
		return nil
	})
	if n := gets.Load() - before; n != 0 {
		t.Errorf("the unchanged Secret was read %d times by the two namespaces' passes", n)
	}
}

// An installation that serves no ClusterProviderConfig refuses every
// reference to one, without a provider call.
func TestClusterProviderConfigNotServed(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	c := qcCollaborator("mia", "anything", "mia-ai", false, false)
	c.Spec.ProviderConfigRef.Kind = collabv1alpha1.KindClusterProviderConfig
	f.create(c)
	got := f.waitCondition("mia", collabv1alpha1.ConditionStalled, metav1.ConditionTrue, collabv1alpha1.ReasonNotPermitted)
	if err := containsAll(condMessage(got, collabv1alpha1.ConditionReady), "serves only the namespaces it watches", "no provider call"); err != nil {
		t.Error(err)
	}
	if n := f.qc.RequestCount(); n != 0 {
		t.Errorf("%d provider calls", n)
	}
}
