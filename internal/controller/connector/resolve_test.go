package connector_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// For hands out a ClusterProviderConfig's client only for a use its grants
// permit (the namespace's labels read from the cache); a refusal comes
// before anything else is said about the credentials (their provider,
// their Secret), names the ClusterProviderConfig, and needs no Secret. An
// installation that serves no ClusterProviderConfig refuses them all.
func TestForClusterProviderConfig(t *testing.T) {
	tests := map[string]struct {
		clusterNS string
		// grant is the ClusterProviderConfig's one grant.
		grant collabv1alpha1.ClusterGrant
		// use is an AppHarbor Collaborator's use when set, else mia's
		// QuantConnect one.
		appHarbor bool
		// noSecret deletes the Secret first.
		noSecret bool
		reason   string
		message  []string
	}{
		"granted by name": {clusterNS: "ops", grant: collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace}}},
		"granted by the namespace's labels": {clusterNS: "ops", grant: collabv1alpha1.ClusterGrant{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "quant"}}}},
		"not granted, and the refusal comes first": {clusterNS: "ops", appHarbor: true, noSecret: true,
			grant:  collabv1alpha1.ClusterGrant{Namespaces: []string{"elsewhere"}},
			reason: collabv1alpha1.ReasonNotPermitted, message: []string{`ClusterProviderConfig "org"`, ct.Namespace, "no provider call"}},
		"granted, but for another provider": {clusterNS: "ops", appHarbor: true,
			grant:  collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace}},
			reason: collabv1alpha1.ReasonProviderMismatch, message: []string{`ClusterProviderConfig "org" configures QuantConnect`}},
		"not served": {grant: collabv1alpha1.ClusterGrant{Namespaces: []string{ct.Namespace}},
			reason: collabv1alpha1.ReasonNotPermitted, message: []string{"serves only the namespaces it watches"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := ct.New(t, ct.Bare())
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ct.Namespace, Labels: map[string]string{"team": "quant"}}}
			secret := ct.Secret(collabv1alpha1.ProviderQuantConnect)
			secret.Namespace = "ops"
			cpc := &collabv1alpha1.ClusterProviderConfig{}
			cpc.Name = "org"
			cpc.Spec.ProviderConfigSpec = ct.ProviderConfig(collabv1alpha1.ProviderQuantConnect).Spec
			cpc.Spec.Grants = []collabv1alpha1.ClusterGrant{tc.grant}
			e.Create(ns, cpc)
			if !tc.noSecret {
				e.Create(secret)
			}
			allowed, err := provider.ParseURLAllowList(provider.DefaultAllowedURLs)
			if err != nil {
				t.Fatal(err)
			}
			k := connector.New(connector.Options{Client: e.Client, SecretReader: e.Client, Providers: e.Registry,
				AllowedURLs: allowed, ClusterResourceNamespace: tc.clusterNS})
			c := ct.QuantConnect("mia", "mia-ai", false, false)
			if tc.appHarbor {
				c = ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleCollaborator)
			}
			c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: "org"}
			conn, err := k.For(context.Background(), connector.CollaboratorUse(c))
			if tc.reason == "" {
				if err != nil || conn.Client == nil || len(conn.Grants) != 1 || conn.Secret.GetNamespace() != "ops" {
					t.Fatalf("For: %v, %+v", err, conn)
				}
				return
			}
			var se *engine.SetupError
			if !errors.As(err, &se) || se.Reason != tc.reason {
				t.Fatalf("For: %v, want reason %s", err, tc.reason)
			}
			for _, m := range tc.message {
				if !strings.Contains(se.Message, m) {
					t.Errorf("message %q lacks %q", se.Message, m)
				}
			}
		})
	}
}
