package uninstall

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func crd(name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Finalizers: []string{"customresourcecleanup.apiextensions.k8s.io"}},
	}
}

func fakeClient(objs ...runtime.Object) *metadatafake.FakeMetadataClient {
	s := metadatafake.NewTestScheme()
	gv := crdResource.GroupVersion()
	s.AddKnownTypeWithName(gv.WithKind("CustomResourceDefinition"), &metav1.PartialObjectMetadata{})
	s.AddKnownTypeWithName(gv.WithKind("CustomResourceDefinitionList"), &metav1.PartialObjectMetadataList{})
	return metadatafake.NewSimpleMetadataClient(s, objs...)
}

// run starts w and waits until its cache has synced.
func run(t *testing.T, w *Watch) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for !w.informer.HasSynced() && !w.disabled.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the watch did not sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A nil Watch, as in reconcilers built without one, never says uninstalling
// and its source never fires.
func TestNilWatch(t *testing.T) {
	var w *Watch
	if w.Uninstalling() {
		t.Error("a nil Watch says uninstalling")
	}
	if ok, err := w.Confirm(context.Background()); ok || err != nil {
		t.Errorf("Confirm = %v, %v; want false, nil", ok, err)
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	if err := w.Source(nil).Start(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// The deletion of the CRD is seen from the cache, and every subscribed
// queue gets what its list returns, once.
func TestDeletionSeenAndQueued(t *testing.T) {
	md := fakeClient(crd(CRDName))
	w := NewFromClient(md, CRDName, logr.Discard())
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	all := func(context.Context) ([]reconcile.Request, error) {
		return []reconcile.Request{
			{NamespacedName: types.NamespacedName{Namespace: "team", Name: "mia"}},
			{NamespacedName: types.NamespacedName{Namespace: "team", Name: "noah"}},
		}, nil
	}
	ctx := t.Context()
	if err := w.Source(all).Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	run(t, w)
	if w.Uninstalling() {
		t.Fatal("uninstalling before the CRD was deleted")
	}
	if ok, err := w.Confirm(ctx); ok || err != nil {
		t.Fatalf("Confirm = %v, %v before the CRD was deleted", ok, err)
	}
	// The API server sets a deletionTimestamp (the CRD keeps its cleanup
	// finalizer until its objects are gone).
	gone := crd(CRDName)
	now := metav1.Now()
	gone.DeletionTimestamp = &now
	if err := md.Tracker().Update(crdResource, gone, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Uninstalling", w.Uninstalling)
	if ok, err := w.Confirm(ctx); !ok || err != nil {
		t.Errorf("Confirm = %v, %v; want true", ok, err)
	}
	eventually(t, "the queue filled", func() bool { return q.Len() == 2 })
}

// Confirm asks the API server when the cache does not (yet) show the
// deletion: a Collaborator deleted by the uninstall may arrive first.
func TestConfirmReadsTheAPIServer(t *testing.T) {
	gone := crd(CRDName)
	now := metav1.Now()
	gone.DeletionTimestamp = &now
	w := NewFromClient(fakeClient(gone), CRDName, logr.Discard()) // not started: an empty cache
	if w.Uninstalling() {
		t.Fatal("an empty cache says uninstalling")
	}
	if ok, err := w.Confirm(context.Background()); !ok || err != nil {
		t.Errorf("Confirm = %v, %v; want true from the API server", ok, err)
	}
}

// Not knowing never releases: a missing CRD means no uninstall, and any
// other failure is returned, to be retried (neither revoke nor release). A
// refusal after the watch started is one: the uninstall may be removing
// the manager's RBAC.
func TestConfirmFailsClosed(t *testing.T) {
	gr := schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}
	for name, tc := range map[string]struct {
		err     error
		wantErr bool
	}{
		"forbidden": {err: apierrors.NewForbidden(gr, CRDName, errors.New("no RBAC")), wantErr: true},
		"not found": {err: apierrors.NewNotFound(gr, CRDName)},
		"timeout":   {err: apierrors.NewServerTimeout(gr, "get", 1), wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			md := fakeClient()
			md.PrependReactor("get", "customresourcedefinitions", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			w := NewFromClient(md, CRDName, logr.Discard())
			ok, err := w.Confirm(context.Background())
			if ok || (err != nil) != tc.wantErr {
				t.Errorf("Confirm = %v, %v; want false and an error: %v", ok, err, tc.wantErr)
			}
		})
	}
}

// A manager that may not read the CRD behaves as before: it says so once,
// never says uninstalling, and makes no further reads.
func TestRefusedDisables(t *testing.T) {
	gr := schema.GroupResource{Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}
	md := fakeClient()
	gets := 0
	md.PrependReactor("*", "customresourcedefinitions", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gets++
		return true, nil, apierrors.NewForbidden(gr, CRDName, errors.New("no RBAC"))
	})
	w := NewFromClient(md, CRDName, logr.Discard())
	run(t, w)
	if !w.disabled.Load() {
		t.Fatal("not disabled after a refusal")
	}
	if ok, err := w.Confirm(context.Background()); ok || err != nil || w.Uninstalling() {
		t.Errorf("Confirm = %v, %v, Uninstalling = %v; want false", ok, err, w.Uninstalling())
	}
	if gets != 1 {
		t.Errorf("%d requests; want the one probe", gets)
	}
}
