package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

func TestClassify(t *testing.T) {
	secrets := schema.GroupResource{Resource: "secrets"}
	tests := map[string]struct {
		err  error
		want failure
	}{
		"forbidden Secret read": {
			err:  fmt.Errorf("reading Secret ns/creds: %w", apierrors.NewForbidden(secrets, "creds", errors.New("RBAC"))),
			want: failure{reason: collabv1alpha1.ReasonKubernetesAPIError, terminal: true},
		},
		"API server unavailable": {
			err:  fmt.Errorf("reading Secret ns/creds: %w", apierrors.NewServiceUnavailable("etcd")),
			want: failure{reason: collabv1alpha1.ReasonKubernetesAPIError},
		},
		"provider down": {
			err:  &provider.Error{Class: provider.ClassUnavailable},
			want: failure{reason: collabv1alpha1.ReasonProviderUnavailable},
		},
		"provider refused credentials": {
			err:  &provider.Error{Class: provider.ClassUnauthorized},
			want: failure{reason: collabv1alpha1.ReasonCredentialsInvalid, terminal: true},
		},
		"rate limited": {
			err:  &provider.Error{Class: provider.ClassRateLimited, RetryAfter: 3 * time.Second},
			want: failure{reason: collabv1alpha1.ReasonRateLimited, retryAfter: 3 * time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := classify(tc.err)
			got.err = nil
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(failure{})); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
		})
	}
}

// A rate limit without Retry-After (QuantConnect's success:false answer)
// backs off exponentially per object, never in a fixed loop.
func TestRateLimitWithoutRetryAfterBacksOff(t *testing.T) {
	p := newRetryPolicy(time.Second, time.Minute, time.Hour)
	obj := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: "mia", Namespace: "ns"}}
	f := failure{reason: collabv1alpha1.ReasonRateLimited}
	got := make([]time.Duration, 0, 5)
	for range 5 {
		got = append(got, p.failed(obj, f).RequeueAfter)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	// The provider's own wait is honoured when it is longer.
	f.retryAfter = time.Hour
	if d := p.failed(obj, f).RequeueAfter; d != time.Hour {
		t.Errorf("wait with Retry-After 1h = %s", d)
	}
}

func TestCapMessage(t *testing.T) {
	long := strings.Repeat("é", maxMessage)
	got := capMessage(long)
	if len(got) > maxMessage+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("capMessage cut badly: %d bytes, suffix %q", len(got), got[len(got)-5:])
	}
	if capMessage("short") != "short" {
		t.Error("a short message was changed")
	}
}

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
		WithIndex(&collabv1alpha1.Collaborator{}, indexProviderConfigRef, func(o client.Object) []string {
			return []string{o.(*collabv1alpha1.Collaborator).Spec.ProviderConfigRef.Name}
		}).
		WithIndex(&collabv1alpha1.ProviderConfig{}, indexSecretRef, func(client.Object) []string { return []string{"creds"} }).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*collabv1alpha1.CollaboratorList); ok {
				return apierrors.NewServiceUnavailable("cache not ready")
			}
			return c.List(ctx, list, opts...)
		}}).Build()
	req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: "ns", Name: "qc"}}
	pcr := &ProviderConfigReconciler{Options: Options{Client: cl, SecretReader: cl, Providers: provider.NewRegistry()}}
	pcr.retry = newRetryPolicy(0, 0, 0)
	if _, err := pcr.Reconcile(context.Background(), req); err == nil {
		t.Error("the ProviderConfig reconciler swallowed the failed List")
	}
	sr := &SecretReconciler{Client: cl}
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
