package accesspolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Over a ClusterProviderConfig, Enforce removes only the members that the
// policy's own grants cover; the others are listed with a note. Through a
// ProviderConfig (no grants) nothing changes.
func TestLimitToGrants(t *testing.T) {
	qcPolicy := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"},
		QuantConnect:      &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 1},
	}}
	ahPolicy := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"},
		AppHarbor:         &collabv1alpha1.AppHarborPolicyTarget{Application: "app"},
	}}
	member := func(id string) finding { return finding{Member: provider.Member{ID: id, Label: id}} }
	tests := map[string]struct {
		policy    *collabv1alpha1.AccessPolicy
		grants    []collabv1alpha1.ClusterGrant
		removable []string
	}{
		"a ProviderConfig: every member": {
			policy: qcPolicy, removable: []string{"bot-1", "lee-q"},
		},
		"a grant without members: every member": {
			policy: qcPolicy, grants: []collabv1alpha1.ClusterGrant{{}}, removable: []string{"bot-1", "lee-q"},
		},
		"a grant for some members: those": {
			policy: qcPolicy, grants: []collabv1alpha1.ClusterGrant{{Members: []string{"bot-*"}}}, removable: []string{"bot-1"},
		},
		"AppHarbor, members by email: none, the list has no email": {
			policy: ahPolicy, grants: []collabv1alpha1.ClusterGrant{{Members: []string{"*@example.com"}}},
		},
		"AppHarbor, any member: every member": {
			policy: ahPolicy, grants: []collabv1alpha1.ClusterGrant{{Members: []string{"*"}}}, removable: []string{"bot-1", "lee-q"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := sorting{unmanaged: []finding{member("bot-1"), member("lee-q")}}
			s.limitToGrants(tc.policy, tc.grants)
			removable := s.removable()
			got := make([]string, 0, len(removable))
			for _, f := range removable {
				got = append(got, f.ID)
			}
			if diff := cmp.Diff(tc.removable, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("removable (-want +got):\n%s", diff)
			}
			for _, f := range s.kept() {
				if f.note != grantNote("org") {
					t.Errorf("%s kept without the grant's note: %q", f.ID, f.note)
				}
			}
		})
	}
}
