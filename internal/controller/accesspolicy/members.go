package accesspolicy

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/permit"
	"github.com/collab-dev/collaborator-operator/internal/controller/usage"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// declared is what the cluster declares for a policy's target.
type declared struct {
	// ids are the members the policy's namespace declares through its
	// ProviderConfig: lower-cased QuantConnect user ids, or AppHarbor
	// collaborator ids (from collab.dev/external-id).
	ids map[string]bool
	// elsewhere are the members, keyed as ids, that live Collaborators of
	// another namespace or ProviderConfig declare on the same provider host
	// and target. They are never removed: removing them would only have
	// their Collaborator add them back, every cycle.
	elsewhere map[string]bool
	// pendingIDs counts the namespace's AppHarbor Collaborators that may be
	// creating a member this very moment (no collaborator id yet, or a
	// pending-create mark), and pendingElsewhere those of other namespaces
	// or ProviderConfigs on the same target.
	pendingIDs, pendingElsewhere int
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

// policyTargetKey is the policy's target as the target indexes key it.
func policyTargetKey(s *collabv1alpha1.AccessPolicySpec) string {
	switch {
	case s.QuantConnect != nil:
		return quantConnectKey(s.QuantConnect.ProjectID)
	case s.AppHarbor != nil:
		return appHarborKey(s.AppHarbor.Application)
	}
	return ""
}

// collaboratorTargetKey is the Collaborator's target as the target indexes
// key it, or "" for a provider without a whole list (WebTranslateIt).
func collaboratorTargetKey(s *collabv1alpha1.CollaboratorSpec) string {
	switch {
	case s.QuantConnect != nil:
		return quantConnectKey(s.QuantConnect.ProjectID)
	case s.AppHarbor != nil:
		return appHarborKey(s.AppHarbor.Application)
	}
	return ""
}

func quantConnectKey(project int64) string { return "quantconnect/" + strconv.FormatInt(project, 10) }
func appHarborKey(app string) string       { return "appharbor/" + app }

// hostKey is where a base URL points, lower-cased host and port (the
// scheme's default when none is given); "" when it cannot be parsed. The
// path is left out: QuantConnect's includes its API version.
func hostKey(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return strings.ToLower(u.Hostname()) + ":" + port
}

// declaredMembers collects who declares the policy's target: Collaborators
// not being deleted and not expired, whether Ready yet or not (one being
// created is declared, so a concurrent enforce pass never removes its
// member). Those in the policy's namespace with its ProviderConfig are its
// own; any other on the same provider host (host is the policy's
// ProviderConfig's, from hostKey) declares its member elsewhere. They come
// from the manager's cache through the target index, so a pass reads only
// the Collaborators of its project, never all of them. A Collaborator
// elsewhere whose ProviderConfig cannot be read is counted as on the same
// host: unsure, never remove.
func declaredMembers(ctx context.Context, cl client.Reader, p *collabv1alpha1.AccessPolicy, host string) (declared, error) {
	list := &collabv1alpha1.CollaboratorList{}
	key := policyTargetKey(&p.Spec)
	// Read only: the cache's objects need no copy.
	if err := cl.List(ctx, list, client.MatchingFields{IndexCollaboratorTarget: key}, client.UnsafeDisableDeepCopy); err != nil {
		return declared{}, fmt.Errorf("listing the Collaborators of %s: %w", key, err)
	}
	d := declared{ids: map[string]bool{}, elsewhere: map[string]bool{}}
	hosts := map[client.ObjectKey]string{}
	now := time.Now()
	for i := range list.Items {
		c := &list.Items[i]
		if collaboratorTargetKey(&c.Spec) != key || !c.DeletionTimestamp.IsZero() || c.Spec.ExpiredAt(now) {
			continue
		}
		own := sameCredentials(c, p)
		// Through a ClusterProviderConfig, own declarations come from any
		// namespace; only this namespace's are counted in messages.
		here := own && c.Namespace == p.Namespace
		if !own && !sameHost(ctx, cl, hosts, c, host) {
			continue
		}
		if c.Spec.ExpiresAt != nil && (d.nextExpiry.IsZero() || c.Spec.ExpiresAt.Time.Before(d.nextExpiry)) {
			d.nextExpiry = c.Spec.ExpiresAt.Time
		}
		id, pending := memberKey(c)
		switch {
		case own && id != "":
			d.ids[id] = true
		case id != "":
			d.elsewhere[id] = true
		}
		switch {
		case here && pending:
			d.pendingIDs++
		case pending:
			d.pendingElsewhere++
		}
	}
	return d, nil
}

// sameHost reports whether the Collaborator's ProviderConfig points at
// host, reading it from the cache once per pass; true when either side is
// unknown.
func sameHost(ctx context.Context, cl client.Reader, hosts map[client.ObjectKey]string, c *collabv1alpha1.Collaborator, host string) bool {
	k := usage.KeyOf(c.Namespace, c.Spec.ProviderConfigRef)
	h, seen := hosts[k]
	if !seen {
		if pc, err := usage.ProviderConfigOf(ctx, cl, c); err == nil {
			if ep, ok := usage.SpecOf(pc).Endpoint(); ok {
				h = hostKey(ep.BaseURL)
			}
		}
		hosts[k] = h
	}
	return h == "" || host == "" || h == host
}

// sameCredentials reports whether c declares through the policy's
// credentials object: its ProviderConfig in its namespace, or its
// ClusterProviderConfig from any namespace.
func sameCredentials(c *collabv1alpha1.Collaborator, p *collabv1alpha1.AccessPolicy) bool {
	return usage.KeyOf(c.Namespace, c.Spec.ProviderConfigRef) == usage.KeyOf(p.Namespace, p.Spec.ProviderConfigRef) &&
		c.Spec.ProviderConfigRef.IsCluster() == p.Spec.ProviderConfigRef.IsCluster()
}

// grantNote is the note of a member the policy's grant does not cover.
func grantNote(cpc string) string {
	return fmt.Sprintf("not among the members this namespace's grant of ClusterProviderConfig %q covers, so Enforce never removes them", cpc)
}

// limitToGrants marks the unmanaged members that the policy's own grants
// of a ClusterProviderConfig (those that permit its namespace and target;
// nil for a ProviderConfig) do not cover: a namespace removes only the
// members it could have declared. AppHarbor's list has no email, so there
// only a grant for any member covers them.
func (s *sorting) limitToGrants(p *collabv1alpha1.AccessPolicy, grants []collabv1alpha1.ClusterGrant) {
	if grants == nil {
		return
	}
	for i := range s.unmanaged {
		f := &s.unmanaged[i]
		member := ""
		if p.Spec.QuantConnect != nil {
			member = f.ID
		}
		if f.note == "" && !f.elsewhere && !permit.MembersCover(grants, p.Spec.ProviderName(), member) {
			f.note = grantNote(p.Spec.ProviderConfigRef.Name)
		}
	}
}

// memberKey is how the Collaborator's member is matched in the list (the
// lower-cased QuantConnect user id, the AppHarbor collaborator id), and
// whether it may be creating a member right now. An AppHarbor
// Collaborator learns its member's id only from the create's answer: one
// without an id, or with a pending-create mark (a re-create after an
// expiry or a manual removal keeps the old id meanwhile), may have added
// someone it cannot name yet. A stalled one is creating nothing.
func memberKey(c *collabv1alpha1.Collaborator) (id string, pending bool) {
	switch {
	case c.Spec.QuantConnect != nil:
		return strings.ToLower(c.Spec.QuantConnect.UserID), false
	case c.Spec.AppHarbor != nil:
		id = c.Annotations[collabv1alpha1.ExternalIDAnnotation]
		if id == "" && c.Status.AppHarbor != nil {
			id = c.Status.AppHarbor.ID
		}
		_, marked := c.Annotations[collabv1alpha1.PendingCreateAnnotation]
		pending = (id == "" || marked) && !meta.IsStatusConditionTrue(c.Status.Conditions, collabv1alpha1.ConditionStalled)
		return id, pending
	}
	return "", false
}

// adminNote is the note of an AppHarbor administrator no Collaborator
// declares.
const adminNote = "AppHarbor does not say which account the ProviderConfig's token belongs to, so an administrator " +
	"is never removed: declare them with a Collaborator, or add them to spec.exempt (where the token's own account belongs)"

// finding is a member no Collaborator of the policy's own declares.
type finding struct {
	provider.Member
	// elsewhere is set when a Collaborator elsewhere on the same target
	// declares the member.
	elsewhere bool
	// note says why the member is never removed, when that is not
	// elsewhere.
	note string
}

// removable reports whether Enforce removes the member.
func (f finding) removable() bool { return !f.elsewhere && f.note == "" }

// sorting is a member list split by what the policy does with each.
type sorting struct {
	// managed counts the members the policy's own Collaborators declare.
	managed int
	// unmanaged are the other members, by name; never the owner, the
	// credentials' account or an exempt one.
	unmanaged []finding
}

// undeclared are the unmanaged members no Collaborator anywhere declares:
// they keep a policy from Compliant, removable or not. One declared
// elsewhere is listed, but is declared (API.md: unmanaged means "declared
// by none"), so the project does hold only declared members.
func (s sorting) undeclared() []finding {
	return filter(s.unmanaged, func(f finding) bool { return !f.elsewhere })
}

// removable are the unmanaged members Enforce removes.
func (s sorting) removable() []finding {
	return filter(s.unmanaged, finding.removable)
}

// kept are the unmanaged members Enforce never removes.
func (s sorting) kept() []finding {
	return filter(s.unmanaged, func(f finding) bool { return !f.removable() })
}

func filter(fs []finding, keep func(finding) bool) []finding {
	var out []finding
	for _, f := range fs {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// sortMembers splits the provider's members into managed and unmanaged.
func sortMembers(p *collabv1alpha1.AccessPolicy, members []provider.Member, d declared) sorting {
	exempt := map[string]bool{}
	for _, e := range p.Spec.Exempt {
		exempt[strings.ToLower(e)] = true
	}
	var s sorting
	for _, m := range members {
		// QuantConnect user ids are matched as the Collaborators name
		// them, whatever the case; AppHarbor ids are opaque.
		k := m.ID
		if p.Spec.QuantConnect != nil {
			k = strings.ToLower(m.ID)
		}
		switch {
		case m.Owner || m.Self:
			continue
		case d.ids[k]:
			s.managed++
			continue
		case isExempt(exempt, m):
			continue
		}
		f := finding{Member: m, elsewhere: d.elsewhere[k]}
		if p.Spec.AppHarbor != nil && strings.EqualFold(m.Access, string(collabv1alpha1.AppHarborRoleAdministrator)) {
			f.note = adminNote
		}
		s.unmanaged = append(s.unmanaged, f)
	}
	sort.SliceStable(s.unmanaged, func(i, j int) bool { return memberName(s.unmanaged[i].Member) < memberName(s.unmanaged[j].Member) })
	return s
}

// isExempt matches QuantConnect user ids (publicId, and the numeric uid),
// and AppHarbor user names (Label) or ids; never Name, which for
// QuantConnect is a display name each member chooses: matching it would
// let anyone exempt themselves by calling themselves "ci-bot".
func isExempt(exempt map[string]bool, m provider.Member) bool {
	for _, k := range []string{m.ID, m.UserID, m.Label} {
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

func unmanagedStatus(fs []finding) []collabv1alpha1.UnmanagedMember {
	if len(fs) == 0 {
		return nil
	}
	out := make([]collabv1alpha1.UnmanagedMember, 0, len(fs))
	for _, f := range fs {
		out = append(out, collabv1alpha1.UnmanagedMember{
			Member: memberName(f.Member), Access: f.Access, Note: f.note, DeclaredElsewhere: f.elsewhere,
		})
	}
	return out
}
