package accesspolicy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// The owner and the credentials' own account are never unmanaged, even
// when no Collaborator declares them and they are not exempt; exempt
// matches QuantConnect user ids and AppHarbor user names or ids.
func TestSortMembers(t *testing.T) {
	qc := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		QuantConnect: &collabv1alpha1.QuantConnectPolicyTarget{ProjectID: 1},
		Mode:         collabv1alpha1.AccessPolicyEnforce, Exempt: []string{"CI-Bot"},
	}}
	ah := &collabv1alpha1.AccessPolicy{Spec: collabv1alpha1.AccessPolicySpec{
		AppHarbor: &collabv1alpha1.AppHarborPolicyTarget{Application: "app"},
		Mode:      collabv1alpha1.AccessPolicyEnforce, Exempt: []string{"robot", "u-42"},
	}}
	tests := map[string]struct {
		policy    *collabv1alpha1.AccessPolicy
		members   []provider.Member
		declared  []string
		managed   int
		unmanaged []string
	}{
		"owner not self, unlisted": {
			policy:    qc,
			members:   []provider.Member{{ID: "boss", Label: "boss", Owner: true}, {ID: "lee", Label: "lee"}},
			unmanaged: []string{"lee"},
		},
		"self not owner": {
			policy:  qc,
			members: []provider.Member{{ID: "api-user", Label: "api-user", Self: true}},
		},
		"declared case-insensitively, exempt by user id": {
			policy:   qc,
			members:  []provider.Member{{ID: "Mia-AI", Label: "Mia-AI"}, {ID: "ci-bot", Label: "ci-bot"}},
			declared: []string{"mia-ai"},
			managed:  1,
		},
		"AppHarbor: by collaborator id, exempt by user name or user id": {
			policy: ah,
			members: []provider.Member{
				{ID: "c1", Label: "bob", UserID: "u-1"}, {ID: "c2", Label: "robot", UserID: "u-2"},
				{ID: "c3", Label: "x", UserID: "u-42"}, {ID: "c4", Label: "carol", UserID: "u-4"},
			},
			declared:  []string{"c1"},
			managed:   1,
			unmanaged: []string{"carol"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := declared{ids: map[string]bool{}}
			for _, id := range tc.declared {
				d.ids[id] = true
			}
			got := sortMembers(tc.policy, tc.members, d)
			names := make([]string, 0, len(got.unmanaged))
			for _, m := range got.unmanaged {
				names = append(names, memberName(m))
			}
			if got.managed != tc.managed {
				t.Errorf("managed = %d, want %d", got.managed, tc.managed)
			}
			if diff := cmp.Diff(tc.unmanaged, names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("unmanaged (-want +got):\n%s", diff)
			}
		})
	}
}
