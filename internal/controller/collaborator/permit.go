package collaborator

import (
	"context"
	"errors"
	"fmt"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/connector"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/grant"
)

// permitted drops from decl the declarations that a ClusterProviderConfig's
// grants do not permit (NotPermitted ones); declarations through a
// ProviderConfig all stay.
//
// A NotPermitted declaration is no live candidate of its grant, neither
// for owning it nor for keeping the person when another declaration ends:
//   - As owner it would write nothing (it makes no provider call), so a
//     permitted declaration behind it would wait forever for a person no
//     one adds: a namespace outside the grants could block one inside.
//   - As the "other declaration still live" of a deleting or expiring
//     one, it would keep the person at the provider with nobody entitled
//     to them: a namespace outside the grants could keep access alive
//     that the granted namespace revoked.
//
// Neither choice can make a permitted declaration lose the person: the
// filter only removes candidates, so a permitted one is still the owner
// or the live one whenever it was before. What it can do is let the last
// permitted declaration's delete remove the person although a NotPermitted
// one still names them, which is the point. A declaration whose
// permission cannot be decided (a read failed) fails the whole decision,
// to be retried: never guessed.
func (r *Reconciler) permitted(ctx context.Context, decl grant.Declarations) (grant.Declarations, error) {
	out := decl[:0:0]
	for i := range decl {
		err := r.Connector.Permit(ctx, connector.CollaboratorUse(&decl[i]))
		var se *engine.SetupError
		switch {
		case err == nil:
			out = append(out, decl[i])
		case errors.As(err, &se) && se.Reason == collabv1alpha1.ReasonNotPermitted:
			// Not a candidate (see above).
		default:
			return nil, fmt.Errorf("deciding whether %s/%s is permitted: %w", decl[i].Namespace, decl[i].Name, err)
		}
	}
	return out, nil
}

// shareID reports whether two declarations of one grant may pass the
// provider's id of its person (collab.dev/external-id) to each other: in
// one namespace, and through a ClusterProviderConfig from any namespace
// its grants permit (the callers pass only permitted declarations). The id
// is the provider's name for the person on the target, which both
// namespaces are granted; nothing of the other namespace's Collaborator
// (its name, its namespace) comes with it. For AppHarbor it is the only
// way to find the person: without it, a duplicate in another namespace
// would never see them, and would try to add them again once it owns the
// grant.
func shareID(a, b *collabv1alpha1.Collaborator) bool {
	return a.Namespace == b.Namespace || (a.Spec.ProviderConfigRef.IsCluster() && grant.Key(a) == grant.Key(b))
}
