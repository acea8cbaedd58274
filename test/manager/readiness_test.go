package manager

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestNotReadyUntilCachesSync: /readyz fails (controller-runtime answers
// 500) while a watched kind's cache cannot sync. The manager runs as a user
// allowed everything on the collab.dev kinds but not to list Secrets, as a
// broken install would be; it stays alive (/healthz 200) and says which
// cache it waits for.
func TestNotReadyUntilCachesSync(t *testing.T) {
	trackSources(t)
	ctx := t.Context()
	const user = "no-secrets"
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"collab.dev"},
			Resources: []string{"*"},
			Verbs:     []string{"*"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := k8sClient.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	u, err := testEnv.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Debug level: controller-runtime logs why a check fails only there.
	out, probeAddr, exited := launchManager(t, kc, "--zap-log-level=debug")
	const want = "the Secret cache has not synced yet"
	waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	plain := &http.Client{Timeout: 5 * time.Second}
	for !strings.Contains(out.String(), want) {
		if code, err := get(waitCtx, plain, "http://"+probeAddr+"/readyz"); err == nil && code == http.StatusOK {
			t.Fatal("/readyz answered 200 although the manager may not list Secrets")
		}
		select {
		case err := <-exited:
			t.Fatalf("the manager exited: %v", err)
		case <-waitCtx.Done():
			t.Fatalf("the manager did not report %q within 60s", want)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if code, err := get(waitCtx, plain, "http://"+probeAddr+"/readyz"); err != nil || code == http.StatusOK {
		t.Errorf("/readyz: %d %v; want a failure while the Secret cache cannot sync", code, err)
	}
	if code, err := get(waitCtx, plain, "http://"+probeAddr+"/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz: %d %v; want 200: the process is alive, only not ready", code, err)
	}
}
