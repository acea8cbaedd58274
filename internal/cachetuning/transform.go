// Package cachetuning keeps the manager's cache small: it drops what the
// reconcilers never read from every object before it is stored, and shares
// the strings that repeat across cached objects.
package cachetuning

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Transform is the manager cache's DefaultTransform. It drops what
// the reconcilers never read, before an object is stored:
//   - managedFields of every object, which are most of a small object's
//     size;
//   - the annotations of Secrets, which the manager watches by metadata
//     only: kubectl.kubernetes.io/last-applied-configuration holds a
//     Secret's data in clear, and the manager must never hold Secret data
//     it does not use. Labels and finalizers stay (the in-use finalizer is
//     read from this cache);
//   - kubectl.kubernetes.io/last-applied-configuration of every object:
//     `kubectl apply` and Argo CD's client-side apply store a copy of the
//     whole manifest there, which would double each Collaborator's share of
//     the cache. The reconcilers' metadata writes are merge patches computed
//     against the cached object, so they never remove it at the API server.
//
// It also shares one copy of the strings that repeat across cached
// Collaborators and Secrets' metadata (see interner).
func Transform() toolscache.TransformFunc {
	shared := &interner{}
	return func(in any) (any, error) {
		if m, ok := in.(*metav1.PartialObjectMetadata); ok && isSecretMeta(m) {
			m.SetAnnotations(nil)
		}
		o, ok := in.(metav1.Object)
		if !ok {
			return in, nil
		}
		if o.GetManagedFields() != nil {
			o.SetManagedFields(nil)
		}
		if a := o.GetAnnotations(); a != nil {
			if _, found := a[corev1.LastAppliedConfigAnnotation]; found {
				delete(a, corev1.LastAppliedConfigAnnotation)
				if len(a) == 0 {
					o.SetAnnotations(nil)
				}
			}
		}
		switch o := in.(type) {
		case *collabv1alpha1.Collaborator:
			shared.internCollaborator(o)
		case *metav1.PartialObjectMetadata:
			shared.internMeta(&o.TypeMeta, &o.ObjectMeta)
		}
		return in, nil
	}
}

// isSecretMeta reports a Secret's metadata. The metadata informers do not
// always fill TypeMeta, and Secrets are the only kind this manager watches
// by metadata only, so an unnamed kind is taken to be a Secret: the safe
// reading, since it only drops annotations nothing here reads.
func isSecretMeta(m *metav1.PartialObjectMetadata) bool {
	return m.Kind == "" || (m.Kind == "Secret" && (m.APIVersion == "v1" || m.APIVersion == ""))
}
