// Package permit decides whether a ClusterProviderConfig's grants let a
// Collaborator or an AccessPolicy use its credentials (API.md,
// "ClusterProviderConfig"): one grant must match the object's namespace,
// its target and its member, and allow at least the access it asks for.
// It is pure: the caller brings the namespace's labels.
package permit

import (
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Request is what an object asks of a ClusterProviderConfig.
type Request struct {
	// Namespace is the object's namespace, and Labels its labels.
	Namespace string
	Labels    map[string]string
	// Provider is the provider block the object has.
	Provider string
	// Target is the QuantConnect project id (decimal) or the AppHarbor
	// application slug; "" for WebTranslateIt, which has none.
	Target string
	// Member is the QuantConnect user id or the email; "" for an
	// AccessPolicy, which asks for no member.
	Member string
	// Access is the access asked for (collabv1alpha1.AccessRead, ...); ""
	// asks for none (an AccessPolicy, WebTranslateIt).
	Access string
}

// ForCollaborator is what a Collaborator asks for (Labels left to the
// caller).
func ForCollaborator(c *collabv1alpha1.Collaborator) Request {
	r := Request{Namespace: c.Namespace, Provider: c.Spec.ProviderName()}
	switch s := &c.Spec; {
	case s.QuantConnect != nil:
		r.Target, r.Member = strconv.FormatInt(s.QuantConnect.ProjectID, 10), s.QuantConnect.UserID
		switch {
		case s.QuantConnect.LiveControl:
			r.Access = collabv1alpha1.AccessWriteLive
		case s.QuantConnect.Write:
			r.Access = collabv1alpha1.AccessWrite
		default:
			r.Access = collabv1alpha1.AccessRead
		}
	case s.AppHarbor != nil:
		r.Target, r.Member = s.AppHarbor.Application, s.AppHarbor.Email
		r.Access = collabv1alpha1.AccessCollaborator
		if s.AppHarbor.Role == collabv1alpha1.AppHarborRoleAdministrator {
			r.Access = collabv1alpha1.AccessAdministrator
		}
	case s.WebTranslateIt != nil:
		r.Member = s.WebTranslateIt.Email
	}
	return r
}

// ForPolicy is what an AccessPolicy asks for: its target, no member, no
// access (Labels left to the caller).
func ForPolicy(p *collabv1alpha1.AccessPolicy) Request {
	r := Request{Namespace: p.Namespace, Provider: p.Spec.ProviderName()}
	switch {
	case p.Spec.QuantConnect != nil:
		r.Target = strconv.FormatInt(p.Spec.QuantConnect.ProjectID, 10)
	case p.Spec.AppHarbor != nil:
		r.Target = p.Spec.AppHarbor.Application
	}
	return r
}

// stage is how far a grant matches a request, in the order a grant is
// read: namespace, then target, then member, then access.
type stage int

const (
	stageNone stage = iota
	stageNamespace
	stageTarget
	stageMember
	stageAll
)

// Check returns the grants that permit req, or none and a message naming
// the ClusterProviderConfig (name) and what the closest grants did not
// match. The message names only req's own namespace, target and member,
// and what the grants allow them: never another namespace.
func Check(name string, grants []collabv1alpha1.ClusterGrant, req Request) ([]collabv1alpha1.ClusterGrant, string) {
	var matched []collabv1alpha1.ClusterGrant
	best, bestAccess := stageNone, ""
	for i := range grants {
		g := &grants[i]
		s := match(g, req)
		if s == stageAll {
			matched = append(matched, *g)
			continue
		}
		if s > best {
			best, bestAccess = s, ""
		}
		if s == best && s == stageMember && (bestAccess == "" || rank(req.Provider, maxAccess(req.Provider, g)) > rank(req.Provider, bestAccess)) {
			bestAccess = maxAccess(req.Provider, g)
		}
	}
	if len(matched) > 0 {
		return matched, ""
	}
	return nil, denial(name, req, best, bestAccess)
}

// match is the last stage g matches req through.
func match(g *collabv1alpha1.ClusterGrant, req Request) stage {
	if !selectsNamespace(g, req.Namespace, req.Labels) {
		return stageNone
	}
	if req.Target != "" && !anyGlob(g.Targets, req.Target, false) {
		return stageNamespace
	}
	if req.Member != "" && !anyGlob(g.Members, req.Member, isEmail(req.Provider)) {
		return stageTarget
	}
	if req.Access != "" && rank(req.Provider, req.Access) > rank(req.Provider, maxAccess(req.Provider, g)) {
		return stageMember
	}
	return stageAll
}

// selectsNamespace reports whether g names the namespace or selects its
// labels. An invalid selector selects nothing.
func selectsNamespace(g *collabv1alpha1.ClusterGrant, ns string, nsLabels map[string]string) bool {
	for _, n := range g.Namespaces {
		if n == ns {
			return true
		}
	}
	if g.NamespaceSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(g.NamespaceSelector)
	return err == nil && sel.Matches(labels.Set(nsLabels))
}

// MembersCover reports whether one of grants lets its holder manage
// member (a QuantConnect user id; "" for a member whose email the
// provider does not tell, which only an omitted members list or a lone
// "*" covers).
func MembersCover(grants []collabv1alpha1.ClusterGrant, provider, member string) bool {
	for i := range grants {
		if anyGlob(grants[i].Members, member, isEmail(provider)) {
			return true
		}
	}
	return false
}

// anyGlob reports whether s matches one of patterns; no patterns match
// everything (an omitted list).
func anyGlob(patterns []string, s string, foldCase bool) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if foldCase {
			if Glob(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Glob(p, s) {
			return true
		}
	}
	return false
}

// Glob reports whether s matches pattern, where * matches any run of
// characters (none included) and every other character only itself.
func Glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}

// isEmail reports whether the provider's members are emails, compared
// case-insensitively.
func isEmail(provider string) bool {
	return provider != collabv1alpha1.ProviderQuantConnect
}

// maxAccess is g's maxAccess, or the provider's highest when omitted.
func maxAccess(provider string, g *collabv1alpha1.ClusterGrant) string {
	if g.MaxAccess != "" {
		return g.MaxAccess
	}
	switch provider {
	case collabv1alpha1.ProviderQuantConnect:
		return collabv1alpha1.AccessWriteLive
	case collabv1alpha1.ProviderAppHarbor:
		return collabv1alpha1.AccessAdministrator
	}
	return ""
}

// rank orders a provider's access levels, lowest first. A level of
// another provider ranks below all, so it never allows anything.
func rank(provider, access string) int {
	levels := map[string][]string{
		collabv1alpha1.ProviderQuantConnect: {collabv1alpha1.AccessRead, collabv1alpha1.AccessWrite, collabv1alpha1.AccessWriteLive},
		collabv1alpha1.ProviderAppHarbor:    {collabv1alpha1.AccessCollaborator, collabv1alpha1.AccessAdministrator},
	}[provider]
	for i, l := range levels {
		if l == access {
			return i
		}
	}
	return -1
}

// denial says what the closest grants lacked.
func denial(name string, req Request, best stage, bestAccess string) string {
	target := targetName(req)
	switch best {
	case stageNone:
		return fmt.Sprintf("ClusterProviderConfig %q grants namespace %q nothing", name, req.Namespace)
	case stageNamespace:
		return fmt.Sprintf("ClusterProviderConfig %q grants namespace %q no access to %s", name, req.Namespace, target)
	case stageTarget:
		return fmt.Sprintf("ClusterProviderConfig %q grants namespace %q access to %s, but not for member %q",
			name, req.Namespace, target, req.Member)
	default:
		return fmt.Sprintf("ClusterProviderConfig %q grants namespace %q at most %s on %s for member %q; this asks for %s",
			name, req.Namespace, bestAccess, target, req.Member, req.Access)
	}
}

// targetName names req's target for a message.
func targetName(req Request) string {
	switch req.Provider {
	case collabv1alpha1.ProviderQuantConnect:
		return "project " + req.Target
	case collabv1alpha1.ProviderAppHarbor:
		return fmt.Sprintf("application %q", req.Target)
	}
	return "the organization"
}
