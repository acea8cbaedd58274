package metrics

import (
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// ClusterProviderConfigs publish their conditions with an empty namespace,
// and only from a collector told they are served.
func TestStatusCollectorClusterProviderConfigs(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cpc := &collabv1alpha1.ClusterProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "qc-org"},
		Spec: collabv1alpha1.ClusterProviderConfigSpec{
			ProviderConfigSpec: collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{}},
		},
		Status: collabv1alpha1.ClusterProviderConfigStatus{ProviderConfigStatus: collabv1alpha1.ProviderConfigStatus{
			Conditions: []metav1.Condition{cond(collabv1alpha1.ConditionReady, metav1.ConditionTrue, collabv1alpha1.ReasonAvailable)},
		}},
	}
	cl := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cpc).WithStatusSubresource(cpc).Build()
	tests := map[string]struct {
		served bool
		want   string
	}{
		"served": {served: true, want: `
# HELP collab_status_condition The conditions of Collaborators, ProviderConfigs, ClusterProviderConfigs and AccessPolicies as last written to their status: 1 for each condition an object has, by kind, namespace, name, provider, condition, status and reason.
# TYPE collab_status_condition gauge
collab_status_condition{condition="Ready",kind="ClusterProviderConfig",name="qc-org",namespace="",provider="QuantConnect",reason="Available",status="True"} 1
`},
		"not served": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := &StatusCollector{Reader: cl, Log: logr.Discard(), ClusterProviderConfigs: tc.served}
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want), StatusConditionName); err != nil {
				t.Error(err)
			}
		})
	}
}
