package validation

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestDefaults: the API server fills in the defaults that the contract
// promises, so they are visible in the stored object (kubectl get -o yaml)
// rather than only implied by the controller.
func TestDefaults(t *testing.T) {
	tests := map[string]struct {
		kind string
		spec string
		want string
	}{
		"Collaborator quantConnect": {
			kind: kindCollaborator,
			spec: specQuantConnect,
			want: `
providerConfigRef: {kind: ProviderConfig, name: pc}
deletionPolicy: Delete
managementPolicy: Full
quantConnect: {projectID: 23456789, userID: mia-ai, liveControl: false, write: false}`,
		},
		"Collaborator appHarbor": {
			kind: kindCollaborator,
			spec: specAppHarbor,
			want: `
providerConfigRef: {kind: ProviderConfig, name: pc}
deletionPolicy: Delete
managementPolicy: Full
appHarbor: {application: my-app, email: bob@example.com, role: collaborator}`,
		},
		"Collaborator webTranslateIt": {
			kind: kindCollaborator,
			spec: specWebTranslateIt,
			want: `
providerConfigRef: {kind: ProviderConfig, name: pc}
deletionPolicy: Delete
managementPolicy: Full
webTranslateIt: {email: carol@example.com}`,
		},
		"Collaborator explicit values are kept": {
			kind: kindCollaborator,
			spec: `
providerConfigRef: {kind: ProviderConfig, name: pc}
deletionPolicy: Orphan
managementPolicy: Observe
expiresAt: "2026-12-31T00:00:00Z"
appHarbor: {application: my-app, email: bob@example.com, role: administrator}`,
			want: `
providerConfigRef: {kind: ProviderConfig, name: pc}
deletionPolicy: Orphan
managementPolicy: Observe
expiresAt: "2026-12-31T00:00:00Z"
appHarbor: {application: my-app, email: bob@example.com, role: administrator}`,
		},
		"ProviderConfig quantConnect": {
			kind: kindProviderConfig,
			spec: `quantConnect: {credentialsSecretRef: {name: s}}`,
			want: `
syncInterval: 10m
expiryNotice: 168h
quantConnect: {baseURL: "https://www.quantconnect.com/api/v2", credentialsSecretRef: {name: s}}`,
		},
		"ProviderConfig appHarbor": {
			kind: kindProviderConfig,
			spec: `appHarbor: {credentialsSecretRef: {name: s}}`,
			want: `
syncInterval: 10m
expiryNotice: 168h
appHarbor: {baseURL: "https://appharbor.com", credentialsSecretRef: {name: s}}`,
		},
		"ProviderConfig webTranslateIt": {
			kind: kindProviderConfig,
			spec: `webTranslateIt: {credentialsSecretRef: {name: s}}`,
			want: `
syncInterval: 10m
expiryNotice: 168h
webTranslateIt: {baseURL: "https://webtranslateit.com", credentialsSecretRef: {name: s}}`,
		},
		"ProviderConfig explicit values are kept": {
			kind: kindProviderConfig,
			spec: `
syncInterval: 30s
expiryNotice: 0s
webTranslateIt: {baseURL: "http://127.0.0.1:18083", credentialsSecretRef: {name: s}}`,
			want: `
syncInterval: 30s
expiryNotice: 0s
webTranslateIt: {baseURL: "http://127.0.0.1:18083", credentialsSecretRef: {name: s}}`,
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			obj := newObject(t, tc.kind, ns, tc.spec)
			if err := k8sClient.Create(ctx, obj, strict); err != nil {
				t.Fatalf("creating: %v", err)
			}
			got := newObject(t, tc.kind, ns, "")
			if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatalf("reading back: %v", err)
			}
			// YAML numbers parse as float64 or int64 depending on the
			// decoder; compare through JSON-equivalent values.
			want := fromYAML(t, tc.want)
			if diff := cmp.Diff(normalize(want), normalize(got.Object["spec"])); diff != "" {
				t.Errorf("stored spec (-want +got):\n%s", diff)
			}
		})
	}
}

// normalize turns every number into float64 so that maps decoded by
// different decoders compare equal.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case int64:
		return float64(v)
	case int:
		return float64(v)
	default:
		return v
	}
}
