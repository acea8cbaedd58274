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

// ReadFinalizerPolicy reads config/admission's MutatingAdmissionPolicy and
// its binding, in that order, as dist/install.yaml ships them.
func ReadFinalizerPolicy(root string) ([]*unstructured.Unstructured, error) {
	path := filepath.Join(root, "config", "admission", "finalizer_policy.yaml")
	data, err := os.ReadFile(path) //nolint:gosec // G304: the repository's own manifest
	if err != nil {
		return nil, fmt.Errorf("reading the admission policy: %w", err)
	}
	var objs []*unstructured.Unstructured
	for doc := range bytes.SplitSeq(data, []byte("\n---\n")) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// WaitForFinalizerPolicy waits until the API server adds the finalizer to
// Collaborators created in namespace, probing with dry-run creates: it
// loads admission policies asynchronously, and a Collaborator created
// before then would get its finalizer from the manager instead.
func WaitForFinalizerPolicy(ctx context.Context, cl client.Client, namespace string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		probe := &collabv1alpha1.Collaborator{
			ObjectMeta: metav1.ObjectMeta{Name: "admission-probe", Namespace: namespace},
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

// installAdmissionPolicy creates the finalizer policy and its binding as
// shipped and waits until they apply.
func (s *Stack) installAdmissionPolicy(ctx context.Context) error {
	objs, err := ReadFinalizerPolicy(s.Root)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	if err := collabv1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering the collab.dev kinds: %w", err)
	}
	cl, err := client.New(s.Config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("a client for the API server: %w", err)
	}
	for _, u := range objs {
		if err := cl.Create(ctx, u); err != nil {
			return fmt.Errorf("creating %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return WaitForFinalizerPolicy(ctx, cl, metav1.NamespaceDefault)
}
