package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// installAdmissionPolicy creates config/admission's MutatingAdmissionPolicy
// and binding, as dist/install.yaml does, and waits until the API server
// applies them: it loads policies asynchronously, and a Collaborator
// created before then would get its finalizer from the manager instead.
func (s *Stack) installAdmissionPolicy(ctx context.Context) error {
	path := filepath.Join(s.Root, "config", "admission", "finalizer_policy.yaml")
	data, err := os.ReadFile(path) //nolint:gosec // G304: the repository's own manifest
	if err != nil {
		return fmt.Errorf("reading the admission policy: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering the collab.dev kinds: %w", err)
	}
	cl, err := client.New(s.Config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("a client for the API server: %w", err)
	}
	for doc := range bytes.SplitSeq(data, []byte("\n---\n")) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return fmt.Errorf("parsing %s: %w", path, err)
		}
		if err := cl.Create(ctx, u); err != nil {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		probe := &collabv1alpha1.Collaborator{
			ObjectMeta: metav1.ObjectMeta{Name: "admission-probe", Namespace: metav1.NamespaceDefault},
			Spec: collabv1alpha1.CollaboratorSpec{
				ProviderConfigRef: collabv1alpha1.ProviderConfigReference{Name: "probe"},
				WebTranslateIt:    &collabv1alpha1.WebTranslateItCollaborator{Email: "probe@example.com"},
			},
		}
		err := cl.Create(ctx, probe, client.DryRunAll)
		if err == nil && slices.Contains(probe.Finalizers, collabv1alpha1.Finalizer) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the admission policy did not apply within 30s (finalizers %v): %w", probe.Finalizers, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
