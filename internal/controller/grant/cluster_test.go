package grant_test

import (
	"testing"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
)

// cluster is qc through the ClusterProviderConfig named name.
func cluster(c collabv1alpha1.Collaborator, name string) collabv1alpha1.Collaborator {
	c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: name}
	return c
}

// Through a ClusterProviderConfig the grant key has no namespace: one
// person on one target is one grant from every namespace. The kind is part
// of the key: a ProviderConfig named like the ClusterProviderConfig is
// other credentials.
func TestKeyOfClusterProviderConfig(t *testing.T) {
	base := cluster(qc("team", "a", 0, "Mia", true), "qc")
	tests := map[string]struct {
		other collabv1alpha1.Collaborator
		same  bool
	}{
		"another namespace":                   {other: cluster(qc("other", "b", 0, "mia", false), "qc"), same: true},
		"another ClusterProviderConfig":       {other: cluster(qc("other", "b", 0, "Mia", true), "qc2")},
		"a ProviderConfig of the same name":   {other: qc("team", "b", 0, "Mia", true)},
		"another member in another namespace": {other: cluster(qc("other", "b", 0, "noah", true), "qc")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := grant.Key(&base) == grant.Key(&tc.other); got != tc.same {
				t.Errorf("same grant = %v, want %v", got, tc.same)
			}
		})
	}
}
