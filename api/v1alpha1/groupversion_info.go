// Package v1alpha1 contains the collab.dev/v1alpha1 API: Collaborator, one
// person's access to one object at a SaaS provider, and ProviderConfig,
// where that provider is and which Secret logs in to it.
// +kubebuilder:object:generate=true
// +groupName=collab.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "collab.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme.
	// It is apimachinery's, not controller-runtime's, so that importing the
	// API types pulls in no controller machinery.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Collaborator{}, &CollaboratorList{}, &ProviderConfig{}, &ProviderConfigList{},
		&AccessPolicy{}, &AccessPolicyList{}, &ClusterProviderConfig{}, &ClusterProviderConfigList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
