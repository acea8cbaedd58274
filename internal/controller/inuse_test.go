package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/inuse"
	"github.com/collab-dev/collaborator-operator/internal/controller/providerconfig"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// A failed List of Collaborators never reads as "unused": neither the
// ProviderConfig's nor the Secret's in-use finalizer is removed.
func TestFailedListKeepsInUseFinalizers(t *testing.T) {
	pc := &collabv1alpha1.ProviderConfig{
		ObjectMeta: metav1.ObjectMeta{Name: "qc", Namespace: "ns", Finalizers: []string{collabv1alpha1.InUseFinalizer}},
		Spec: collabv1alpha1.ProviderConfigSpec{QuantConnect: &collabv1alpha1.QuantConnectConfig{
			CredentialsSecretRef: collabv1alpha1.SecretReference{Name: "creds"},
		}},
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns", Finalizers: []string{collabv1alpha1.InUseFinalizer}}}
	cl := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(pc, secret).
		WithIndex(&collabv1alpha1.Collaborator{}, usage.IndexProviderConfigRef, func(o client.Object) []string {
			return []string{o.(*collabv1alpha1.Collaborator).Spec.ProviderConfigRef.Name}
		}).
		WithIndex(&collabv1alpha1.ProviderConfig{}, usage.IndexSecretRef, func(client.Object) []string { return []string{"creds"} }).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*collabv1alpha1.CollaboratorList); ok {
				return apierrors.NewServiceUnavailable("cache not ready")
			}
			return c.List(ctx, list, opts...)
		}}).Build()
	req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "qc"}}
	conns := connector.New(connector.Options{Client: cl, SecretReader: cl, Providers: provider.NewRegistry()})
	pcr := &providerconfig.Reconciler{Client: cl, Connector: conns}
	if _, err := pcr.Reconcile(context.Background(), req); err == nil {
		t.Error("the ProviderConfig reconciler swallowed the failed List")
	}
	sr := &inuse.SecretReconciler{Client: cl}
	if _, err := sr.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "creds"}}); err == nil {
		t.Error("the Secret reconciler swallowed the failed List")
	}
	for name, o := range map[string]client.Object{"qc": &collabv1alpha1.ProviderConfig{}, "creds": &corev1.Secret{}} {
		if err := cl.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: name}, o); err != nil {
			t.Fatal(err)
		}
		if len(o.GetFinalizers()) != 1 {
			t.Errorf("%T lost its in-use finalizer: %v", o, o.GetFinalizers())
		}
	}
}
