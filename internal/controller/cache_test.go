package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/cachetuning"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
)

// The manager's cache holds Secrets by metadata only, and without their
// annotations: last-applied-configuration carries a Secret's data in clear,
// and the manager must never hold Secret data it does not use. Labels and
// finalizers, which it reads, stay; managedFields go from every object.
func TestCacheHoldsNoSecretData(t *testing.T) {
	ns := newNamespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := cache.New(testCfg, cache.Options{
		Scheme:            testScheme,
		DefaultNamespaces: map[string]cache.Config{ns: {}},
		DefaultTransform:  cachetuning.Transform(),
	})
	must(t, err)
	go func() { _ = c.Start(ctx) }()

	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: "creds", Namespace: ns,
			Labels:      map[string]string{"team": "trading"},
			Finalizers:  []string{"collab.dev/in-use"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"apiToken":"` + qcToken + `"}}`},
		},
		StringData: map[string]string{"apiToken": qcToken},
	}
	must(t, k8s.Create(ctx, secret))
	t.Cleanup(func() {
		secret.Finalizers = nil
		_ = k8s.Update(context.Background(), secret)
	})

	cached := connector.SecretMetadata()
	eventually(t, 10*time.Second, func() error {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, cached); err != nil {
			return fmt.Errorf("not cached yet: %w", err)
		}
		return nil
	})
	if len(cached.Annotations) != 0 {
		t.Errorf("the cache holds the Secret's annotations: %v", cached.Annotations)
	}
	if len(cached.ManagedFields) != 0 {
		t.Errorf("the cache holds managedFields: %d entries", len(cached.ManagedFields))
	}
	if diff := cmp.Diff(map[string]string{"team": "trading"}, cached.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"collab.dev/in-use"}, cached.Finalizers); diff != "" {
		t.Errorf("finalizers (-want +got):\n%s", diff)
	}
}

// The cache drops kubectl's last-applied-configuration from Collaborators
// (a copy of the whole manifest per object), yet the reconcilers' own
// metadata writes (finalizer, external id) leave it in place at the API
// server: kubectl apply and Argo CD still diff against it.
func TestLastAppliedIsNotCachedButKept(t *testing.T) {
	f := newFixture(t)
	f.quantConnectConfig(time.Minute)
	startManager(t, f.ns, f.reg, managerOptions{})
	c := qcCollaborator("mia", "qc", "mia-ai", false, false)
	lastApplied := `{"apiVersion":"collab.dev/v1alpha1","kind":"Collaborator","metadata":{"name":"mia"}}`
	c.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: lastApplied}
	f.create(c)
	c = f.waitReady("mia")
	if c.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" || len(c.Finalizers) == 0 {
		t.Fatalf("the manager's metadata writes are missing: annotations %v, finalizers %v", c.Annotations, c.Finalizers)
	}
	if got := c.Annotations[corev1.LastAppliedConfigAnnotation]; got != lastApplied {
		t.Errorf("last-applied-configuration at the API server = %q, want it kept", got)
	}

	got, err := cachetuning.Transform()(c.DeepCopy())
	must(t, err)
	want := map[string]string{collabv1alpha1.ExternalIDAnnotation: c.Annotations[collabv1alpha1.ExternalIDAnnotation]}
	if diff := cmp.Diff(want, got.(*collabv1alpha1.Collaborator).Annotations); diff != "" {
		t.Errorf("cached annotations (-want +got):\n%s", diff)
	}
}
