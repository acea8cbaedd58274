package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

func TestClassify(t *testing.T) {
	secrets := schema.GroupResource{Resource: "secrets"}
	tests := map[string]struct {
		err  error
		want Failure
	}{
		"forbidden Secret read": {
			err:  fmt.Errorf("reading Secret ns/creds: %w", apierrors.NewForbidden(secrets, "creds", errors.New("RBAC"))),
			want: Failure{Reason: collabv1alpha1.ReasonKubernetesAPIError, Terminal: true},
		},
		"API server unavailable": {
			err:  fmt.Errorf("reading Secret ns/creds: %w", apierrors.NewServiceUnavailable("etcd")),
			want: Failure{Reason: collabv1alpha1.ReasonKubernetesAPIError},
		},
		"provider down": {
			err:  &provider.Error{Class: provider.ClassUnavailable},
			want: Failure{Reason: collabv1alpha1.ReasonProviderUnavailable},
		},
		"provider refused credentials": {
			err:  &provider.Error{Class: provider.ClassUnauthorized},
			want: Failure{Reason: collabv1alpha1.ReasonCredentialsInvalid, Terminal: true},
		},
		"rate limited": {
			err:  &provider.Error{Class: provider.ClassRateLimited, RetryAfter: 3 * time.Second},
			want: Failure{Reason: collabv1alpha1.ReasonRateLimited, RetryAfter: 3 * time.Second},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Classify(tc.err)
			got.Err = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("classify (-want +got):\n%s", diff)
			}
		})
	}
}

// A rate limit without Retry-After (QuantConnect's success:false answer)
// backs off exponentially per object, never in a fixed loop.
func TestRateLimitWithoutRetryAfterBacksOff(t *testing.T) {
	p := NewRetryPolicy(RetrySettings{Base: time.Second, Max: time.Minute, Slow: time.Hour})
	obj := &collabv1alpha1.Collaborator{ObjectMeta: metav1.ObjectMeta{Name: "mia", Namespace: "ns"}}
	f := Failure{Reason: collabv1alpha1.ReasonRateLimited}
	got := make([]time.Duration, 0, 5)
	for range 5 {
		got = append(got, p.Failed(obj, f).RequeueAfter)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	// The provider's own wait is honoured when it is longer, up to 15
	// minutes.
	f.RetryAfter = 10 * time.Minute
	if d := p.Failed(obj, f).RequeueAfter; d != 10*time.Minute {
		t.Errorf("wait with Retry-After 10m = %s", d)
	}
	f.RetryAfter = 24 * time.Hour
	if d := p.Failed(obj, f).RequeueAfter; d != MaxRetryAfter {
		t.Errorf("wait with Retry-After 24h = %s, want the cap %s", d, MaxRetryAfter)
	}
}

func TestCapMessage(t *testing.T) {
	long := strings.Repeat("é", maxMessage)
	got := CapMessage(long)
	if len(got) > maxMessage+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("capMessage cut badly: %d bytes, suffix %q", len(got), got[len(got)-5:])
	}
	if CapMessage("short") != "short" {
		t.Error("a short message was changed")
	}
}
