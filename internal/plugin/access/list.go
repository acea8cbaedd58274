package access

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// DefaultPageSize is how many objects one List request asks for. Paging
// keeps each answer, and the API server's memory for it, bounded however
// many Collaborators there are; 500 is what kubectl asks for.
const DefaultPageSize = 500

// Request says what to read.
type Request struct {
	// Namespace to read; ignored when AllNamespaces.
	Namespace string
	// AllNamespaces reads every namespace, with one paginated List per kind.
	AllNamespaces bool
	// Member, when set, keeps only the rows of that person (Row.MatchesMember).
	Member string
	// PageSize is the List limit; DefaultPageSize when 0.
	PageSize int64
}

// Refusal is a List the API server forbade: the caller's RBAC does not let
// them read that kind there. The review goes on without it.
type Refusal struct {
	// Resource is the plural resource name, e.g. collaborators.collab.dev.
	Resource string
	// Namespace is the namespace refused, or "" for all namespaces.
	Namespace string
	// Err is the API server's answer.
	Err error
}

// String says what could not be read, for stderr.
func (r Refusal) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("cannot list %s in all namespaces (cluster-wide): forbidden; its rows are missing "+
			"(with -n NAMESPACE you may read the namespaces your Roles allow)", r.Resource)
	}
	return fmt.Sprintf("cannot list %s in namespace %s: forbidden; its rows are missing", r.Resource, r.Namespace)
}

// Result is what Review read.
type Result struct {
	// Rows are the rows, filtered and sorted.
	Rows []Row
	// Refused are the Lists the caller may not make.
	Refused []Refusal
}

// Resource names, as in RBAC rules and in the messages about refusals.
const (
	collaboratorsResource  = "collaborators.collab.dev"
	accessPoliciesResource = "accesspolicies.collab.dev"
)

// Review lists the Collaborators and AccessPolicies that req selects and
// returns their rows. A forbidden List becomes a Refusal; any other error
// ends the review, since its rows would be silently missing.
func Review(ctx context.Context, cl client.Reader, req Request) (*Result, error) {
	res := &Result{}
	keep := func(r *Row) bool { return req.Member == "" || r.MatchesMember(req.Member) }

	newCollaborators := func() *collabv1alpha1.CollaboratorList { return &collabv1alpha1.CollaboratorList{} }
	err := listPages(ctx, cl, req, collaboratorsResource, newCollaborators, func(l *collabv1alpha1.CollaboratorList) {
		for i := range l.Items {
			if r := CollaboratorRow(&l.Items[i]); keep(&r) {
				res.Rows = append(res.Rows, r)
			}
		}
	})
	if err != nil && !res.refused(collaboratorsResource, req, err) {
		return nil, err
	}
	newPolicies := func() *collabv1alpha1.AccessPolicyList { return &collabv1alpha1.AccessPolicyList{} }
	err = listPages(ctx, cl, req, accessPoliciesResource, newPolicies, func(l *collabv1alpha1.AccessPolicyList) {
		for i := range l.Items {
			for _, r := range PolicyRows(&l.Items[i]) {
				if keep(&r) {
					res.Rows = append(res.Rows, r)
				}
			}
		}
	})
	if err != nil && !res.refused(accessPoliciesResource, req, err) {
		return nil, err
	}
	Sort(res.Rows)
	return res, nil
}

// refused records err as a Refusal if it is one.
func (res *Result) refused(resource string, req Request, err error) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	ns := req.Namespace
	if req.AllNamespaces {
		ns = ""
	}
	res.Refused = append(res.Refused, Refusal{Resource: resource, Namespace: ns, Err: err})
	return true
}

// listPages Lists one kind page by page, handing each page to use before
// asking for the next, so that only one page of typed objects is held at a
// time, not the whole list. Each page is decoded into a new list: decoding
// into the previous one could leave its fields in reused items.
func listPages[L client.ObjectList](
	ctx context.Context, cl client.Reader, req Request, resource string, newList func() L, use func(L),
) error {
	limit := req.PageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	opts := []client.ListOption{client.Limit(limit)}
	if !req.AllNamespaces {
		opts = append(opts, client.InNamespace(req.Namespace))
	}
	for cont := ""; ; {
		list := newList()
		if err := cl.List(ctx, list, append(opts, client.Continue(cont))...); err != nil {
			return fmt.Errorf("listing %s: %w", resource, err)
		}
		use(list)
		if cont = list.GetContinue(); cont == "" {
			return nil
		}
	}
}
