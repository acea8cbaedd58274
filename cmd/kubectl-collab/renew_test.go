package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// renew moves spec.expiresAt, or with --dry-run prints the change for Git
// and changes nothing; it refuses what it cannot serve.
func TestRenew(t *testing.T) {
	cl, _ := sharedEnv(t)
	ctx := context.Background()
	kubeconfig := writeKubeconfig(t, shared.cfg, "renewals") // -n defaults to the context's
	twoDays := 48 * time.Hour
	const unchanged = "2026-12-03T12:00:00Z" // now + twoDays
	tests := map[string]struct {
		expires    *time.Duration // the Collaborator's spec.expiresAt before, relative to now
		labels     map[string]string
		args       []string
		want       string // spec.expiresAt after, "" for none
		wantErr    string
		wantStdout []string
		wantStderr []string
	}{
		"for days": {expires: &twoDays, args: []string{"--for", "30d"}, want: "2026-12-31T12:00:00Z",
			wantStdout: []string{"collaborator.collab.dev/NAME renewed until 2026-12-31T12:00:00Z\n"}},
		"for a Go duration": {expires: &twoDays, args: []string{"--for", "60h"}, want: "2026-12-04T00:00:00Z"},
		"until": {expires: &twoDays, args: []string{"--until", "2027-01-02T00:00:00Z"},
			want: "2027-01-02T00:00:00Z"},
		"until with an offset": {expires: &twoDays, args: []string{"--until", "2027-01-02T01:00:00+01:00"},
			want: "2027-01-02T00:00:00Z"},
		"explicit namespace": {expires: &twoDays, args: []string{"-n", "renewals", "--for", "3d"},
			want: "2026-12-04T12:00:00Z"},
		"no expiry before": {args: []string{"--for", "30d"}, want: "2026-12-31T12:00:00Z",
			wantStderr: []string{"had no expiresAt: it now expires at 2026-12-31T12:00:00Z"}},
		"shortening": {expires: in(90 * 24 * time.Hour), args: []string{"--for", "30d"}, want: "2026-12-31T12:00:00Z",
			wantStderr: []string{"this shortens the access: it expired at 2027-03-01T12:00:00Z before"}},
		"under flux": {expires: &twoDays, labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"},
			args: []string{"--for", "30d"}, want: "2026-12-31T12:00:00Z",
			wantStderr: []string{"applied by Flux", "commit the change there (see --dry-run)"}},
		"dry run": {expires: &twoDays, args: []string{"--for", "30d", "--dry-run"}, want: unchanged,
			wantStdout: []string{
				"spec.expiresAt 2026-12-03T12:00:00Z -> 2026-12-31T12:00:00Z (dry run: nothing was changed)",
				"kubectl patch collaborator NAME -n renewals --type merge",
				"\n" + `{"spec":{"expiresAt":"2026-12-31T12:00:00Z"}}` + "\n",
				"under spec:\n" + `  expiresAt: "2026-12-31T12:00:00Z"` + "\n",
			}},
		"neither flag": {expires: &twoDays, want: unchanged, wantErr: "exactly one of --for"},
		"both flags": {expires: &twoDays, want: unchanged, wantErr: "exactly one",
			args: []string{"--for", "1d", "--until", "2027-01-02T00:00:00Z"}},
		"in the past": {expires: &twoDays, want: unchanged, wantErr: "not in the future",
			args: []string{"--until", "2026-11-01T00:00:00Z"}},
		"bad duration": {expires: &twoDays, want: unchanged, wantErr: "--for: invalid duration",
			args: []string{"--for", "a month"}},
		"bad date": {expires: &twoDays, want: unchanged, wantErr: "--until",
			args: []string{"--until", "2027-01-02"}},
		"wrong namespace": {expires: &twoDays, want: unchanged, wantErr: `not found in namespace "web"`,
			args: []string{"-n", "web", "--for", "1d"}},
	}
	i := 0
	for name, tc := range tests {
		i++
		objName := fmt.Sprintf("renew-%d", i)
		t.Run(name, func(t *testing.T) {
			c := &collabv1alpha1.Collaborator{
				ObjectMeta: metav1.ObjectMeta{Namespace: "renewals", Name: objName, Labels: tc.labels},
				Spec:       wti(objName + "@example.com"),
			}
			c.Spec.ProviderConfigRef.Name = "pc"
			if tc.expires != nil {
				c.Spec.ExpiresAt = &metav1.Time{Time: now.Add(*tc.expires)}
			}
			must(t, cl.Create(ctx, c))
			t.Cleanup(func() { _ = cl.Delete(ctx, c) })

			args := append([]string{"renew", objName, "--kubeconfig", kubeconfig}, tc.args...)
			stdout, stderr, err := collabCmd(t, args...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("renew: %v\n%s", err, stderr)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
			}
			for _, want := range tc.wantStdout {
				if want = strings.ReplaceAll(want, "NAME", objName); !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if len(tc.wantStderr) == 0 && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
			must(t, cl.Get(ctx, client.ObjectKeyFromObject(c), c))
			got := ""
			if c.Spec.ExpiresAt != nil {
				got = c.Spec.ExpiresAt.UTC().Format(time.RFC3339)
			}
			if got != tc.want {
				t.Errorf("spec.expiresAt %q, want %q", got, tc.want)
			}
		})
	}
}

// A Collaborator being deleted is refused: its access is being removed.
func TestRenewRefusesDeleting(t *testing.T) {
	cl, _ := sharedEnv(t)
	ctx := context.Background()
	c := &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Namespace: "renewals", Name: "leaving", Finalizers: []string{"test.collab.dev/hold"}},
		Spec:       wti("leaving@example.com"),
	}
	c.Spec.ProviderConfigRef.Name = "pc"
	must(t, cl.Create(ctx, c))
	must(t, cl.Delete(ctx, c))
	t.Cleanup(func() {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(c), c); err == nil {
			c.Finalizers = nil
			_ = cl.Update(ctx, c)
		}
	})
	for _, dryRun := range []bool{false, true} {
		args := []string{"renew", "leaving", "-n", "renewals", "--kubeconfig", shared.kubeconfig, "--for", "30d"}
		if dryRun {
			args = append(args, "--dry-run")
		}
		stdout, _, err := collabCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), "collaborator renewals/leaving: the Collaborator is being deleted") {
			t.Errorf("dry run %v: err %v, want a refusal of a Collaborator being deleted", dryRun, err)
		}
		if stdout != "" {
			t.Errorf("dry run %v: printed %q on a refusal", dryRun, stdout)
		}
	}
	must(t, cl.Get(ctx, client.ObjectKeyFromObject(c), c))
	if c.Spec.ExpiresAt != nil {
		t.Errorf("renewed a Collaborator being deleted: expiresAt %v", c.Spec.ExpiresAt)
	}
}
