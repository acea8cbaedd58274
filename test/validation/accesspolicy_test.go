package validation

import (
	"context"
	"testing"
)

const (
	kindAccessPolicy     = "AccessPolicy"
	msgPolicyExactlyOne  = "exactly one of quantConnect or appHarbor must be set"
	msgPolicyTargetFixed = "the target (quantConnect or appHarbor block) is immutable"
	msgPolicyRefFixed    = "providerConfigRef is immutable: the member list this policy covers lives at that account"
	msgPolicyRefFix      = "delete this AccessPolicy and create another"
)

// TestAccessPolicyCreateRejected: invalid AccessPolicies are refused at
// apply time, naming the field or the rule.
func TestAccessPolicyCreateRejected(t *testing.T) {
	tests := map[string]struct {
		spec string
		want []string
	}{
		"no block": {
			spec: `providerConfigRef: {name: pc}`,
			want: []string{"spec", msgPolicyExactlyOne},
		},
		"two blocks": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1}
appHarbor: {application: my-app}`,
			want: []string{"spec", msgPolicyExactlyOne},
		},
		"unknown mode": {
			spec: `
providerConfigRef: {name: pc}
mode: Delete
quantConnect: {projectID: 1}`,
			want: []string{"spec.mode", `"Report", "Enforce"`},
		},
		"negative maxRemovals": {
			spec: `
providerConfigRef: {name: pc}
maxRemovals: -1
quantConnect: {projectID: 1}`,
			want: []string{"spec.maxRemovals", "greater than or equal to 0"},
		},
		"projectID zero": {
			spec: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 0}`,
			want: []string{"spec.quantConnect.projectID"},
		},
		"missing providerConfigRef": {
			spec: `quantConnect: {projectID: 1}`,
			want: []string{"spec.providerConfigRef", "Required value"},
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := newObject(t, kindAccessPolicy, ns, tc.spec)
			wantInvalid(t, k8sClient.Create(context.Background(), obj, strict), tc.want)
		})
	}
}

// TestAccessPolicyDefaults: mode Report and maxRemovals 5 when unset, and
// maxRemovals 0 is allowed (Enforce then only reports).
func TestAccessPolicyDefaults(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	obj := newObject(t, kindAccessPolicy, ns, `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1}`)
	if err := k8sClient.Create(ctx, obj, strict); err != nil {
		t.Fatal(err)
	}
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec["mode"] != "Report" || spec["maxRemovals"] != int64(5) {
		t.Errorf("defaults: mode %v, maxRemovals %v (%T); want Report, 5",
			spec["mode"], spec["maxRemovals"], spec["maxRemovals"])
	}
	zero := newObject(t, kindAccessPolicy, ns, `
providerConfigRef: {name: pc}
mode: Enforce
maxRemovals: 0
appHarbor: {application: my-app}`)
	if err := k8sClient.Create(ctx, zero, strict); err != nil {
		t.Errorf("maxRemovals 0 refused: %v", err)
	}
}

// TestAccessPolicyUpdate: the target and providerConfigRef are immutable;
// mode, exempt and maxRemovals may change.
func TestAccessPolicyUpdate(t *testing.T) {
	const qc = `
providerConfigRef: {name: pc}
quantConnect: {projectID: 1}`
	tests := map[string]struct {
		after string
		want  []string
	}{
		"another project": {
			after: `
providerConfigRef: {name: pc}
quantConnect: {projectID: 2}`,
			want: []string{msgPolicyTargetFixed},
		},
		"another provider": {
			after: `
providerConfigRef: {name: pc}
appHarbor: {application: my-app}`,
			want: []string{msgPolicyTargetFixed},
		},
		"another providerConfigRef": {
			after: `
providerConfigRef: {name: other-account}
quantConnect: {projectID: 1}`,
			want: []string{"spec.providerConfigRef", msgPolicyRefFixed, msgPolicyRefFix},
		},
		"another providerConfigRef and project": {
			after: `
providerConfigRef: {name: other-account}
quantConnect: {projectID: 2}`,
			want: []string{"spec.providerConfigRef", msgPolicyRefFixed, msgPolicyTargetFixed},
		},
		"mode, exempt and maxRemovals may change": {
			after: `
providerConfigRef: {name: pc}
mode: Enforce
exempt: [ci-bot]
maxRemovals: 2
quantConnect: {projectID: 1}`,
		},
	}
	ns := newNamespace(t)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			checkUpdate(t, newObject(t, kindAccessPolicy, ns, qc), tc.after, tc.want)
		})
	}
}
