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

	cases := append([]credentialsCase{{
		name:        "no-status",
		wantArgo:    "Progressing",
		wantMessage: "Waiting for the operator to observe generation 1",
		// The API server fills in status.observedGeneration 0 (the CRD's
		// default), so Flux too waits for the operator.
		wantKStatus: status.InProgressStatus,
	}}, credentialsCases("ClusterProviderConfig")...)
	for _, tc := range cases {
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
