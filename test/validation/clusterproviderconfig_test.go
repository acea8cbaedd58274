package validation

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

const (
	kindClusterProviderConfig = "ClusterProviderConfig"

	msgGrantWhere     = "a grant names namespaces, a namespaceSelector, or both"
	msgQCMaxAccess    = "a quantConnect grant's maxAccess is read, write or write+live"
	msgAHMaxAccess    = "an appHarbor grant's maxAccess is collaborator or administrator"
	msgWTIGrant       = "a webTranslateIt grant takes neither targets"
	msgExpiryNotice   = "expiryNotice must be 0 (off) or at least 1m"
	msgGlobPattern    = `should match '^[^\s?\[\]\\]+$'`
	cpcGrantTrading   = `grants: [{namespaces: [trading]}]`
	cpcQuantConnect   = "quantConnect: {credentialsSecretRef: {name: qc-org}}\n" + cpcGrantTrading
	cpcAppHarbor      = "appHarbor: {credentialsSecretRef: {name: ah-org}}\n" + cpcGrantTrading
	cpcWebTranslateIt = "webTranslateIt: {credentialsSecretRef: {name: wti-org}}\n" + cpcGrantTrading
)

// newClusterObject returns a ClusterProviderConfig with the given spec,
// written as YAML, that is deleted when the test ends: it is
// cluster-scoped, so no namespace takes it along.
func newClusterObject(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	// As newNamespace does: a regenerated CRD reruns these tests.
	if err := testenv.TrackInputs("config/crd/bases"); err != nil {
		t.Fatal(err)
	}
	u := newObject(t, kindClusterProviderConfig, "", spec)
	t.Cleanup(func() {
		if u.GetName() != "" {
			_ = k8sClient.Delete(context.Background(), u)
		}
	})
	return u
}

// TestClusterProviderConfigCreateRejected: the API server refuses invalid
// ClusterProviderConfigs at apply time, naming the field or the rule: a
// ProviderConfig's rules, and grants that say where, on what, for whom
// and up to which access.
func TestClusterProviderConfigCreateRejected(t *testing.T) {
	tests := map[string]struct {
		spec string
		want []string
	}{
		"no provider block": {
			spec: cpcGrantTrading,
			want: []string{"spec", msgExactlyOne},
		},
		"two provider blocks": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
appHarbor: {credentialsSecretRef: {name: s}}
` + cpcGrantTrading,
			want: []string{"spec", msgExactlyOne},
		},
		"no grants": {
			spec: `quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.grants", "Required value"},
		},
		"zero grants": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: []`,
			want: []string{"spec.grants", "at least 1 item"},
		},
		"grant without namespaces or namespaceSelector": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{targets: ["23456789"], maxAccess: write}]`,
			want: []string{"spec.grants[0]", msgGrantWhere},
		},
		"second grant without namespaces or namespaceSelector": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading]}, {members: [mia-ai]}]`,
			want: []string{"spec.grants[1]", msgGrantWhere},
		},
		"empty namespaces list": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: []}]`,
			want: []string{"spec.grants[0].namespaces", "at least 1 item"},
		},
		"empty namespace name": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [""]}]`,
			want: []string{"spec.grants[0].namespaces[0]"},
		},
		"namespace listed twice": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading, trading]}]`,
			want: []string{"spec.grants[0].namespaces[1]", "Duplicate value"},
		},
		"quantConnect maxAccess administrator": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], maxAccess: administrator}]`,
			want: []string{"spec", msgQCMaxAccess},
		},
		"quantConnect maxAccess collaborator in a second grant": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [a], maxAccess: read}, {namespaces: [b], maxAccess: collaborator}]`,
			want: []string{"spec", msgQCMaxAccess},
		},
		"appHarbor maxAccess write": {
			spec: `
appHarbor: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [web], maxAccess: write}]`,
			want: []string{"spec", msgAHMaxAccess},
		},
		"appHarbor maxAccess write+live": {
			spec: `
appHarbor: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [web], maxAccess: write+live}]`,
			want: []string{"spec", msgAHMaxAccess},
		},
		"maxAccess owner": {
			spec: `
appHarbor: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [web], maxAccess: owner}]`,
			want: []string{"spec.grants[0].maxAccess", `"owner"`, `"read"`, `"write+live"`, `"administrator"`},
		},
		"webTranslateIt grant with targets": {
			spec: `
webTranslateIt: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [docs], targets: [acme]}]`,
			want: []string{"spec", msgWTIGrant, "the token selects the organization"},
		},
		"webTranslateIt grant with maxAccess": {
			spec: `
webTranslateIt: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [docs], maxAccess: collaborator}]`,
			want: []string{"spec", msgWTIGrant, "membership has no levels"},
		},
		"target with [": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], targets: ["2345678[0-9]"]}]`,
			want: []string{"spec.grants[0].targets[0]", msgGlobPattern},
		},
		"target with ?": {
			spec: `
appHarbor: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [web], targets: ["my-app?"]}]`,
			want: []string{"spec.grants[0].targets[0]", msgGlobPattern},
		},
		"member with ?": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], members: [mia-ai, "mi?-ai"]}]`,
			want: []string{"spec.grants[0].members[1]", msgGlobPattern},
		},
		"member with whitespace": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], members: ["mia ai"]}]`,
			want: []string{"spec.grants[0].members[0]", msgGlobPattern},
		},
		"member with a backslash": {
			spec: `
webTranslateIt: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [docs], members: ['*\@example.com']}]`,
			want: []string{"spec.grants[0].members[0]", msgGlobPattern},
		},
		"empty member": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], members: [""]}]`,
			want: []string{"spec.grants[0].members[0]"},
		},
		"empty targets list": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
grants: [{namespaces: [trading], targets: []}]`,
			want: []string{"spec.grants[0].targets", "at least 1 item"},
		},
		"baseURL ftp://x": {
			spec: `
quantConnect: {baseURL: "ftp://x", credentialsSecretRef: {name: s}}
` + cpcGrantTrading,
			want: []string{"spec.quantConnect.baseURL", msgBadURL},
		},
		"syncInterval 0s": {
			spec: "syncInterval: 0s\n" + cpcQuantConnect,
			want: []string{"spec.syncInterval", msgSyncMin},
		},
		"expiryNotice 30s": {
			spec: "expiryNotice: 30s\n" + cpcQuantConnect,
			want: []string{"spec.expiryNotice", msgExpiryNotice},
		},
		"missing credentialsSecretRef": {
			spec: "appHarbor: {}\n" + cpcGrantTrading,
			want: []string{"spec.appHarbor.credentialsSecretRef", "Required value"},
		},
		"missing spec": {
			spec: ``,
			want: []string{"spec", "Required value"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newClusterObject(t, tc.spec)
			wantInvalid(t, k8sClient.Create(context.Background(), obj, strict), tc.want)
		})
	}
}

// TestClusterProviderConfigAccepted: the grants API.md shows, and each
// provider's own levels, are accepted as written.
func TestClusterProviderConfigAccepted(t *testing.T) {
	tests := map[string]string{
		"the contract's example": `
syncInterval: 10m
rateLimit: {requestsPerSecond: 10, burst: 20}
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants:
- namespaces: [trading]
  targets: ["23456789"]
  members: ["*@trading.example.com", mia-ai]
  maxAccess: write`,
		"quantConnect every level": `
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants:
- {namespaces: [a], maxAccess: read}
- {namespaces: [b], maxAccess: write}
- {namespaces: [c], maxAccess: write+live}`,
		"appHarbor both roles and a target glob": `
appHarbor: {credentialsSecretRef: {name: ah-org}}
grants:
- {namespaces: [web], targets: ["web-*"], maxAccess: collaborator}
- {namespaces: [ops], targets: ["*"], maxAccess: administrator}`,
		"webTranslateIt with members only": `
webTranslateIt: {credentialsSecretRef: {name: wti-org}}
grants: [{namespaces: [docs], members: ["*@docs.example.com"]}]`,
		"namespaceSelector {} selects every namespace": `
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants: [{namespaceSelector: {}, maxAccess: read}]`,
		"namespaces and a namespaceSelector": `
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants:
- namespaces: [trading]
  namespaceSelector:
    matchLabels: {team.example.com/desk: quant}
    matchExpressions: [{key: environment, operator: NotIn, values: [prod]}]
  targets: ["2345*"]`,
		"expiryNotice 0 turns the notice off": "expiryNotice: 0s\n" + cpcQuantConnect,
		"expiryNotice 1m":                     "expiryNotice: 1m\n" + cpcAppHarbor,
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newClusterObject(t, spec)
			if err := k8sClient.Create(context.Background(), obj, strict); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if obj.GetNamespace() != "" {
				t.Errorf("stored with namespace %q; a ClusterProviderConfig is cluster-scoped", obj.GetNamespace())
			}
		})
	}
}

// TestClusterProviderConfigDefaults: the same defaults as a
// ProviderConfig's; the grants are kept as written.
func TestClusterProviderConfigDefaults(t *testing.T) {
	ctx := context.Background()
	obj := newClusterObject(t, `
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants: [{namespaces: [trading], members: [mia-ai]}]`)
	if err := k8sClient.Create(ctx, obj, strict); err != nil {
		t.Fatal(err)
	}
	got := newObject(t, kindClusterProviderConfig, "", "")
	if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatal(err)
	}
	want := fromYAML(t, `
syncInterval: 10m
expiryNotice: 168h
quantConnect: {baseURL: "https://www.quantconnect.com/api/v2", credentialsSecretRef: {name: qc-org}}
grants: [{namespaces: [trading], members: [mia-ai]}]`)
	if diff := cmp.Diff(normalize(want), normalize(got.Object["spec"])); diff != "" {
		t.Errorf("stored spec (-want +got):\n%s", diff)
	}
	// status is never absent, so kstatus and the Argo CD check read a new
	// object as in progress.
	if og, found, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration"); !found || og != 0 {
		t.Errorf("status.observedGeneration = %d (found %v); want 0 filled in by the API server", og, found)
	}
}

// TestClusterProviderConfigUpdate: as for a ProviderConfig, the provider
// block cannot be switched, while the endpoint, the Secret and the grants
// may change (editing the grants is how a platform team widens or narrows
// what teams may do).
func TestClusterProviderConfigUpdate(t *testing.T) {
	blockSwitched := []string{"spec", msgPCBlock}
	tests := map[string]struct {
		before, after string
		want          []string
	}{
		"switch quantConnect to appHarbor": {
			before: cpcQuantConnect, after: cpcAppHarbor, want: blockSwitched,
		},
		"switch appHarbor to webTranslateIt": {
			before: cpcAppHarbor, after: cpcWebTranslateIt, want: blockSwitched,
		},
		"switch webTranslateIt to quantConnect": {
			before: cpcWebTranslateIt, after: cpcQuantConnect, want: blockSwitched,
		},
		"remove every grant": {
			before: cpcQuantConnect,
			after:  "quantConnect: {credentialsSecretRef: {name: qc-org}}\ngrants: []",
			want:   []string{"spec.grants", "at least 1 item"},
		},
		"a maxAccess of another provider": {
			before: cpcAppHarbor,
			after:  "appHarbor: {credentialsSecretRef: {name: ah-org}}\ngrants: [{namespaces: [trading], maxAccess: read}]",
			want:   []string{"spec", msgAHMaxAccess},
		},
		"grants may change": {
			before: cpcQuantConnect,
			after: `
quantConnect: {credentialsSecretRef: {name: qc-org}}
grants:
- {namespaces: [trading, research], targets: ["23456789"], maxAccess: read}
- {namespaceSelector: {matchLabels: {desk: quant}}, members: ["*@example.com"]}`,
		},
		"baseURL and credentialsSecretRef may change": {
			before: cpcWebTranslateIt,
			after: "webTranslateIt: {baseURL: \"http://127.0.0.1:18083\", credentialsSecretRef: {name: rotated}}\n" +
				cpcGrantTrading,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkUpdate(t, newClusterObject(t, tc.before), tc.after, tc.want)
		})
	}
}

// TestExpiryNotice: 0 turns the notice off, anything else is at least 1m,
// on a ProviderConfig and a ClusterProviderConfig alike; unset it is 168h.
func TestExpiryNotice(t *testing.T) {
	tests := map[string]struct {
		expiryNotice string
		refused      bool
	}{
		"0":     {expiryNotice: "0s"},
		"0m":    {expiryNotice: "0m"},
		"1m":    {expiryNotice: "1m"},
		"60s":   {expiryNotice: "60s"},
		"168h":  {expiryNotice: "168h"},
		"30s":   {expiryNotice: "30s", refused: true},
		"59.9s": {expiryNotice: "59.9s", refused: true},
		"1ns":   {expiryNotice: "1ns", refused: true},
		"-1h":   {expiryNotice: "-1h", refused: true},
		"week":  {expiryNotice: "week", refused: true},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		for _, kind := range []string{kindProviderConfig, kindClusterProviderConfig} {
			t.Run(kind+"/"+name, func(t *testing.T) {
				var obj *unstructured.Unstructured
				spec := `expiryNotice: "` + tc.expiryNotice + `"` + "\n"
				if kind == kindProviderConfig {
					obj = newObject(t, kind, ns, spec+pcQuantConnect)
				} else {
					obj = newClusterObject(t, spec+cpcQuantConnect)
				}
				err := k8sClient.Create(context.Background(), obj, strict)
				if !tc.refused {
					if err != nil {
						t.Fatalf("expiryNotice %s refused: %v", tc.expiryNotice, err)
					}
					return
				}
				wantInvalid(t, err, []string{"spec.expiryNotice"})
			})
		}
	}
}

// TestProviderConfigRefKind: providerConfigRef.kind is ProviderConfig
// (the default) or ClusterProviderConfig, and is as immutable as the name,
// on Collaborators and AccessPolicies alike.
func TestProviderConfigRefKind(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	const (
		qcCollab = "\nquantConnect: {projectID: 23456789, userID: mia-ai}"
		qcPolicy = "\nquantConnect: {projectID: 23456789}"
	)
	bodies := map[string]string{kindCollaborator: qcCollab, kindAccessPolicy: qcPolicy}
	for _, kind := range []string{kindCollaborator, kindAccessPolicy} {
		body := bodies[kind]
		t.Run(kind, func(t *testing.T) {
			t.Run("unknown kind refused", func(t *testing.T) {
				obj := newObject(t, kind, ns, `providerConfigRef: {kind: Secret, name: pc}`+body)
				wantInvalid(t, k8sClient.Create(ctx, obj, strict),
					[]string{"spec.providerConfigRef.kind", `"Secret"`, `"ProviderConfig"`, `"ClusterProviderConfig"`})
			})
			t.Run("defaults to ProviderConfig", func(t *testing.T) {
				obj := newObject(t, kind, ns, `providerConfigRef: {name: pc}`+body)
				if err := k8sClient.Create(ctx, obj, strict); err != nil {
					t.Fatal(err)
				}
				got, _, _ := unstructured.NestedString(obj.Object, "spec", "providerConfigRef", "kind")
				if got != collabv1alpha1.KindProviderConfig {
					t.Errorf("providerConfigRef.kind = %q; want the default %q", got, collabv1alpha1.KindProviderConfig)
				}
				// Writing the default out is no change.
				obj.Object["spec"] = fromYAML(t, `providerConfigRef: {kind: ProviderConfig, name: pc}`+body)
				if err := k8sClient.Update(ctx, obj, strict); err != nil {
					t.Errorf("writing out the default kind refused: %v", err)
				}
			})
			t.Run("ClusterProviderConfig accepted", func(t *testing.T) {
				obj := newObject(t, kind, ns, `providerConfigRef: {kind: ClusterProviderConfig, name: quantconnect-org}`+body)
				if err := k8sClient.Create(ctx, obj, strict); err != nil {
					t.Fatal(err)
				}
			})
			for name, change := range map[string][2]string{
				"ProviderConfig to ClusterProviderConfig": {
					`providerConfigRef: {name: quantconnect}`,
					`providerConfigRef: {kind: ClusterProviderConfig, name: quantconnect}`,
				},
				"ClusterProviderConfig to ProviderConfig": {
					`providerConfigRef: {kind: ClusterProviderConfig, name: quantconnect}`,
					`providerConfigRef: {kind: ProviderConfig, name: quantconnect}`,
				},
				"another ClusterProviderConfig": {
					`providerConfigRef: {kind: ClusterProviderConfig, name: quantconnect}`,
					`providerConfigRef: {kind: ClusterProviderConfig, name: quantconnect-2}`,
				},
			} {
				t.Run("immutable: "+name, func(t *testing.T) {
					obj := newObject(t, kind, ns, change[0]+body)
					if err := k8sClient.Create(ctx, obj, strict); err != nil {
						t.Fatal(err)
					}
					obj.Object["spec"] = fromYAML(t, change[1]+body)
					wantInvalid(t, k8sClient.Update(ctx, obj, strict),
						[]string{"spec.providerConfigRef", "providerConfigRef is immutable"})
				})
			}
		})
	}
}
