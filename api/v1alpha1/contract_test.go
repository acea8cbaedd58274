package v1alpha1

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// jsonPaths lists the dotted paths of every leaf in v's JSON form.
func jsonPaths(t *testing.T, v any) []string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(strings.TrimPrefix(prefix+"."+k, "."), e)
			}
		case []any:
			for _, e := range v {
				walk(prefix+"[]", e)
			}
		default:
			out = append(out, prefix)
		}
	}
	walk("", m)
	sort.Strings(out)
	return out
}

// TestJSONNamesMatchTheContract pins the field names users write
// (shared/API.md) to the Go types, so a renamed Go field or tag cannot
// silently change the API.
func TestJSONNamesMatchTheContract(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))
	tests := map[string]struct {
		obj  any
		want []string
	}{
		"Collaborator spec, every field set": {
			obj: CollaboratorSpec{
				ProviderConfigRef: ProviderConfigReference{Name: "quantconnect"},
				DeletionPolicy:    DeletionOrphan,
				QuantConnect:      &QuantConnectCollaborator{ProjectID: 1, UserID: "mia-ai", LiveControl: true, Write: true},
				AppHarbor:         &AppHarborCollaborator{Application: "my-app", Email: "bob@example.com", Role: AppHarborRoleAdministrator},
				WebTranslateIt:    &WebTranslateItCollaborator{Email: "bob@example.com"},
			},
			want: []string{
				"appHarbor.application", "appHarbor.email", "appHarbor.role",
				"deletionPolicy", "providerConfigRef.name",
				"quantConnect.liveControl", "quantConnect.projectID", "quantConnect.userID", "quantConnect.write",
				"webTranslateIt.email",
			},
		},
		"Collaborator status, every field set": {
			obj: CollaboratorStatus{
				ObservedGeneration: 2,
				Conditions:         []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonAvailable, Message: "m", LastTransitionTime: now}},
				LastSyncTime:       &now,
				Provider:           ProviderQuantConnect, Target: "1", Member: "mia-ai", Access: "write",
				QuantConnect: &QuantConnectObservation{UID: 123, PublicID: "mia-ai", Name: "Mia", Email: "e", Permission: "write", LiveControl: true, Owner: true},
				AppHarbor:    &AppHarborObservation{ID: "1", UserID: "2", UserName: "bob", Role: "collaborator", URL: "u"},
			},
			want: []string{
				"access",
				"appHarbor.id", "appHarbor.role", "appHarbor.url", "appHarbor.userID", "appHarbor.userName",
				"conditions[].lastTransitionTime", "conditions[].message", "conditions[].reason",
				"conditions[].status", "conditions[].type",
				"lastSyncTime", "member", "observedGeneration", "provider",
				"quantConnect.email", "quantConnect.liveControl", "quantConnect.name", "quantConnect.owner",
				"quantConnect.permission", "quantConnect.publicID", "quantConnect.uid",
				"target",
			},
		},
		"ProviderConfig spec, every field set": {
			obj: ProviderConfigSpec{
				SyncInterval:   &metav1.Duration{Duration: 10 * time.Minute},
				QuantConnect:   &QuantConnectConfig{BaseURL: "u", CredentialsSecretRef: SecretReference{Name: "s"}},
				AppHarbor:      &AppHarborConfig{BaseURL: "u", CredentialsSecretRef: SecretReference{Name: "s"}},
				WebTranslateIt: &WebTranslateItConfig{BaseURL: "u", CredentialsSecretRef: SecretReference{Name: "s"}},
			},
			want: []string{
				"appHarbor.baseURL", "appHarbor.credentialsSecretRef.name",
				"quantConnect.baseURL", "quantConnect.credentialsSecretRef.name",
				"syncInterval",
				"webTranslateIt.baseURL", "webTranslateIt.credentialsSecretRef.name",
			},
		},
		"ClusterProviderConfig spec, every field set": {
			obj: ClusterProviderConfigSpec{
				ProviderConfigSpec: ProviderConfigSpec{
					SyncInterval: &metav1.Duration{Duration: 10 * time.Minute},
					ExpiryNotice: &metav1.Duration{Duration: 168 * time.Hour},
					RateLimit:    &RateLimit{RequestsPerSecond: 10, Burst: 20},
					QuantConnect: &QuantConnectConfig{BaseURL: "u", CredentialsSecretRef: SecretReference{Name: "qc-org"}},
				},
				Grants: []ClusterGrant{{
					Namespaces:        []string{"trading"},
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"desk": "quant"}},
					Targets:           []string{"23456789"},
					Members:           []string{"*@trading.example.com", "mia-ai"},
					MaxAccess:         AccessWrite,
				}},
			},
			want: []string{
				"expiryNotice",
				"grants[].maxAccess", "grants[].members[]", "grants[].members[]",
				"grants[].namespaceSelector.matchLabels.desk", "grants[].namespaces[]", "grants[].targets[]",
				"quantConnect.baseURL", "quantConnect.credentialsSecretRef.name",
				"rateLimit.burst", "rateLimit.requestsPerSecond",
				"syncInterval",
			},
		},
		"ClusterProviderConfig status": {
			obj: ClusterProviderConfigStatus{
				ProviderConfigStatus: ProviderConfigStatus{ObservedGeneration: 1, Provider: ProviderQuantConnect},
				Grants:               1,
			},
			want: []string{"grants", "observedGeneration", "provider"},
		},
		"providerConfigRef naming a ClusterProviderConfig": {
			obj:  ProviderConfigReference{Kind: KindClusterProviderConfig, Name: "quantconnect-org"},
			want: []string{"kind", "name"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, jsonPaths(t, tc.obj)); diff != "" {
				t.Errorf("JSON paths (-contract +Go):\n%s", diff)
			}
		})
	}
}

// TestContractNames pins the names that users, backups and GitOps tools
// match on.
func TestContractNames(t *testing.T) {
	got := map[string]string{
		"group":       GroupVersion.Group,
		"version":     GroupVersion.Version,
		"finalizer":   Finalizer,
		"inUse":       InUseFinalizer,
		"externalID":  ExternalIDAnnotation,
		"qcUserID":    QuantConnectUserIDKey,
		"qcAPIToken":  QuantConnectAPITokenKey,
		"ahToken":     AppHarborAccessTokenKey,
		"wtiOrgToken": WebTranslateItOrganizationTokenKey,
		"pcKind":      KindProviderConfig,
		"cpcKind":     KindClusterProviderConfig,
		"notPermit":   ReasonNotPermitted,
		"qcRead":      AccessRead,
		"qcWrite":     AccessWrite,
		"qcWriteLive": AccessWriteLive,
		"ahCollab":    AccessCollaborator,
		"ahAdmin":     AccessAdministrator,
	}
	want := map[string]string{
		"group":       "collab.dev",
		"version":     "v1alpha1",
		"finalizer":   "collab.dev/finalizer",
		"inUse":       "collab.dev/in-use",
		"externalID":  "collab.dev/external-id",
		"qcUserID":    "userID",
		"qcAPIToken":  "apiToken",
		"ahToken":     "accessToken",
		"wtiOrgToken": "organizationToken",
		"pcKind":      "ProviderConfig",
		"cpcKind":     "ClusterProviderConfig",
		"notPermit":   "NotPermitted",
		"qcRead":      "read",
		"qcWrite":     "write",
		"qcWriteLive": "write+live",
		"ahCollab":    "collaborator",
		"ahAdmin":     "administrator",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("contract names (-want +got):\n%s", diff)
	}
}

// TestSchemeRegistersBothKinds: AddToScheme makes every kind and its
// list known, and DeepCopy gives independent objects.
func TestSchemeRegistersBothKinds(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"Collaborator", "CollaboratorList", "ProviderConfig", "ProviderConfigList",
		"AccessPolicy", "AccessPolicyList", "ClusterProviderConfig", "ClusterProviderConfigList"} {
		if !s.Recognizes(GroupVersion.WithKind(kind)) {
			t.Errorf("the scheme does not recognize %s", kind)
		}
	}
	orig := &Collaborator{Spec: CollaboratorSpec{QuantConnect: &QuantConnectCollaborator{ProjectID: 1}}}
	cp := orig.DeepCopy()
	cp.Spec.QuantConnect.ProjectID = 2
	if orig.Spec.QuantConnect.ProjectID != 1 {
		t.Error("DeepCopy shares the quantConnect block with the original")
	}
	cpc := &ClusterProviderConfig{Spec: ClusterProviderConfigSpec{Grants: []ClusterGrant{{Namespaces: []string{"a"}}}}}
	cpcCopy := cpc.DeepCopy()
	cpcCopy.Spec.Grants[0].Namespaces[0] = "b"
	if cpc.Spec.Grants[0].Namespaces[0] != "a" {
		t.Error("DeepCopy shares a ClusterProviderConfig's grants with the original")
	}
}
