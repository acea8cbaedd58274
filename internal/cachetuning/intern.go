package cachetuning

import (
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// maxInterned bounds the table of shared strings. The values interned are
// the ones that repeat across Collaborators (kinds, namespaces, condition
// types, reasons and the operator's own messages, provider names, roles):
// a few hundred in a large cluster. Past the bound new values are simply
// not shared, so an unusual stream of unique values (error messages that
// quote a provider) costs at most the bound.
const maxInterned = 4096

// interner keeps one copy of each string that many cached objects hold.
// Decoding gives every object its own copy of every string: at 10,000
// Collaborators the same twenty-odd strings per object were a fifth of the
// cache.
type interner struct {
	mu      sync.Mutex
	strings map[string]string
}

// intern returns the table's copy of s, adding s if there is room.
func (t *interner) intern(s *string) {
	if *s == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if v, ok := t.strings[*s]; ok {
		*s = v
		return
	}
	if t.strings == nil {
		t.strings = map[string]string{}
	}
	if len(t.strings) < maxInterned {
		t.strings[*s] = *s
	}
}

// internMeta shares the metadata strings that repeat: kind, namespace,
// finalizers, label keys and values, and annotation keys. Names, UIDs and
// annotation values are each object's own.
func (t *interner) internMeta(tm *metav1.TypeMeta, om *metav1.ObjectMeta) {
	t.intern(&tm.APIVersion)
	t.intern(&tm.Kind)
	t.intern(&om.Namespace)
	t.intern(&om.GenerateName)
	for i := range om.Finalizers {
		t.intern(&om.Finalizers[i])
	}
	// Assigning to a key a map holds replaces the stored key with the
	// one assigned (Go does so for strings), so the maps are updated in
	// place: a new map would cost what the strings save.
	for k, v := range om.Labels {
		t.intern(&k)
		t.intern(&v)
		om.Labels[k] = v
	}
	for k, v := range om.Annotations {
		t.intern(&k)
		om.Annotations[k] = v
	}
}

// internConditions shares what conditions repeat: types, statuses,
// reasons, and messages, which the operator words the same way for every
// object of a provider.
func (t *interner) internConditions(conds []metav1.Condition) {
	for i := range conds {
		c := &conds[i]
		t.intern(&c.Type)
		t.intern((*string)(&c.Status))
		t.intern(&c.Reason)
		t.intern(&c.Message)
	}
}

// internCollaborator shares the repeating strings of a cached
// Collaborator. Per-person values (user ids, emails, ids, URLs) are not
// interned: they would only fill the table.
func (t *interner) internCollaborator(c *collabv1alpha1.Collaborator) {
	t.internMeta(&c.TypeMeta, &c.ObjectMeta)
	s := &c.Spec
	t.intern(&s.ProviderConfigRef.Name)
	t.intern((*string)(&s.DeletionPolicy))
	t.intern((*string)(&s.ManagementPolicy))
	if s.AppHarbor != nil {
		t.intern(&s.AppHarbor.Application)
		t.intern((*string)(&s.AppHarbor.Role))
	}
	st := &c.Status
	t.internConditions(st.Conditions)
	t.intern(&st.Provider)
	t.intern(&st.Target)
	t.intern(&st.Access)
	if st.QuantConnect != nil {
		t.intern(&st.QuantConnect.Permission)
	}
	if st.AppHarbor != nil {
		t.intern(&st.AppHarbor.Role)
	}
}
