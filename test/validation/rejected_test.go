package validation

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const (
	kindCollaborator   = "Collaborator"
	kindProviderConfig = "ProviderConfig"

	msgExactlyOne = "exactly one of quantConnect, appHarbor or webTranslateIt must be set"
	msgBadURL     = "baseURL must be an absolute http or https URL"
	msgSyncMin    = "syncInterval must be at least 1s"
	msgPCBlock    = "the provider block (quantConnect, appHarbor or webTranslateIt) cannot be switched"
	msgPCBlockWhy = "the access of the Collaborators using these credentials lives at that provider"
	msgPCBlockFix = "Create another object for another provider"
)

// TestCollaboratorCreateRejected: the API server refuses invalid
// Collaborators at apply time, naming the field or the rule.
func TestCollaboratorCreateRejected(t *testing.T) {
	tests := map[string]struct {
		spec string
		want []string
	}{
		"no provider block": {
			spec: `providerConfigRef: {name: pc}`,
			want: []string{"spec", msgExactlyOne},
		},
		"two provider blocks": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1, userID: mia-ai}
webTranslateIt: {email: bob@example.com}`,
			want: []string{"spec", msgExactlyOne},
		},
		"all three provider blocks": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1, userID: mia-ai}
appHarbor: {application: my-app, email: bob@example.com}
webTranslateIt: {email: bob@example.com}`,
			want: []string{"spec", msgExactlyOne},
		},
		"expiresAt not a timestamp": {
			spec: `
providerConfigRef: {name: pc}
expiresAt: next-quarter
quantConnect: {projectID: 1, userID: mia-ai}`,
			want: []string{"spec.expiresAt", "next-quarter"},
		},
		"unknown managementPolicy": {
			spec: `
providerConfigRef: {name: pc}
managementPolicy: Sometimes
quantConnect: {projectID: 1, userID: mia-ai}`,
			want: []string{"spec.managementPolicy", "Sometimes", "Full", "Observe"},
		},
		"appHarbor email not an email": {
			spec: `
providerConfigRef: {name: pc}
appHarbor: {application: my-app, email: not-an-email}`,
			want: []string{"spec.appHarbor.email", "not-an-email", "email"},
		},
		"webTranslateIt email not an email": {
			spec: `
providerConfigRef: {name: pc}
webTranslateIt: {email: not-an-email}`,
			want: []string{"spec.webTranslateIt.email", "not-an-email", "email"},
		},
		"projectID 0": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 0, userID: mia-ai}`,
			want: []string{"spec.quantConnect.projectID", "greater than or equal to 1"},
		},
		"projectID -1": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: -1, userID: mia-ai}`,
			want: []string{"spec.quantConnect.projectID", "greater than or equal to 1"},
		},
		"projectID missing": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {userID: mia-ai}`,
			want: []string{"spec.quantConnect.projectID", "Required value"},
		},
		"userID empty": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1, userID: ""}`,
			want: []string{"spec.quantConnect.userID"},
		},
		"application missing": {
			spec: `
providerConfigRef: {name: pc}
appHarbor: {email: bob@example.com}`,
			want: []string{"spec.appHarbor.application", "Required value"},
		},
		"role owner": {
			spec: `
providerConfigRef: {name: pc}
appHarbor: {application: my-app, email: bob@example.com, role: owner}`,
			want: []string{"spec.appHarbor.role", `"owner"`, `"collaborator"`, `"administrator"`},
		},
		"deletionPolicy Keep": {
			spec: `
providerConfigRef: {name: pc}
deletionPolicy: Keep
webTranslateIt: {email: bob@example.com}`,
			want: []string{"spec.deletionPolicy", `"Delete"`, `"Orphan"`},
		},
		"missing providerConfigRef": {
			spec: `webTranslateIt: {email: bob@example.com}`,
			want: []string{"spec.providerConfigRef", "Required value"},
		},
		"empty providerConfigRef name": {
			spec: `
providerConfigRef: {name: ""}
webTranslateIt: {email: bob@example.com}`,
			want: []string{"spec.providerConfigRef.name"},
		},
		"missing spec": {
			spec: ``,
			want: []string{"spec", "Required value"},
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newObject(t, kindCollaborator, ns, tc.spec)
			wantInvalid(t, k8sClient.Create(context.Background(), obj, strict), tc.want)
		})
	}
}

// TestProviderConfigCreateRejected: the API server refuses invalid
// ProviderConfigs at apply time, naming the field or the rule.
func TestProviderConfigCreateRejected(t *testing.T) {
	tests := map[string]struct {
		spec string
		want []string
	}{
		"no provider block": {
			spec: `syncInterval: 10m`,
			want: []string{"spec", msgExactlyOne},
		},
		"two provider blocks": {
			spec: `
quantConnect: {credentialsSecretRef: {name: s}}
appHarbor: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec", msgExactlyOne},
		},
		"rateLimit of zero requests per second": {
			spec: `
rateLimit: {requestsPerSecond: 0}
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.rateLimit.requestsPerSecond", "1"},
		},
		"rateLimit without requestsPerSecond": {
			spec: `
rateLimit: {burst: 5}
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.rateLimit.requestsPerSecond", "Required"},
		},
		"baseURL ftp://x": {
			spec: `quantConnect: {baseURL: "ftp://x", credentialsSecretRef: {name: s}}`,
			want: []string{"spec.quantConnect.baseURL", msgBadURL},
		},
		"baseURL not a url": {
			spec: `appHarbor: {baseURL: "not a url", credentialsSecretRef: {name: s}}`,
			want: []string{"spec.appHarbor.baseURL", msgBadURL},
		},
		"baseURL relative path": {
			spec: `webTranslateIt: {baseURL: "/api", credentialsSecretRef: {name: s}}`,
			want: []string{"spec.webTranslateIt.baseURL", msgBadURL},
		},
		"baseURL without host": {
			spec: `webTranslateIt: {baseURL: "http://", credentialsSecretRef: {name: s}}`,
			want: []string{"spec.webTranslateIt.baseURL", msgBadURL},
		},
		"syncInterval -5m": {
			spec: `
syncInterval: -5m
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval"},
		},
		"syncInterval 0s": {
			spec: `
syncInterval: 0s
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval", msgSyncMin},
		},
		"syncInterval 999ms": {
			spec: `
syncInterval: 999ms
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval", msgSyncMin},
		},
		"syncInterval 0.5s": {
			spec: `
syncInterval: 0.5s
appHarbor: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval", msgSyncMin},
		},
		"syncInterval 1ns": {
			spec: `
syncInterval: 1ns
webTranslateIt: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval", msgSyncMin},
		},
		"syncInterval abc": {
			spec: `
syncInterval: abc
quantConnect: {credentialsSecretRef: {name: s}}`,
			want: []string{"spec.syncInterval"},
		},
		"missing credentialsSecretRef": {
			spec: `quantConnect: {baseURL: "https://example.com"}`,
			want: []string{"spec.quantConnect.credentialsSecretRef", "Required value"},
		},
		"empty credentialsSecretRef name": {
			spec: `appHarbor: {credentialsSecretRef: {name: ""}}`,
			want: []string{"spec.appHarbor.credentialsSecretRef.name"},
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newObject(t, kindProviderConfig, ns, tc.spec)
			wantInvalid(t, k8sClient.Create(context.Background(), obj, strict), tc.want)
		})
	}
}

const (
	specQuantConnect = `
providerConfigRef: {name: pc}
quantConnect: {projectID: 23456789, userID: mia-ai}`
	specAppHarbor = `
providerConfigRef: {name: pc}
appHarbor: {application: my-app, email: bob@example.com}`
	specWebTranslateIt = `
providerConfigRef: {name: pc}
webTranslateIt: {email: carol@example.com}`
)

// TestCollaboratorUpdate: immutable fields and the provider block cannot
// change; everything else can.
func TestCollaboratorUpdate(t *testing.T) {
	tests := map[string]struct {
		before, after string
		// want is empty when the update must succeed.
		want []string
	}{
		"quantConnect.projectID": {
			before: specQuantConnect,
			after: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 2, userID: mia-ai}`,
			want: []string{"spec.quantConnect.projectID", "projectID is immutable"},
		},
		"quantConnect.userID": {
			before: specQuantConnect,
			after: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 23456789, userID: someone-else}`,
			want: []string{"spec.quantConnect.userID", "userID is immutable"},
		},
		"appHarbor.application": {
			before: specAppHarbor,
			after: `
providerConfigRef: {name: pc}
appHarbor: {application: other-app, email: bob@example.com}`,
			want: []string{"spec.appHarbor.application", "application is immutable"},
		},
		"appHarbor.email": {
			before: specAppHarbor,
			after: `
providerConfigRef: {name: pc}
appHarbor: {application: my-app, email: alice@example.com}`,
			want: []string{"spec.appHarbor.email", "email is immutable"},
		},
		"webTranslateIt.email": {
			before: specWebTranslateIt,
			after: `
providerConfigRef: {name: pc}
webTranslateIt: {email: alice@example.com}`,
			want: []string{"spec.webTranslateIt.email", "email is immutable"},
		},
		"providerConfigRef": {
			before: specQuantConnect,
			after: `
providerConfigRef: {name: other-account}
quantConnect: {projectID: 23456789, userID: mia-ai}`,
			want: []string{"spec.providerConfigRef", "providerConfigRef is immutable", "Orphan", "collab.dev/external-id"},
		},
		"switch quantConnect to appHarbor": {
			before: specQuantConnect,
			after:  specAppHarbor,
			want:   []string{"spec", "the provider block cannot be switched"},
		},
		"switch webTranslateIt to quantConnect": {
			before: specWebTranslateIt,
			after:  specQuantConnect,
			want:   []string{"spec", "the provider block cannot be switched"},
		},
		"quantConnect write and liveControl may change": {
			before: specQuantConnect,
			after: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 23456789, userID: mia-ai, write: true, liveControl: true}`,
		},
		"appHarbor role may change": {
			before: specAppHarbor,
			after: `
providerConfigRef: {name: pc}
appHarbor: {application: my-app, email: bob@example.com, role: administrator}`,
		},
		"deletionPolicy may change": {
			before: specWebTranslateIt,
			after: `
providerConfigRef: {name: pc}
deletionPolicy: Orphan
webTranslateIt: {email: carol@example.com}`,
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkUpdate(t, newObject(t, kindCollaborator, ns, tc.before), tc.after, tc.want)
		})
	}
}

// TestProviderConfigSyncIntervalMinimum: syncInterval is at least 1s
// however it is written; 1s itself is allowed.
func TestProviderConfigSyncIntervalMinimum(t *testing.T) {
	tests := map[string]struct {
		syncInterval string
		// refused says whether the API server must refuse it.
		refused bool
	}{
		"1s":       {syncInterval: "1s"},
		"1000ms":   {syncInterval: "1000ms"},
		"1.5s":     {syncInterval: "1.5s"},
		"1m0.5s":   {syncInterval: "1m0.5s"},
		"10m":      {syncInterval: "10m"},
		"999ms":    {syncInterval: "999ms", refused: true},
		"0.99s":    {syncInterval: "0.99s", refused: true},
		"500ms":    {syncInterval: "500ms", refused: true},
		"999999us": {syncInterval: "999999us", refused: true},
		"0s":       {syncInterval: "0s", refused: true},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newObject(t, kindProviderConfig, ns, `
syncInterval: "`+tc.syncInterval+`"
quantConnect: {credentialsSecretRef: {name: s}}`)
			err := k8sClient.Create(context.Background(), obj, strict)
			if !tc.refused {
				if err != nil {
					t.Fatalf("syncInterval %s refused: %v", tc.syncInterval, err)
				}
				return
			}
			wantInvalid(t, err, []string{"spec.syncInterval", msgSyncMin, "a duration such as"})
		})
	}
}

const (
	pcQuantConnect   = `quantConnect: {credentialsSecretRef: {name: s}}`
	pcAppHarbor      = `appHarbor: {credentialsSecretRef: {name: s}}`
	pcWebTranslateIt = `webTranslateIt: {credentialsSecretRef: {name: s}}`
)

// TestProviderConfigUpdate: which provider block a ProviderConfig has
// cannot change once it is created (its Collaborators' access lives at that
// provider), and it must keep exactly one; baseURL and the Secret reference
// may change (migrations, token rotation), as may syncInterval and
// rateLimit within their limits.
func TestProviderConfigUpdate(t *testing.T) {
	pcBlockSwitched := []string{"spec", msgPCBlock, msgPCBlockWhy, msgPCBlockFix}
	tests := map[string]struct {
		before, after string
		// want is empty when the update must succeed.
		want []string
	}{
		"switch quantConnect to appHarbor": {
			before: pcQuantConnect,
			after:  pcAppHarbor,
			want:   pcBlockSwitched,
		},
		"switch quantConnect to webTranslateIt": {
			before: pcQuantConnect,
			after:  pcWebTranslateIt,
			want:   pcBlockSwitched,
		},
		"switch appHarbor to quantConnect": {
			before: pcAppHarbor,
			after:  pcQuantConnect,
			want:   pcBlockSwitched,
		},
		"switch appHarbor to webTranslateIt": {
			before: pcAppHarbor,
			after:  pcWebTranslateIt,
			want:   pcBlockSwitched,
		},
		"switch webTranslateIt to quantConnect": {
			before: pcWebTranslateIt,
			after:  pcQuantConnect,
			want:   pcBlockSwitched,
		},
		"switch webTranslateIt to appHarbor": {
			before: pcWebTranslateIt,
			after:  pcAppHarbor,
			want:   pcBlockSwitched,
		},
		"add a second block": {
			before: pcQuantConnect,
			after:  pcQuantConnect + "\n" + pcAppHarbor,
			want:   []string{"spec", msgExactlyOne},
		},
		"remove the block": {
			before: pcQuantConnect,
			after:  `syncInterval: 1h`,
			want:   []string{"spec", msgExactlyOne},
		},
		"syncInterval below 1s": {
			before: pcQuantConnect,
			after:  "syncInterval: 500ms\n" + pcQuantConnect,
			want:   []string{"spec.syncInterval", msgSyncMin},
		},
		"quantConnect baseURL may change": {
			before: pcQuantConnect,
			after:  `quantConnect: {baseURL: "http://127.0.0.1:18081/api/v2", credentialsSecretRef: {name: s}}`,
		},
		"quantConnect credentialsSecretRef may change": {
			before: pcQuantConnect,
			after:  `quantConnect: {credentialsSecretRef: {name: rotated}}`,
		},
		"appHarbor baseURL may change": {
			before: pcAppHarbor,
			after:  `appHarbor: {baseURL: "http://127.0.0.1:18082", credentialsSecretRef: {name: s}}`,
		},
		"appHarbor credentialsSecretRef may change": {
			before: pcAppHarbor,
			after:  `appHarbor: {credentialsSecretRef: {name: rotated}}`,
		},
		"webTranslateIt baseURL and credentialsSecretRef may change together": {
			before: pcWebTranslateIt,
			after:  `webTranslateIt: {baseURL: "http://127.0.0.1:18083", credentialsSecretRef: {name: rotated}}`,
		},
		"syncInterval and rateLimit may change": {
			before: pcQuantConnect,
			after: `
syncInterval: 1s
rateLimit: {requestsPerSecond: 5, burst: 5}
` + pcQuantConnect,
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkUpdate(t, newObject(t, kindProviderConfig, ns, tc.before), tc.after, tc.want)
		})
	}
}

// TestUnknownFieldsRefused: with strict field validation, as kubectl apply
// uses, a misspelt field is refused rather than silently dropped.
func TestUnknownFieldsRefused(t *testing.T) {
	ns := newNamespace(t)
	obj := newObject(t, kindCollaborator, ns, `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1, userID: mia-ai, livecontrol: true}`)
	err := k8sClient.Create(context.Background(), obj, strict)
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `unknown field "spec.quantConnect.livecontrol"`) {
		t.Fatalf("got %v; want a BadRequest naming the unknown field spec.quantConnect.livecontrol", err)
	}
}

// checkUpdate creates obj, then updates its spec to after: the API server
// must refuse the update with every message in want, or accept it when
// want is empty.
func checkUpdate(t *testing.T, obj *unstructured.Unstructured, after string, want []string) {
	t.Helper()
	ctx := context.Background()
	if err := k8sClient.Create(ctx, obj, strict); err != nil {
		t.Fatalf("creating the original: %v", err)
	}
	obj.Object["spec"] = fromYAML(t, after)
	err := k8sClient.Update(ctx, obj, strict)
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("update refused: %v", err)
		}
		return
	}
	wantInvalid(t, err, want)
}
