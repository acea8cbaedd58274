package renew

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

func TestMergePatch(t *testing.T) {
	until := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		rv   string
		want string
	}{
		"for Git":     {want: `{"spec":{"expiresAt":"2027-01-02T00:00:00Z"}}`},
		"for the API": {rv: "7", want: `{"metadata":{"resourceVersion":"7"},"spec":{"expiresAt":"2027-01-02T00:00:00Z"}}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MergePatch(until, tc.rv)
			if err != nil || string(got) != tc.want {
				t.Errorf("MergePatch = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	until := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	later := metav1.NewTime(until.Add(time.Hour))
	tests := map[string]struct {
		c    collabv1alpha1.Collaborator
		want []string
	}{
		"no expiry before": {want: []string{"had no expiresAt"}},
		"shortened":        {c: collabv1alpha1.Collaborator{Spec: collabv1alpha1.CollaboratorSpec{ExpiresAt: &later}}, want: []string{"shortens"}},
		"flux": {c: collabv1alpha1.Collaborator{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps"}},
			Spec:       collabv1alpha1.CollaboratorSpec{ExpiresAt: &metav1.Time{}}},
			want: []string{"applied by Flux"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := warnings(&tc.c, until)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("warning %q lacks %q", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestPrintDryRun(t *testing.T) {
	until := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	patch, _ := MergePatch(until, "")
	var out bytes.Buffer
	if err := PrintDryRun(&out, "trading", "lee-q", &Result{Until: until, Patch: patch}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"spec":{"expiresAt":"2027-01-02T00:00:00Z"}}`, `  expiresAt: "2027-01-02T00:00:00Z"`,
		"spec.expiresAt none -> 2027-01-02T00:00:00Z"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out.String())
		}
	}
}
