package connector

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/engine"
	"github.com/collab-dev/collaborator-operator/internal/controller/permit"
)

// Use is an object that asks for credentials: a Collaborator or an
// AccessPolicy, its reference, and what it asks a ClusterProviderConfig to
// permit.
type Use struct {
	// Kind names the object's kind in messages.
	Kind string
	// Ref is its providerConfigRef.
	Ref collabv1alpha1.ProviderConfigReference
	// Request is what it asks for (namespace, provider, target, member,
	// access); Connector fills the namespace's labels.
	Request permit.Request
}

// CollaboratorUse is what a Collaborator asks for.
func CollaboratorUse(c *collabv1alpha1.Collaborator) Use {
	return Use{Kind: "Collaborator", Ref: c.Spec.ProviderConfigRef, Request: permit.ForCollaborator(c)}
}

// PolicyUse is what an AccessPolicy asks for.
func PolicyUse(p *collabv1alpha1.AccessPolicy) Use {
	return Use{Kind: "AccessPolicy", Ref: p.Spec.ProviderConfigRef, Request: permit.ForPolicy(p)}
}

// For resolves the credentials object u references, checks that a
// ClusterProviderConfig's grants permit u (before anything else is said
// about it, so a namespace outside the grants learns nothing of the
// credentials), that it configures the provider u is for, and connects.
func (k *Connector) For(ctx context.Context, u Use) (*Connection, error) {
	if !u.Ref.IsCluster() {
		pc, err := k.ProviderConfig(ctx, u.Request.Namespace, u.Ref.Name)
		if err != nil {
			return nil, err
		}
		if err := mismatch(collabv1alpha1.KindProviderConfig, pc.Name, &pc.Spec, u); err != nil {
			return nil, err
		}
		return k.Connect(ctx, pc)
	}
	cpc, grants, err := k.permitted(ctx, u)
	if err != nil {
		return nil, err
	}
	if err := mismatch(collabv1alpha1.KindClusterProviderConfig, cpc.Name, &cpc.Spec.ProviderConfigSpec, u); err != nil {
		return nil, err
	}
	conn, err := k.Connect(ctx, cpc)
	if err != nil {
		return nil, err
	}
	// A copy: a fresh build is the cache's own entry, shared by every use.
	use := *conn
	use.Grants = grants
	return &use, nil
}

// Permit reports whether u may use the credentials it references: nil for
// a ProviderConfig and for a ClusterProviderConfig whose grants permit it
// or that is not found (whoever connects reports that), a NotPermitted
// SetupError otherwise, or the error that kept it from deciding. It makes
// no provider call.
func (k *Connector) Permit(ctx context.Context, u Use) error {
	if !u.Ref.IsCluster() {
		return nil
	}
	_, _, err := k.permitted(ctx, u)
	if se := (*engine.SetupError)(nil); errors.As(err, &se) && se.Reason == collabv1alpha1.ReasonProviderConfigNotFound {
		return nil
	}
	return err
}

// permitted reads the ClusterProviderConfig u references and the grants
// that permit u.
func (k *Connector) permitted(ctx context.Context, u Use) (*collabv1alpha1.ClusterProviderConfig, []collabv1alpha1.ClusterGrant, error) {
	if k.clusterNS == "" {
		return nil, nil, notServed()
	}
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	err := k.client.Get(ctx, types.NamespacedName{Name: u.Ref.Name}, cpc)
	if apierrors.IsNotFound(err) {
		return nil, nil, &engine.SetupError{
			Reason:  collabv1alpha1.ReasonProviderConfigNotFound,
			Message: fmt.Sprintf("ClusterProviderConfig %q not found; create it, the operator retries", u.Ref.Name),
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading ClusterProviderConfig %s: %w", u.Ref.Name, err)
	}
	req := u.Request
	if req.Labels, err = k.namespaceLabels(ctx, req.Namespace); err != nil {
		return nil, nil, err
	}
	grants, denied := permit.Check(cpc.Name, cpc.Spec.Grants, req)
	if len(grants) == 0 {
		msg := fmt.Sprintf("%s, so no provider call is made for this %s", denied, u.Kind)
		if u.Request.Member != "" {
			// A Collaborator: its deletion waits too.
			msg += ", its deletion included (deletionPolicy Orphan releases it without a call)"
		}
		return nil, nil, &engine.SetupError{Reason: collabv1alpha1.ReasonNotPermitted, Terminal: true, Message: msg}
	}
	return cpc, grants, nil
}

// namespaceLabels reads a namespace's labels from the manager's cache
// (Namespaces are watched by metadata only).
func (k *Connector) namespaceLabels(ctx context.Context, name string) (map[string]string, error) {
	ns := &metav1.PartialObjectMetadata{}
	ns.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
	err := k.client.Get(ctx, types.NamespacedName{Name: name}, ns)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the labels of namespace %s: %w", name, err)
	}
	return ns.Labels, nil
}

// mismatch refuses a credentials object of another provider than the
// object's block.
func mismatch(kind, name string, spec *collabv1alpha1.ProviderConfigSpec, u Use) error {
	if ep, ok := spec.Endpoint(); ok && ep.Provider != u.Request.Provider {
		return &engine.SetupError{
			Reason:   collabv1alpha1.ReasonProviderMismatch,
			Message:  fmt.Sprintf("%s %q configures %s but this %s has a %s block", kind, name, ep.Provider, u.Kind, u.Request.Provider),
			Terminal: true,
		}
	}
	return nil
}

// notServed is the refusal of a ClusterProviderConfig by an installation
// that serves none.
func notServed() error {
	return &engine.SetupError{
		Reason: collabv1alpha1.ReasonNotPermitted, Terminal: true,
		Message: "This installation of the operator serves only the namespaces it watches (--watch-namespaces) and no " +
			"ClusterProviderConfig, so no provider call is made for this object; reference a ProviderConfig in its namespace instead",
	}
}
