package accesspolicy

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// declared is what a policy's namespace declares for its target.
type declared struct {
	// ids are the declared members: lower-cased QuantConnect user ids, or
	// AppHarbor collaborator ids (from collab.dev/external-id).
	ids map[string]bool
	// pendingIDs counts AppHarbor Collaborators that have no collaborator
	// id yet and are not stalled: they may be creating a member now.
	pendingIDs int
	// nextExpiry is the earliest future expiresAt among them, or zero.
	nextExpiry time.Time
}

// policyTarget is the policy's target for the provider's Lister.
func policyTarget(p *collabv1alpha1.AccessPolicy) provider.Target {
	switch {
	case p.Spec.QuantConnect != nil:
		return provider.Target{ProjectID: p.Spec.QuantConnect.ProjectID}
	case p.Spec.AppHarbor != nil:
		return provider.Target{Application: p.Spec.AppHarbor.Application}
	}
	return provider.Target{}
}

// targetOf names a policy's target for the printer column.
func targetOf(s *collabv1alpha1.AccessPolicySpec) string {
	switch {
	case s.QuantConnect != nil:
		return strconv.FormatInt(s.QuantConnect.ProjectID, 10)
	case s.AppHarbor != nil:
		return s.AppHarbor.Application
	}
	return ""
}

// covers reports whether the Collaborator's provider object is the policy's
// target (the ProviderConfig is matched by the caller's index query).
func covers(p *collabv1alpha1.AccessPolicy, c *collabv1alpha1.Collaborator) bool {
	switch {
	case p.Spec.QuantConnect != nil:
		return c.Spec.QuantConnect != nil && c.Spec.QuantConnect.ProjectID == p.Spec.QuantConnect.ProjectID
	case p.Spec.AppHarbor != nil:
		return c.Spec.AppHarbor != nil && c.Spec.AppHarbor.Application == p.Spec.AppHarbor.Application
	}
	return false
}

// declaredMembers collects the members the policy's namespace declares:
// Collaborators with the same ProviderConfig and target, not being deleted
// and not expired, whether Ready yet or not (one being created is
// declared, so a concurrent enforce pass never removes its member). They
// come from the manager's cache through the providerConfigRef index.
func declaredMembers(ctx context.Context, cl client.Reader, p *collabv1alpha1.AccessPolicy) (declared, error) {
	list := &collabv1alpha1.CollaboratorList{}
	// Read only: the cache's objects need no copy.
	if err := cl.List(ctx, list, client.InNamespace(p.Namespace),
		client.MatchingFields{usage.IndexProviderConfigRef: p.Spec.ProviderConfigRef.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return declared{}, fmt.Errorf("listing Collaborators of ProviderConfig %s/%s: %w", p.Namespace, p.Spec.ProviderConfigRef.Name, err)
	}
	d := declared{ids: map[string]bool{}}
	now := time.Now()
	for i := range list.Items {
		c := &list.Items[i]
		if !covers(p, c) || !c.DeletionTimestamp.IsZero() || c.Spec.ExpiredAt(now) {
			continue
		}
		if c.Spec.ExpiresAt != nil && (d.nextExpiry.IsZero() || c.Spec.ExpiresAt.Time.Before(d.nextExpiry)) {
			d.nextExpiry = c.Spec.ExpiresAt.Time
		}
		switch {
		case c.Spec.QuantConnect != nil:
			d.ids[strings.ToLower(c.Spec.QuantConnect.UserID)] = true
		case c.Spec.AppHarbor != nil:
			id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]
			if id == "" && c.Status.AppHarbor != nil {
				id = c.Status.AppHarbor.ID
			}
			if id != "" {
				d.ids[id] = true
			} else if !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionStalled) {
				d.pendingIDs++
			}
		}
	}
	return d, nil
}

// sorting is a member list split by what the policy does with each.
type sorting struct {
	// managed counts the members a Collaborator declares.
	managed int
	// unmanaged are the members declared by none, in the provider's
	// order; never the owner, the credentials' account or an exempt one.
	unmanaged []provider.Member
}

// sortMembers splits the provider's members into managed and unmanaged.
func sortMembers(p *collabv1alpha1.AccessPolicy, members []provider.Member, d declared) sorting {
	exempt := map[string]bool{}
	for _, e := range p.Spec.Exempt {
		exempt[strings.ToLower(e)] = true
	}
	var s sorting
	for _, m := range members {
		switch {
		case m.Owner || m.Self:
			continue
		case p.Spec.QuantConnect != nil && d.ids[strings.ToLower(m.ID)]:
			s.managed++
		case p.Spec.AppHarbor != nil && d.ids[m.ID]:
			s.managed++
		case isExempt(exempt, m):
			continue
		default:
			s.unmanaged = append(s.unmanaged, m)
		}
	}
	sort.SliceStable(s.unmanaged, func(i, j int) bool { return memberName(s.unmanaged[i]) < memberName(s.unmanaged[j]) })
	return s
}

// isExempt matches QuantConnect user ids, and AppHarbor user names or ids.
func isExempt(exempt map[string]bool, m provider.Member) bool {
	for _, k := range []string{m.ID, m.UserID, m.Name, m.Label} {
		if k != "" && exempt[strings.ToLower(k)] {
			return true
		}
	}
	return false
}

// memberName is how a member is named in status, messages and Events: the
// QuantConnect user id, or the AppHarbor user name (its collaborator id
// when the list gave none).
func memberName(m provider.Member) string {
	if m.Label != "" {
		return m.Label
	}
	return m.ID
}

func unmanagedStatus(ms []provider.Member) []collabv1alpha1.UnmanagedMember {
	if len(ms) == 0 {
		return nil
	}
	out := make([]collabv1alpha1.UnmanagedMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, collabv1alpha1.UnmanagedMember{Member: memberName(m), Access: m.Access})
	}
	return out
}
