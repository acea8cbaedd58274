package collaborator_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// A NotPermitted declaration released with Orphan passes no AppHarbor id
// to a permitted declaration of its grant in another namespace: its id is
// no candidate's, as it is no owner's (permit.go), so a namespace outside
// the grants never chooses the collaborator id that another namespace's
// owner then updates, expires or deletes. (Found by TestModelTrust,
// -rapid.seed=739047594724632860: leaveID passed the id of an Orphan
// deletion the narrowed grants no longer permitted.)
func TestNotPermittedReleasePassesNoID(t *testing.T) {
	e, r := newClusterEnvOf(t, collabv1alpha1.ProviderAppHarbor, collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace}})
	via := func(ns string) *collabv1alpha1.Collaborator {
		c := ct.AppHarbor("dana", "dana@example.com", "")
		c.Namespace = ns
		c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"}
		return c
	}
	outside := via("other")
	outside.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	metav1.SetMetaDataAnnotation(&outside.ObjectMeta, collabv1alpha1.ExternalIDAnnotation, "chosen-outside")
	e.Create(outside)
	e.Run(r, outside, 1) // NotPermitted; the finalizer goes on
	// A live permitted declaration with no id of its own (paused: never
	// reconciled).
	inside := via(ct.Namespace)
	metav1.SetMetaDataAnnotation(&inside.ObjectMeta, collabv1alpha1.PausedAnnotation, "true")
	e.Create(inside)

	e.Delete(outside)
	for _, p := range e.Run(r, outside, 1) {
		if ops := p.Ops(); len(ops) > 0 {
			t.Errorf("the NotPermitted Orphan deletion called the provider: %v", ops)
		}
	}
	if e.Get(outside) {
		t.Fatal("the Orphan deletion was not released")
	}
	e.Get(inside)
	if id := inside.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" {
		t.Errorf("the permitted declaration in %s took the id %q of a NotPermitted one", inside.Namespace, id)
	}
}
