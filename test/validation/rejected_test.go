package validation

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

const (
	kindCollaborator   = "Collaborator"
	kindProviderConfig = "ProviderConfig"

	msgExactlyOne = "exactly one of quantConnect, appHarbor or webTranslateIt must be set"
	msgBadURL     = "baseURL must be an absolute http or https URL"
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
			want: []string{"spec.syncInterval", "syncInterval must be a positive duration"},
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
			ctx := context.Background()
			obj := newObject(t, kindCollaborator, ns, tc.before)
			if err := k8sClient.Create(ctx, obj, strict); err != nil {
				t.Fatalf("creating the original: %v", err)
			}
			obj.Object["spec"] = fromYAML(t, tc.after)
			err := k8sClient.Update(ctx, obj, strict)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("update refused: %v", err)
				}
				return
			}
			wantInvalid(t, err, tc.want)
		})
	}
}

// TestProviderConfigUpdate: a ProviderConfig's fields may change, but it
// must keep exactly one provider block.
func TestProviderConfigUpdate(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	obj := newObject(t, kindProviderConfig, ns, `quantConnect: {credentialsSecretRef: {name: s}}`)
	if err := k8sClient.Create(ctx, obj, strict); err != nil {
		t.Fatal(err)
	}
	obj.Object["spec"] = fromYAML(t, `
syncInterval: 1h
quantConnect: {baseURL: "http://127.0.0.1:18081/api/v2", credentialsSecretRef: {name: other}}`)
	if err := k8sClient.Update(ctx, obj, strict); err != nil {
		t.Fatalf("update refused: %v", err)
	}
	obj.Object["spec"] = fromYAML(t, `syncInterval: 1h`)
	wantInvalid(t, k8sClient.Update(ctx, obj, strict), []string{"spec", msgExactlyOne})
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
