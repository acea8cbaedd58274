package main

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// A reviewer whose Roles allow listing both kinds in trading and only
// Collaborators in research sees what they may read, and is told, per
// namespace and kind, what they may not.
func TestAccessRBAC(t *testing.T) {
	cl, _ := sharedEnv(t)
	ctx := context.Background()
	user, err := shared.env.AddUser(envtest.User{Name: "reviewer"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	grant(ctx, t, cl, "trading", "collaborators", "accesspolicies")
	grant(ctx, t, cl, "research", "collaborators")
	kubeconfig := writeKubeconfig(t, user.Config(), "trading")

	tests := map[string]struct {
		args       []string
		wantErr    string
		wantStderr []string
		wantRows   int
	}{
		"allowed namespace": {args: []string{"-n", "trading"}, wantRows: 5},
		"collaborators only": {args: []string{"-n", "research"}, wantRows: 2, wantStderr: []string{
			"Warning: cannot list accesspolicies.collab.dev in namespace research: forbidden",
		}},
		"nothing allowed": {args: []string{"-n", "web"}, wantErr: "nothing could be read", wantStderr: []string{
			"Warning: cannot list collaborators.collab.dev in namespace web: forbidden",
			"Warning: cannot list accesspolicies.collab.dev in namespace web: forbidden",
		}},
		"all namespaces": {args: []string{"-A"}, wantErr: "nothing could be read", wantStderr: []string{
			"Warning: cannot list collaborators.collab.dev in all namespaces (cluster-wide): forbidden",
			"Warning: cannot list accesspolicies.collab.dev in all namespaces (cluster-wide): forbidden",
		}},
		"a gate cannot pass on a partial review": {args: []string{"-n", "research", "--fail-on", "conflict"},
			wantErr: "the review is incomplete", wantRows: 2,
			wantStderr: []string{"Warning: cannot list accesspolicies.collab.dev in namespace research"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"access", "--kubeconfig", kubeconfig, "-o", "csv"}, tc.args...)
			stdout, stderr, err := collabCmd(t, args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("exit 1: %v\n%s", err, stderr)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err %v, want one mentioning %q\n%s", err, tc.wantErr, stderr)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if len(tc.wantStderr) == 0 && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
			rows := 0
			if stdout != "" {
				rows = strings.Count(stdout, "\n") - 1 // the header
			}
			if rows != tc.wantRows {
				t.Errorf("%d rows, want %d:\n%s", rows, tc.wantRows, stdout)
			}
		})
	}
}

// grant lets the reviewer list the given collab.dev resources in ns.
func grant(ctx context.Context, t *testing.T, cl client.Client, ns string, resources ...string) {
	t.Helper()
	meta := metav1.ObjectMeta{Namespace: ns, Name: "access-reviewer"}
	for _, o := range []client.Object{
		&rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"collab.dev"}, Resources: resources, Verbs: []string{"list"}}}},
		&rbacv1.RoleBinding{ObjectMeta: meta,
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: meta.Name},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "reviewer"}}},
	} {
		if err := cl.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}
