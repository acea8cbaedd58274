package controller

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// newCollaboratorStatusWriter writes what a pass learned, ignoring a
// lastSyncTime that alone moved: that is not news, and skipping it keeps
// steady-state resyncs write-free.
func newCollaboratorStatusWriter(cl client.Client, c *collabv1alpha1.Collaborator) *statusWriter[*collabv1alpha1.Collaborator] {
	return newStatusWriter(cl, c,
		func(dst, src *collabv1alpha1.Collaborator) { dst.Status = src.Status },
		func(o *collabv1alpha1.Collaborator) {
			o.Status.ObservedGeneration = o.Generation
			o.Status.Provider, o.Status.Target, o.Status.Member, o.Status.Access = summarize(&o.Spec)
			o.Status.ExpiresAt = o.Spec.ExpiresAt
		},
		func(next, prev *collabv1alpha1.Collaborator) bool {
			a, b := next.Status.DeepCopy(), prev.Status.DeepCopy()
			a.LastSyncTime, b.LastSyncTime = nil, nil
			if !equality.Semantic.DeepEqual(a, b) {
				return false
			}
			next.Status.LastSyncTime = prev.Status.LastSyncTime
			return true
		})
}

// summarize computes the printer-column fields from the spec.
func summarize(s *collabv1alpha1.CollaboratorSpec) (prov, target, member, access string) {
	switch {
	case s.QuantConnect != nil:
		access = "read"
		if s.QuantConnect.Write {
			access = "write"
		}
		if s.QuantConnect.LiveControl {
			access += "+live"
		}
		return collabv1alpha1.ProviderQuantConnect, strconv.FormatInt(s.QuantConnect.ProjectID, 10), s.QuantConnect.UserID, access
	case s.AppHarbor != nil:
		return collabv1alpha1.ProviderAppHarbor, s.AppHarbor.Application, s.AppHarbor.Email, string(s.AppHarbor.Role)
	case s.WebTranslateIt != nil:
		return collabv1alpha1.ProviderWebTranslateIt, "organization", s.WebTranslateIt.Email, "member"
	}
	return "", "", "", ""
}

func now() *metav1.Time {
	t := metav1.Now()
	return &t
}
