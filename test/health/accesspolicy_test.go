package health

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	cv1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// An AccessPolicy's conditions mean the same to Argo CD and kstatus as a
// Collaborator's: Compliant is healthy, unmanaged members and the removal
// limit need a person, a wait or a failed read is work under way.
func TestAccessPolicyHealth(t *testing.T) {
	const (
		msgUnmanaged = "1 member(s) are declared by no Collaborator: lee-q"
		msgWaiting   = "1 Collaborator(s) have no id yet"
	)
	script := readScript(t)
	ctx := context.Background()
	ns := mustCreateNamespace(t, "health-ap")

	for _, tc := range []struct {
		name        string
		conditions  []metav1.Condition
		wantArgo    string
		wantMessage string
		wantKStatus status.Status
	}{
		{
			name: "compliant",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonCompliant, "Every member is declared"),
			},
			wantArgo: "Healthy", wantMessage: "Compliant: Every member is declared", wantKStatus: status.CurrentStatus,
		},
		{
			name: "unmanaged",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonUnmanagedMembers, msgUnmanaged),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonUnmanagedMembers, msgUnmanaged),
			},
			wantArgo: "Degraded", wantMessage: "UnmanagedMembers: 1 member(s) are declared by no Collaborator: lee-q",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "removal-limit",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonRemovalLimit, "7 member(s), more than maxRemovals (5)"),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonRemovalLimit, "7 member(s), more than maxRemovals (5)"),
			},
			wantArgo: "Degraded", wantMessage: "RemovalLimit: 7 member(s), more than maxRemovals (5)",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "waiting",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonWaitingForCollaborators, msgWaiting),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonWaitingForCollaborators, msgWaiting),
			},
			wantArgo: "Progressing", wantMessage: "WaitingForCollaborators: 1 Collaborator(s) have no id yet",
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "provider-down",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonProviderUnavailable, "HTTP 503"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonProviderUnavailable, "HTTP 503"),
			},
			wantArgo: "Progressing", wantMessage: "ProviderUnavailable: HTTP 503", wantKStatus: status.InProgressStatus,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &cv1.AccessPolicy{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns},
				Spec: cv1.AccessPolicySpec{
					ProviderConfigRef: cv1.ProviderConfigReference{Name: "qc"},
					QuantConnect:      &cv1.QuantConnectPolicyTarget{ProjectID: 1},
				},
			}
			if err := cl.Create(ctx, p); err != nil {
				t.Fatalf("creating AccessPolicy %s: %v", tc.name, err)
			}
			p.Status.ObservedGeneration = p.Generation
			p.Status.Conditions = tc.conditions
			if err := cl.Status().Update(ctx, p); err != nil {
				t.Fatalf("writing the status through the status subresource: %v", err)
			}
			assertHealth(t, script, readBack(t, "AccessPolicy", ns, tc.name), tc.wantArgo, tc.wantMessage, tc.wantKStatus)
		})
	}
}
