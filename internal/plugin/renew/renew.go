// Package renew moves a Collaborator's spec.expiresAt, or, for those who
// keep Collaborators in Git, says what to change there instead.
package renew

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Request says which Collaborator to renew and until when.
type Request struct {
	// Namespace and Name of the Collaborator.
	Namespace, Name string
	// Until is the new spec.expiresAt; it is written in whole seconds, as
	// RFC 3339 holds it.
	Until time.Time
	// DryRun reads the Collaborator but changes nothing.
	DryRun bool
}

// Result is what Renew did, or, with DryRun, would do.
type Result struct {
	// Previous is the spec.expiresAt found, nil when there was none.
	Previous *metav1.Time
	// Until is the new spec.expiresAt, in UTC whole seconds.
	Until time.Time
	// Patch is the JSON merge patch that sets it.
	Patch []byte
	// Warnings are things the caller should know: a shortened access, an
	// expiry where there was none, a GitOps tool that will undo the patch.
	Warnings []string
}

// ErrDeleting is returned for a Collaborator being deleted: its access is
// being removed, and a new expiresAt would not keep it.
var ErrDeleting = errors.New("the Collaborator is being deleted; renewing it would not keep the access: " +
	"re-create it (or remove its deletion from Git) instead")

// Renew sets spec.expiresAt of the Collaborator with a merge patch that
// carries the resourceVersion it checked, so that it never renews an object
// that started being deleted after the check; on a conflict it checks again.
func Renew(ctx context.Context, cl client.Client, req Request) (*Result, error) {
	until := req.Until.UTC().Truncate(time.Second)
	res := &Result{Until: until}
	var err error
	if res.Patch, err = MergePatch(until, ""); err != nil {
		return nil, err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var c collabv1alpha1.Collaborator
		if err := cl.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Name}, &c); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("collaborator %q not found in namespace %q: %w", req.Name, req.Namespace, err)
			}
			return fmt.Errorf("reading collaborator %s/%s: %w", req.Namespace, req.Name, err)
		}
		if c.DeletionTimestamp != nil {
			return fmt.Errorf("collaborator %s/%s: %w", req.Namespace, req.Name, ErrDeleting)
		}
		res.Previous, res.Warnings = c.Spec.ExpiresAt, warnings(&c, until)
		if req.DryRun {
			return nil
		}
		guarded, err := MergePatch(until, c.ResourceVersion)
		if err != nil {
			return err
		}
		if err := cl.Patch(ctx, &c, client.RawPatch(types.MergePatchType, guarded)); err != nil {
			return fmt.Errorf("patching collaborator %s/%s: %w", req.Namespace, req.Name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// MergePatch is the JSON merge patch setting spec.expiresAt to until; a
// non-empty resourceVersion makes the API server refuse it if the object
// changed since it was read.
func MergePatch(until time.Time, resourceVersion string) ([]byte, error) {
	patch := map[string]any{"spec": map[string]any{"expiresAt": until.UTC().Format(time.RFC3339)}}
	if resourceVersion != "" {
		patch["metadata"] = map[string]any{"resourceVersion": resourceVersion}
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, fmt.Errorf("encoding the patch: %w", err)
	}
	return b, nil
}

// gitOpsMarks are labels and annotations that Flux and Argo CD put on what
// they apply: such an object goes back to what Git says at the next sync.
var gitOpsMarks = []struct{ key, tool string }{
	{"kustomize.toolkit.fluxcd.io/name", "Flux"},
	{"helm.toolkit.fluxcd.io/name", "Flux"},
	{"argocd.argoproj.io/tracking-id", "Argo CD"},
	{"argocd.argoproj.io/instance", "Argo CD"},
}

func warnings(c *collabv1alpha1.Collaborator, until time.Time) []string {
	var out []string
	switch prev := c.Spec.ExpiresAt; {
	case prev == nil:
		out = append(out, "it had no expiresAt: it now expires at "+until.Format(time.RFC3339))
	case prev.After(until):
		out = append(out, fmt.Sprintf("this shortens the access: it expired at %s before",
			prev.UTC().Format(time.RFC3339)))
	}
	for _, m := range gitOpsMarks {
		_, label := c.Labels[m.key]
		_, annotation := c.Annotations[m.key]
		if label || annotation {
			out = append(out, fmt.Sprintf("it is applied by %s (%s): the next sync puts back what Git says; "+
				"commit the change there (see --dry-run)", m.tool, m.key))
			break
		}
	}
	return out
}

// PrintDryRun prints, for a GitOps user, the patch and the manifest line
// that make the same change.
func PrintDryRun(w io.Writer, namespace, name string, res *Result) error {
	prev := "none"
	if res.Previous != nil {
		prev = res.Previous.UTC().Format(time.RFC3339)
	}
	until := res.Until.Format(time.RFC3339)
	_, err := fmt.Fprintf(w, `# Collaborator %s/%s: spec.expiresAt %s -> %s (dry run: nothing was changed)
# JSON merge patch, as for kubectl patch collaborator %s -n %s --type merge -p '...':
%s
# or, in the Collaborator's manifest in Git, under spec:
  expiresAt: %q
`, namespace, name, prev, until, name, namespace, res.Patch, until)
	if err != nil {
		return fmt.Errorf("printing the dry run: %w", err)
	}
	return nil
}
