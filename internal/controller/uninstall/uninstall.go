// Package uninstall tells the reconcilers when the operator is being
// uninstalled, so that uninstalling never revokes anyone's access.
//
// Uninstalling (kubectl delete -f install.yaml, make undeploy, deleting the
// CRDs after helm uninstall) deletes the Collaborator CRD, and the API
// server then deletes every Collaborator. Without this package each of
// those deletes would run the provider's delete: uninstalling would remove
// everyone from every project. Instead, while the Collaborator CRD has a
// deletionTimestamp, every Collaborator is released as Orphan would be (no
// provider call), AccessPolicies remove nobody, and the collab.dev/in-use
// finalizers leave ProviderConfigs and Secrets, so nothing is left
// Terminating. To revoke everyone, delete the Collaborators first.
//
// The CRD is watched by its metadata only, and only that one CRD (a field
// selector on its name), so the manager caches nothing else and needs
// get, list and watch on that one name (the RBAC marker below). A manager
// that may not read it (a namespaced install without its ClusterRole) logs
// so once and behaves as before: a deleted Collaborator is revoked. Not
// knowing must never release someone whose access should end.
package uninstall

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// CRDName is the CustomResourceDefinition whose deletion means the operator
// is being uninstalled.
const CRDName = "collaborators.collab.dev"

// crdResource is the CustomResourceDefinition resource.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch,resourceNames=collaborators.collab.dev

// Watch follows one CRD's metadata and says whether it is being deleted.
// A nil *Watch is valid and never says so: reconcilers built without one
// (unit tests) behave as before.
type Watch struct {
	name     string
	client   metadata.Interface
	informer toolscache.SharedIndexInformer
	log      logr.Logger

	// disabled is set when the manager may not read the CRD.
	disabled atomic.Bool

	mu   sync.Mutex
	subs []subscription
}

// subscription is one controller's queue and what to put in it when the
// uninstall begins.
type subscription struct {
	ctx   context.Context
	queue workqueue.TypedRateLimitingInterface[reconcile.Request]
	all   func(context.Context) ([]reconcile.Request, error)
}

// New builds a Watch of the CRD named name (CRDName in the manager; tests
// may name another). Add it to the manager (it is a Runnable that runs on
// every replica, so a standby takes over with the state known).
func New(cfg *rest.Config, httpClient *http.Client, name string, log logr.Logger) (*Watch, error) {
	md, err := metadata.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("building a metadata client for CustomResourceDefinitions: %w", err)
	}
	return NewFromClient(md, name, log), nil
}

// NewFromClient builds a Watch of the CRD named name that reads through
// md, a metadata client (a fake one in tests).
func NewFromClient(md metadata.Interface, name string, log logr.Logger) *Watch {
	w := &Watch{name: name, client: md, log: log}
	w.informer = metadatainformer.NewFilteredMetadataInformer(md, crdResource, metav1.NamespaceAll, 0, toolscache.Indexers{},
		func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}).Informer()
	_ = w.informer.SetTransform(func(o any) (any, error) {
		if m, ok := o.(*metav1.PartialObjectMetadata); ok {
			m.ManagedFields = nil
		}
		return o, nil
	})
	_, _ = w.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if terminating(o) {
				w.begin()
			}
		},
		UpdateFunc: func(old, o any) {
			if terminating(o) && !terminating(old) {
				w.begin()
			}
		},
	})
	return w
}

// Name is the CRD the Watch follows.
func (w *Watch) Name() string {
	if w == nil {
		return CRDName
	}
	return w.name
}

// Start runs the watch until ctx ends. A manager that may not read the CRD
// logs so once and carries on as before.
func (w *Watch) Start(ctx context.Context) error {
	_, err := w.client.Resource(crdResource).Get(ctx, w.name, metav1.GetOptions{})
	if isRefused(err) {
		w.disabled.Store(true)
		w.log.Info("Cannot read the CustomResourceDefinition, so an uninstall cannot be told from a delete: "+
			"deleting the CRD will revoke every Collaborator's access like deleting them would. "+
			"Grant get, list and watch on customresourcedefinitions named "+w.name+" (the chart's "+
			"rbac.readCollaboratorCRD) to have uninstalling leave everyone's access in place",
			"customResourceDefinition", w.name, "error", err.Error())
		<-ctx.Done()
		return nil
	}
	w.informer.RunWithContext(ctx)
	return nil
}

// HasSynced reports whether the watch's cache holds the CRD's state; it
// stays false for a manager that may not read the CRD.
func (w *Watch) HasSynced() bool {
	return w != nil && !w.disabled.Load() && w.informer.HasSynced()
}

// NeedLeaderElection is false: standbys keep the state warm.
func (w *Watch) NeedLeaderElection() bool { return false }

// Uninstalling reports, from the watch's cache, whether the CRD is being
// deleted. It is cheap, and never true unless the CRD really has a
// deletionTimestamp; it may lag the API server, so a decision that would
// otherwise revoke someone asks Confirm instead.
func (w *Watch) Uninstalling() bool {
	if w == nil || w.disabled.Load() {
		return false
	}
	o, exists, err := w.informer.GetStore().GetByKey(w.name)
	return err == nil && exists && terminating(o)
}

// Confirm reports whether the CRD is being deleted, from the cache when it
// says so and otherwise from the API server. The API server deletes the
// Collaborators only after the CRD got its deletionTimestamp, but the two
// reach the manager through separate watches: a Collaborator deleted by the
// uninstall can arrive before the cache shows the CRD deleted, and a
// revoke cannot be undone. One metadata read per revoke settles it.
//
// Not knowing never releases. A manager that could not read the CRD from
// the start behaves as before: not uninstalling, revoke. A CRD not found
// under its name is not being deleted. Any other failure is returned, so
// that the caller neither revokes nor releases but tries again; that
// includes a refusal after the CRD could be read at start, which is what
// an uninstall that removes the manager's RBAC along with the CRD looks
// like (the provider client, built earlier, could still revoke).
func (w *Watch) Confirm(ctx context.Context) (bool, error) {
	if w == nil || w.disabled.Load() {
		return false, nil
	}
	if w.Uninstalling() {
		return true, nil
	}
	m, err := w.client.Resource(crdResource).Get(ctx, w.name, metav1.GetOptions{})
	switch {
	case err == nil:
		return m.DeletionTimestamp != nil, nil
	case apierrors.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("reading CustomResourceDefinition %s: %w", w.name, err)
	}
}

// Reason says why a Collaborator was left at its provider, for its Event.
func (w *Watch) Reason() string {
	return "the CustomResourceDefinition " + w.Name() + " is being deleted (the operator is being uninstalled), " +
		"and uninstalling never revokes anyone's access. To revoke everyone, delete the Collaborators first " +
		"and uninstall once they are gone"
}

// Source is a watch source for a controller: when the uninstall begins,
// it puts every object all lists into the controller's queue, so that each
// is handled at once rather than at its next retry. A nil Watch's source
// never fires.
func (w *Watch) Source(all func(context.Context) ([]reconcile.Request, error)) source.Source {
	return source.Func(func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		if w == nil {
			return nil
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.subs = append(w.subs, subscription{ctx: ctx, queue: q, all: all})
		return nil
	})
}

// begin queues everything every subscribed controller handles. It runs in
// the informer's event handler, which must not wait on other caches: the
// lists run apart.
func (w *Watch) begin() {
	w.log.Info("The CustomResourceDefinition is being deleted: the operator is being uninstalled. "+
		"Every Collaborator is released without calling its provider, and the collab.dev/in-use finalizers are removed",
		"customResourceDefinition", w.name)
	w.mu.Lock()
	subs := append([]subscription(nil), w.subs...)
	w.mu.Unlock()
	for _, s := range subs {
		go func() {
			if s.ctx.Err() != nil {
				return
			}
			reqs, err := s.all(s.ctx)
			if err != nil {
				w.log.Error(err, "Listing the objects to release for the uninstall failed; they are released at their next pass")
			}
			for _, r := range reqs {
				s.queue.Add(r)
			}
		}()
	}
}

// terminating reports an object with a deletionTimestamp.
func terminating(o any) bool {
	if d, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	m, ok := o.(metav1.Object)
	return ok && m.GetDeletionTimestamp() != nil
}

// isRefused reports an error that says the manager may not read the CRD.
func isRefused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

// Objects lists the objects of list that carry finalizer, as requests: what
// a controller must see when the uninstall begins (the others hold nothing
// up). list is filled from r, usually the manager's cache.
func Objects(r client.Reader, list client.ObjectList, finalizer string) func(context.Context) ([]reconcile.Request, error) {
	return func(ctx context.Context) ([]reconcile.Request, error) {
		l, ok := list.DeepCopyObject().(client.ObjectList)
		if !ok {
			return nil, fmt.Errorf("copying %T", list)
		}
		if err := r.List(ctx, l, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		var reqs []reconcile.Request
		err := meta.EachListItem(l, func(item runtime.Object) error {
			if o, ok := item.(client.Object); ok && controllerutil.ContainsFinalizer(o, finalizer) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)})
			}
			return nil
		})
		return reqs, err
	}
}
