package manager

import (
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/cachetuning"
)

// cacheOptions restricts the manager's cache, and so every watch, to
// namespaces when given (--watch-namespaces); nil means all namespaces.
// The Secrets' metadata watch goes through the same cache, so a namespaced
// install needs no cluster-wide Secret access.
func cacheOptions(namespaces []string) cache.Options {
	// Nothing the reconcilers never read is held: no managedFields, and no
	// annotations of Secrets (see cachetuning.Transform).
	opts := cache.Options{DefaultTransform: cachetuning.Transform()}
	if len(namespaces) == 0 {
		return opts
	}
	opts.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
	for _, ns := range namespaces {
		opts.DefaultNamespaces[ns] = cache.Config{}
	}
	return opts
}

// cacheSynced is the readiness check: ready only once the caches of what
// the reconcilers watch (Collaborators, ProviderConfigs, AccessPolicies
// and the metadata of Secrets) hold a full copy, so a rollout waits for the
// new Pod to be able to work before it stops the old one, and a Pod whose
// RBAC cannot list one of them never turns Ready. It starts those
// informers itself rather than waiting for the controllers to, because on
// a replica that is not the leader the controllers do not start: a standby
// keeps its caches warm and takes over at once. The check never blocks a
// probe. also are further kinds the reconcilers watch (Options.clusterKinds).
func cacheSynced(informers cache.Informers, scheme *runtime.Scheme, also ...client.Object) healthz.Checker {
	secretMeta := &metav1.PartialObjectMetadata{}
	secretMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	watched := append([]client.Object{
		&collabv1alpha1.Collaborator{}, &collabv1alpha1.ProviderConfig{}, &collabv1alpha1.AccessPolicy{}, secretMeta,
	}, also...)
	return func(req *http.Request) error {
		for _, obj := range watched {
			inf, err := informers.GetInformer(req.Context(), obj, cache.BlockUntilSynced(false))
			if err != nil {
				return fmt.Errorf("starting the informer of %T: %w", obj, err)
			}
			if !inf.HasSynced() {
				gvk, _ := apiutil.GVKForObject(obj, scheme)
				return fmt.Errorf("the %s cache has not synced yet", gvk.Kind)
			}
		}
		return nil
	}
}

// clusterKinds are the kinds a manager that serves ClusterProviderConfigs
// watches besides the others: them, and Namespaces' metadata (their labels
// select grants); none for a manager that does not serve them.
func (o Options) clusterKinds() []client.Object {
	if o.clusterResourceNamespace() == "" {
		return nil
	}
	nsMeta := &metav1.PartialObjectMetadata{}
	nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	return []client.Object{&collabv1alpha1.ClusterProviderConfig{}, nsMeta}
}
