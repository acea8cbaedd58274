// Package grant decides who owns a grant. Collaborators that name the same
// person on the same target through the same credentials object are one
// grant (API.md, "One grant, one owner"): only its owner, the oldest live
// declaration, writes to the provider, so a rename in Git (the new object
// applied, the old one pruned) or a duplicate never removes anyone.
package grant

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// IndexField indexes Collaborators by grant key, cluster-wide, so that a
// pass finds the other declarations of its grant in the cache without a
// List of every Collaborator.
const IndexField = ".grant"

// Key is a Collaborator's grant: its credentials object (the
// ProviderConfig, in the Collaborator's namespace, or the
// ClusterProviderConfig, the same from every namespace), the provider, the
// target and the member, the member case-folded as providers compare them.
// So one person declared through one ClusterProviderConfig on one target
// from two namespaces is one grant.
func Key(c *collabv1alpha1.Collaborator) string {
	s := &c.Spec
	creds := c.Namespace + "/" + s.ProviderConfigRef.Name
	if s.ProviderConfigRef.IsCluster() {
		// No namespace is named with capitals: this never collides with
		// a ProviderConfig's.
		creds = collabv1alpha1.KindClusterProviderConfig + "/" + s.ProviderConfigRef.Name
	}
	switch {
	case s.QuantConnect != nil:
		return strings.Join([]string{creds, collabv1alpha1.ProviderQuantConnect,
			strconv.FormatInt(s.QuantConnect.ProjectID, 10), strings.ToLower(s.QuantConnect.UserID)}, "\x00")
	case s.AppHarbor != nil:
		return strings.Join([]string{creds, collabv1alpha1.ProviderAppHarbor,
			s.AppHarbor.Application, strings.ToLower(s.AppHarbor.Email)}, "\x00")
	case s.WebTranslateIt != nil:
		return strings.Join([]string{creds, collabv1alpha1.ProviderWebTranslateIt,
			"", strings.ToLower(s.WebTranslateIt.Email)}, "\x00")
	}
	return ""
}

// Extract is the index function of IndexField.
func Extract(o client.Object) []string {
	c, ok := o.(*collabv1alpha1.Collaborator)
	if !ok {
		return nil
	}
	if k := Key(c); k != "" {
		return []string{k}
	}
	return nil
}

// Live reports whether c declares its grant now: not being deleted, not
// expired, and managing access (an Observe object never writes, so it
// never holds a grant for anyone).
func Live(c *collabv1alpha1.Collaborator, now time.Time) bool {
	return c.DeletionTimestamp.IsZero() && !c.Spec.ExpiredAt(now) &&
		c.Spec.ManagementPolicy != collabv1alpha1.ManagementObserve
}

// Declarations are the Collaborators of one grant.
type Declarations []collabv1alpha1.Collaborator

// Of lists c's grant from r (the manager's cache, through IndexField, or
// the API server when a decision must not rest on a cache that may lag).
func Of(ctx context.Context, r client.Reader, c *collabv1alpha1.Collaborator) (Declarations, error) {
	list := &collabv1alpha1.CollaboratorList{}
	if err := r.List(ctx, list, client.MatchingFields{IndexField: Key(c)}); err != nil {
		return nil, fmt.Errorf("listing the declarations of %s/%s's grant: %w", c.Namespace, c.Name, err)
	}
	return Declarations(list.Items), nil
}

// Owner is the oldest live declaration (creationTimestamp, then
// namespace/name), or nil when none is live.
func (d Declarations) Owner(now time.Time) *collabv1alpha1.Collaborator {
	live := make([]*collabv1alpha1.Collaborator, 0, len(d))
	for i := range d {
		if Live(&d[i], now) {
			live = append(live, &d[i])
		}
	}
	if len(live) == 0 {
		return nil
	}
	sort.Slice(live, func(i, j int) bool { return older(live[i], live[j]) })
	return live[0]
}

// OthersLive reports whether a live declaration other than c remains.
func (d Declarations) OthersLive(c *collabv1alpha1.Collaborator, now time.Time) bool {
	for i := range d {
		if d[i].UID != c.UID && Live(&d[i], now) {
			return true
		}
	}
	return false
}

func older(a, b *collabv1alpha1.Collaborator) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// Agree reports whether two declarations of one grant ask for the same
// access.
func Agree(a, b *collabv1alpha1.CollaboratorSpec) bool {
	switch {
	case a.QuantConnect != nil && b.QuantConnect != nil:
		return a.QuantConnect.Write == b.QuantConnect.Write && a.QuantConnect.LiveControl == b.QuantConnect.LiveControl
	case a.AppHarbor != nil && b.AppHarbor != nil:
		return roleOrDefault(a.AppHarbor.Role) == roleOrDefault(b.AppHarbor.Role)
	case a.WebTranslateIt != nil && b.WebTranslateIt != nil:
		return true
	}
	return false
}

func roleOrDefault(r collabv1alpha1.AppHarborRole) collabv1alpha1.AppHarborRole {
	if r == "" {
		return collabv1alpha1.AppHarborRoleCollaborator
	}
	return r
}

// Name names the owner for c's messages: namespace/name in c's namespace's
// terms, and only "another namespace" when it is elsewhere, so that no
// namespace learns another's object names.
func Name(owner, c *collabv1alpha1.Collaborator) string {
	if owner.Namespace != c.Namespace {
		return "a Collaborator in another namespace"
	}
	return fmt.Sprintf("Collaborator %q", owner.Name)
}
