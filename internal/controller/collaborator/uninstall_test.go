package collaborator_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	metadatafake "k8s.io/client-go/metadata/fake"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/collaborator"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/controller/uninstall"
)

// While the Collaborator CRD is being deleted, a Collaborator the API
// server has not deleted yet gets no normal pass: no create, no expiry
// removal, no status write. Uninstalling never revokes, also for an
// expiry that falls due in that moment.
func TestNoNormalPassWhileUninstalling(t *testing.T) {
	tests := map[string]struct {
		// expiresIn is the expiry relative to now; 0 means none.
		expiresIn time.Duration
	}{
		"expiry due":    {expiresIn: -time.Second},
		"a new grant":   {},
		"expiring soon": {expiresIn: time.Hour},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := ct.New(t)
			r := &collaborator.Reconciler{Client: e.Client, Connector: e.Connector, Recorder: e.Recorder,
				Uninstall: uninstalling(t)}
			c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
			e.Seed(c)
			if tc.expiresIn != 0 {
				at := metav1.NewTime(time.Now().Add(tc.expiresIn))
				c.Spec.ExpiresAt = &at
			}
			e.Create(c)
			e.ResetWrites()
			pass := e.Reconcile(r, c)
			if pass.Err != nil {
				t.Fatalf("pass failed: %v", pass.Err)
			}
			if ops := pass.Ops(); len(ops) != 0 {
				t.Errorf("provider calls during an uninstall: %v", ops)
			}
			if !pass.Quiet() {
				t.Errorf("API-server writes during an uninstall: %v", pass.Writes)
			}
			if !e.Holds(c) {
				t.Error("the person was removed during an uninstall")
			}
		})
	}
}

// uninstalling returns a started Watch whose CRD is being deleted.
func uninstalling(t *testing.T) *uninstall.Watch {
	t.Helper()
	crd := &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: uninstall.CRDName, DeletionTimestamp: &metav1.Time{Time: time.Now()},
			Finalizers: []string{"customresourcecleanup.apiextensions.k8s.io"}},
	}
	s := metadatafake.NewTestScheme()
	gv := schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}
	s.AddKnownTypeWithName(gv.WithKind("CustomResourceDefinition"), &metav1.PartialObjectMetadata{})
	s.AddKnownTypeWithName(gv.WithKind("CustomResourceDefinitionList"), &metav1.PartialObjectMetadataList{})
	w := uninstall.NewFromClient(metadatafake.NewSimpleMetadataClient(s, crd), uninstall.CRDName, logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for !w.Uninstalling() {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not see the CRD being deleted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return w
}
