package cachetuning

import (
	"encoding/json"
	"fmt"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// decodedCollaborator decodes a Ready AppHarbor Collaborator as the cache
// would receive it: every string its own copy.
func decodedCollaborator(t *testing.T, name string) *collabv1alpha1.Collaborator {
	t.Helper()
	raw := fmt.Sprintf(`{"apiVersion":"collab.dev/v1alpha1","kind":"Collaborator",
	"metadata":{"name":%[1]q,"namespace":"team-a","uid":"uid-%[1]s","finalizers":["collab.dev/finalizer"],
	  "labels":{"team":"trading"},"annotations":{"collab.dev/external-id":"id-%[1]s"}},
	"spec":{"providerConfigRef":{"name":"appharbor"},"deletionPolicy":"Delete","managementPolicy":"Full",
	  "appHarbor":{"application":"my-app","email":"%[1]s@example.com","role":"collaborator"}},
	"status":{"provider":"AppHarbor","target":"my-app","member":"%[1]s@example.com","access":"collaborator",
	  "appHarbor":{"id":"id-%[1]s","role":"collaborator"},
	  "conditions":[{"type":"Ready","status":"True","reason":"Available","message":"AppHarbor holds the collaborator as specified","lastTransitionTime":"2026-11-25T02:08:29Z"}]}}`, name)
	c := &collabv1alpha1.Collaborator{}
	if err := json.Unmarshal([]byte(raw), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// sameBytes reports whether two strings share their bytes: the only way
// to see interning, which changes no value.
func sameBytes(a, b string) bool {
	return unsafe.StringData(a) == unsafe.StringData(b) //nolint:gosec // G103: compares addresses, reads nothing
}

func TestCacheSharesRepeatedStrings(t *testing.T) {
	transform := Transform()
	a, b := decodedCollaborator(t, "mia"), decodedCollaborator(t, "bob")
	want := b.DeepCopy()
	if _, err := transform(a); err != nil {
		t.Fatal(err)
	}
	got, err := transform(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("the transform changed the Collaborator (-want +got):\n%s", diff)
	}
	shared := map[string][2]string{
		"namespace":         {a.Namespace, b.Namespace},
		"finalizer":         {a.Finalizers[0], b.Finalizers[0]},
		"label value":       {a.Labels["team"], b.Labels["team"]},
		"condition message": {a.Status.Conditions[0].Message, b.Status.Conditions[0].Message},
		"condition reason":  {a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason},
		"application":       {a.Spec.AppHarbor.Application, b.Spec.AppHarbor.Application},
		"status role":       {a.Status.AppHarbor.Role, b.Status.AppHarbor.Role},
		"provider":          {a.Status.Provider, b.Status.Provider},
	}
	for name, pair := range shared {
		if !sameBytes(pair[0], pair[1]) {
			t.Errorf("%s %q: two cached Collaborators hold two copies; want one", name, pair[0])
		}
	}
	for k := range a.Annotations {
		for l := range b.Annotations {
			if !sameBytes(k, l) {
				t.Errorf("annotation key %q: two copies; want one", k)
			}
		}
	}
}

// Past maxInterned distinct values the table stops growing, and values
// are left as they are.
func TestInternTableIsBounded(t *testing.T) {
	var in interner
	for i := range maxInterned + 100 {
		s := fmt.Sprintf("message %d", i)
		in.intern(&s)
		if s != fmt.Sprintf("message %d", i) {
			t.Fatalf("intern changed %q", s)
		}
	}
	if got := len(in.strings); got != maxInterned {
		t.Errorf("table holds %d strings; want the bound %d", got, maxInterned)
	}
}
