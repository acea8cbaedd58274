package health

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	cv1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// A ClusterProviderConfig's conditions mean what a ProviderConfig's do, to
// Argo CD and kstatus alike; it is cluster-scoped, which neither minds.
func TestClusterProviderConfigHealth(t *testing.T) {
	script := readScript(t)
	ctx := context.Background()

	for _, tc := range []struct {
		name        string
		conditions  []metav1.Condition
		wantArgo    string
		wantMessage string
		wantKStatus status.Status
	}{
		{
			name:        "no-status",
			wantArgo:    "Progressing",
			wantMessage: "Waiting for the operator to observe generation 1",
			// The API server fills in status.observedGeneration 0 (the
			// CRD's default), so Flux too waits for the operator.
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "ready",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
					"QuantConnect accepted the credentials"),
			},
			wantArgo:    "Healthy",
			wantMessage: "Available: QuantConnect accepted the credentials",
			wantKStatus: status.CurrentStatus,
		},
		{
			name: "secret-missing",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonSecretNotFound,
					"Secret collaborator-operator-system/qc-org not found"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonSecretNotFound,
					"Secret collaborator-operator-system/qc-org not found; create it, the operator retries"),
			},
			wantArgo:    "Progressing",
			wantMessage: "SecretNotFound: Secret collaborator-operator-system/qc-org not found; create it, the operator retries",
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "credentials-refused",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonCredentialsInvalid,
					"QuantConnect refused the credentials"),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonCredentialsInvalid,
					"QuantConnect refused the credentials"),
			},
			wantArgo:    "Degraded",
			wantMessage: "CredentialsInvalid: QuantConnect refused the credentials",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "base-url-not-allowed",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonBaseURLNotAllowed, "baseURL is not allowed"),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonBaseURLNotAllowed, "baseURL is not allowed"),
			},
			wantArgo:    "Degraded",
			wantMessage: "BaseURLNotAllowed: baseURL is not allowed",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "deleting-in-use",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
					"QuantConnect accepted the credentials"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonInUse,
					"Deletion waits until no Collaborator uses this ClusterProviderConfig; still used by trading/mia"),
			},
			wantArgo: "Progressing",
			wantMessage: "InUse: Deletion waits until no Collaborator uses this ClusterProviderConfig; " +
				"still used by trading/mia",
			wantKStatus: status.InProgressStatus,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpc := &cv1.ClusterProviderConfig{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "health-cpc-" + tc.name + "-"},
				Spec: cv1.ClusterProviderConfigSpec{
					ProviderConfigSpec: cv1.ProviderConfigSpec{QuantConnect: &cv1.QuantConnectConfig{
						CredentialsSecretRef: cv1.SecretReference{Name: "qc-org"},
					}},
					Grants: []cv1.ClusterGrant{{Namespaces: []string{"trading"}, MaxAccess: cv1.AccessWrite}},
				},
			}
			if err := cl.Create(ctx, cpc); err != nil {
				t.Fatalf("creating ClusterProviderConfig %s: %v", tc.name, err)
			}
			t.Cleanup(func() { _ = cl.Delete(context.Background(), cpc) })
			if tc.conditions != nil {
				cpc.Status.ObservedGeneration = cpc.Generation
				cpc.Status.Conditions = tc.conditions
				cpc.Status.Grants = 1
				if err := cl.Status().Update(ctx, cpc); err != nil {
					t.Fatalf("writing the status through the status subresource: %v", err)
				}
			}
			u := readBack(t, "ClusterProviderConfig", "", cpc.Name)
			if u.GetNamespace() != "" {
				t.Fatalf("read back with namespace %q; a ClusterProviderConfig is cluster-scoped", u.GetNamespace())
			}
			assertHealth(t, script, u, tc.wantArgo, tc.wantMessage, tc.wantKStatus)
		})
	}
}
