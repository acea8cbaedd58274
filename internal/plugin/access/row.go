// Package access answers "who has access to what" from what the caller may
// read of the cluster: one Row per person and target, from the Collaborators
// and from the members AccessPolicies report that no Collaborator declares.
// It reads only those two kinds with the caller's own credentials; it never
// reads Secrets nor calls a provider, so what it shows is what the operator
// last observed.
package access

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// Where a Row comes from: its Source field.
const (
	// SourceCollaborator marks a row for a Collaborator; Name is its name.
	SourceCollaborator = "Collaborator"
	// SourceAccessPolicy marks an unmanaged member an AccessPolicy reports;
	// Name is the AccessPolicy's name.
	SourceAccessPolicy = "AccessPolicy"
)

// StateUnmanaged is the State of every row from an AccessPolicy's
// status.unmanaged: a member at the provider that no Collaborator declares.
const StateUnmanaged = "unmanaged"

// ListKind and ListAPIVersion identify the JSON and YAML output. The kind is
// never served by the API server: it only names the shape of the output, so
// that scripts can check what they parse.
const (
	// ListKind is the output's kind.
	ListKind = "AccessList"
	// ListAPIVersion is the output's apiVersion.
	ListAPIVersion = "collab.dev/v1alpha1"
)

// Row is one person's access to one target. Its JSON field names are part of
// the plugin's documented output (docs/access-review.md) and the CSV header
// uses the same names, so they must not change.
type Row struct {
	// Namespace of the Collaborator or AccessPolicy.
	Namespace string `json:"namespace"`
	// Name of the Collaborator, or of the AccessPolicy for an unmanaged row.
	Name string `json:"name"`
	// Source is SourceCollaborator or SourceAccessPolicy.
	Source string `json:"source"`
	// Provider is QuantConnect, AppHarbor or WebTranslateIt.
	Provider string `json:"provider"`
	// Target is the project id, the application slug or "organization".
	Target string `json:"target"`
	// Member is the QuantConnect user id or the email (AppHarbor,
	// WebTranslateIt); for an unmanaged row, what the AccessPolicy reports
	// (a QuantConnect user id, an AppHarbor user name).
	Member string `json:"member"`
	// Email is the person's email when known: the spec's for AppHarbor and
	// WebTranslateIt, the one QuantConnect reported for a QuantConnect
	// Collaborator; empty otherwise.
	Email string `json:"email"`
	// Access is read or write (+live) for QuantConnect, the role for
	// AppHarbor, "member" for WebTranslateIt.
	Access string `json:"access"`
	// State is the Collaborator's Ready reason (empty before the operator
	// wrote one), or StateUnmanaged.
	State string `json:"state"`
	// ExpiresAt is the Collaborator's spec.expiresAt, or null.
	ExpiresAt *metav1.Time `json:"expiresAt"`
	// DeclaredElsewhere is, for an unmanaged row, the AccessPolicy's word
	// that a Collaborator outside its namespace and ProviderConfig declares
	// the member on the same target.
	DeclaredElsewhere bool `json:"declaredElsewhere"`
	// Note is, for an unmanaged row, why the operator never removes it.
	Note string `json:"note"`
}

// List is the rows as one object, which the cli-runtime JSON and YAML
// printers need: they print runtime.Objects with a kind.
type List struct {
	metav1.TypeMeta `json:",inline"`
	// Items are the rows, sorted by member, then target.
	Items []Row `json:"items"`
}

// NewList returns rows as a List with its kind set.
func NewList(rows []Row) *List {
	if rows == nil {
		rows = []Row{} // "items": [] rather than null, for scripts
	}
	l := &List{Items: rows}
	l.SetGroupVersionKind(schema.FromAPIVersionAndKind(ListAPIVersion, ListKind))
	return l
}

// DeepCopyObject implements runtime.Object.
func (l *List) DeepCopyObject() runtime.Object {
	out := &List{TypeMeta: l.TypeMeta, Items: make([]Row, len(l.Items))}
	for i, r := range l.Items {
		if r.ExpiresAt != nil {
			r.ExpiresAt = r.ExpiresAt.DeepCopy()
		}
		out.Items[i] = r
	}
	return out
}

// CollaboratorRow is the row of one Collaborator. It summarises the spec as
// the controller does for the printer columns (CollaboratorSpec.Summary),
// rather than reading those status fields, so that a Collaborator the operator has not reconciled yet
// still shows who it is for.
func CollaboratorRow(c *collabv1alpha1.Collaborator) Row {
	r := Row{
		Namespace: c.Namespace, Name: c.Name, Source: SourceCollaborator,
		Provider: c.Spec.ProviderName(), ExpiresAt: c.Spec.ExpiresAt,
	}
	sum := c.Spec.Summary()
	r.Target, r.Member, r.Access = sum.Target, sum.Member, sum.Access
	switch {
	case c.Spec.QuantConnect != nil:
		if q := c.Status.QuantConnect; q != nil {
			r.Email = q.Email
		}
	case c.Spec.AppHarbor != nil, c.Spec.WebTranslateIt != nil:
		r.Email = sum.Member
	}
	for i := range c.Status.Conditions {
		if c.Status.Conditions[i].Type == collabv1alpha1.ConditionReady {
			r.State = c.Status.Conditions[i].Reason
		}
	}
	return r
}

// PolicyRows are the rows of an AccessPolicy's unmanaged members.
func PolicyRows(p *collabv1alpha1.AccessPolicy) []Row {
	if len(p.Status.Unmanaged) == 0 {
		return nil
	}
	target := p.Status.Target
	switch {
	case p.Spec.QuantConnect != nil:
		target = strconv.FormatInt(p.Spec.QuantConnect.ProjectID, 10)
	case p.Spec.AppHarbor != nil:
		target = p.Spec.AppHarbor.Application
	}
	rows := make([]Row, 0, len(p.Status.Unmanaged))
	for _, u := range p.Status.Unmanaged {
		rows = append(rows, Row{
			Namespace: p.Namespace, Name: p.Name, Source: SourceAccessPolicy,
			Provider: p.Spec.ProviderName(), Target: target, Member: u.Member, Access: u.Access,
			State: StateUnmanaged, DeclaredElsewhere: u.DeclaredElsewhere, Note: u.Note,
		})
	}
	return rows
}

// MatchesMember reports whether the row is the person named by idOrEmail:
// a user id or name is compared exactly with Member, an email (anything with
// an @) case-insensitively with Member and Email, since mail providers treat
// addresses so and people type them with any case.
func (r *Row) MatchesMember(idOrEmail string) bool {
	if !strings.Contains(idOrEmail, "@") {
		return r.Member == idOrEmail
	}
	return strings.EqualFold(r.Member, idOrEmail) || (r.Email != "" && strings.EqualFold(r.Email, idOrEmail))
}

// Sort orders rows by member, then target. Members compare without case, so
// that one person's emails, however typed, sort together; the rest of the
// key only makes the order, and so the golden files and the diffs between
// two reviews, stable.
func Sort(rows []Row) {
	keys := make(map[string]string, len(rows)) // lower-cased members, computed once
	lower := func(s string) string {
		k, ok := keys[s]
		if !ok {
			k = strings.ToLower(s)
			keys[s] = k
		}
		return k
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(lower(a.Member), lower(b.Member)),
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Namespace, b.Namespace),
			cmp.Compare(a.Source, b.Source),
			cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Member, b.Member),
		)
	})
}
