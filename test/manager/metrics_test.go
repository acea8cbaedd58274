package manager

import (
	"context"
	"net/http"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// checkMetricsAccess: the metrics endpoint serves a ServiceAccount bound
// to a role that allows GET /metrics (as config/rbac's metrics-reader
// does), refuses one without it, and refuses a token the API server does
// not know.
func checkMetricsAccess(ctx context.Context, t *testing.T, c *http.Client, url string) {
	t.Helper()
	reader := serviceAccountToken(ctx, t, "metrics-scraper")
	bindMetricsReader(ctx, t, "metrics-scraper")
	stranger := serviceAccountToken(ctx, t, "metrics-stranger")
	tests := map[string]struct {
		authorization string
		want          int
	}{
		"bound to metrics-reader": {authorization: "Bearer " + reader, want: http.StatusOK},
		"scheme in any case":      {authorization: "bearer " + reader, want: http.StatusOK},
		"without the permission":  {authorization: "Bearer " + stranger, want: http.StatusForbidden},
		"unknown token":           {authorization: "Bearer not-a-token", want: http.StatusUnauthorized},
		"not a bearer token":      {authorization: "Basic " + reader, want: http.StatusUnauthorized},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", tc.authorization)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("GET /metrics: %d; want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// serviceAccountToken creates a ServiceAccount in "default" and returns a
// token for it from the TokenRequest API.
func serviceAccountToken(ctx context.Context, t *testing.T, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if err := k8sClient.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), sa) })
	req := &authenticationv1.TokenRequest{}
	if err := k8sClient.SubResource("token").Create(ctx, sa, req); err != nil {
		t.Fatalf("requesting a token for %s: %v", name, err)
	}
	return req.Status.Token
}

// bindMetricsReader grants a ServiceAccount of "default" what
// config/rbac/metrics_reader_role.yaml grants.
func bindMetricsReader(ctx context.Context, t *testing.T, sa string) {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "test-metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: sa}},
	}
	if err := k8sClient.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), role) })
	if err := k8sClient.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), binding) })
}
