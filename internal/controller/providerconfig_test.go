package controller

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// A ProviderConfig is Ready when its Secret exists, holds its keys and,
// where the provider offers a check (QuantConnect), is accepted.
func TestProviderConfigReadiness(t *testing.T) {
	type want struct {
		Status  metav1.ConditionStatus
		Reason  string
		Stalled bool
	}
	tests := map[string]struct {
		secret map[string]string // nil: no Secret
		spec   func(f *fixture) collabv1alpha1.ProviderConfigSpec
		want   want
		// msg is a part of the Ready message a person acts on.
		msg string
	}{
		"QuantConnect accepts the credentials": {
			secret: map[string]string{"userID": fmt.Sprint(qcOwnerUID), "apiToken": qcToken},
			spec:   qcSpec,
			want:   want{Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
			msg:    "QuantConnect accepted them",
		},
		"QuantConnect refuses the credentials": {
			secret: map[string]string{"userID": fmt.Sprint(qcOwnerUID), "apiToken": "qc-not-the-token"},
			spec:   qcSpec,
			want:   want{Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonCredentialsInvalid, Stalled: true},
			msg:    "Fix the credentials Secret",
		},
		"a key is missing": {
			secret: map[string]string{"userID": fmt.Sprint(qcOwnerUID)},
			spec:   qcSpec,
			want:   want{Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonCredentialsInvalid, Stalled: true},
			msg:    "apiToken",
		},
		"the Secret is missing": {
			spec: qcSpec,
			want: want{Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonSecretNotFound},
			msg:  `Secret "creds"`,
		},
		"AppHarbor offers no check": {
			secret: map[string]string{"accessToken": ahToken},
			spec: func(f *fixture) collabv1alpha1.ProviderConfigSpec {
				return collabv1alpha1.ProviderConfigSpec{AppHarbor: &collabv1alpha1.AppHarborConfig{
					BaseURL: f.ahURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}}}
			},
			want: want{Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable},
			msg:  "offers no way to check them",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			startManager(t, f.ns, f.reg, managerOptions{slowRetry: time.Hour})
			if tc.secret != nil {
				f.create(f.secret("creds", tc.secret))
			}
			f.create(&collabv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "pc"}, Spec: tc.spec(f)})
			pc := &collabv1alpha1.ProviderConfig{}
			eventually(t, 10*time.Second, func() error {
				must(t, f.get("pc", pc))
				ready := meta.FindStatusCondition(pc.Status.Conditions, collabv1alpha1.ConditionReady)
				if ready == nil {
					return fmt.Errorf("no Ready condition yet")
				}
				got := want{Status: ready.Status, Reason: ready.Reason,
					Stalled: meta.IsStatusConditionTrue(pc.Status.Conditions, collabv1alpha1.ConditionStalled)}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					return fmt.Errorf("Ready (-want +got):\n%s", diff)
				}
				return containsAll(ready.Message, tc.msg)
			})
			if pc.Status.ObservedGeneration != pc.Generation {
				t.Errorf("observedGeneration %d, want %d", pc.Status.ObservedGeneration, pc.Generation)
			}
		})
	}
}

func qcSpec(f *fixture) collabv1alpha1.ProviderConfigSpec {
	return collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{
		BaseURL: f.qcURL, CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"}}}
}
