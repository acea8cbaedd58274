package fake

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// createResult is what an AppHarbor create test compares.
type createResult struct {
	Class string
	// ID is the id the caller was told.
	ID string
	// Members are the application's members afterwards.
	Members []Member
	Ops     []Op
}

func TestAppHarborCreate(t *testing.T) {
	created := Member{ID: "collab-0001", UserID: "user-0001", Name: "bob", Email: "bob@example.com", Role: "collaborator"}
	tests := map[string]struct {
		existing *Member
		answers  []Answer
		want     createResult
	}{
		"success: the id is in the answer": {
			want: createResult{Class: "ok", ID: "collab-0001", Members: []Member{created}, Ops: []Op{OpCreate}},
		},
		"the email is already a collaborator: refused, as the real client returns it": {
			existing: &Member{Email: "BOB@example.com", Role: "administrator"},
			want: createResult{Class: "Rejected",
				Members: []Member{{ID: "collab-0001", UserID: "user-0001", Name: "BOB", Email: "BOB@example.com", Role: "administrator"}},
				Ops:     []Op{OpCreate}},
		},
		"lost answer: created, and nobody knows the id": {
			answers: []Answer{{Kind: Lost}},
			want:    createResult{Class: "Unavailable", Members: []Member{created}, Ops: []Op{OpCreate}},
		},
		"server error: nothing created": {
			answers: []Answer{{Kind: ServerError}},
			want:    createResult{Class: "Unavailable", Members: []Member{}, Ops: []Op{OpCreate}},
		},
		"a 404 names the application: rejected": {
			answers: []Answer{{Kind: Gone}},
			want:    createResult{Class: "Rejected", Members: []Member{}, Ops: []Op{OpCreate}},
		},
		"another 404": {
			answers: []Answer{{Kind: NotFoundPage}},
			want:    createResult{Class: "Unavailable", Members: []Member{}, Ops: []Op{OpCreate}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewAppHarbor()
			if tc.existing != nil {
				p.Add(ahApp, *tc.existing)
			}
			p.Next(OpCreate, tc.answers...)
			col := ahCollaborator("bob@example.com", "", "")
			cr, err := newClient(t, p, "tok").Create(t.Context(), col)
			got := createResult{Class: class(err), ID: cr.ExternalID, Members: p.Members(ahApp), Ops: ops(p)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("create (-want +got):\n%s\nerror: %v", diff, err)
			}
			if err == nil {
				want := &collabv1alpha1.AppHarborObservation{ID: cr.ExternalID, Role: "collaborator",
					URL: "https://appharbor.com/applications/shop/collaborators/" + cr.ExternalID}
				if diff := cmp.Diff(want, col.Status.AppHarbor); diff != "" {
					t.Errorf("status (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestAppHarborObserve(t *testing.T) {
	tests := map[string]struct {
		id      string
		role    collabv1alpha1.AppHarborRole
		answers []Answer
		want    provider.Observation
		class   string
		ops     []Op
	}{
		"without a recorded id nothing is asked, and the member is not found": {
			want: provider.Observation{}, class: "ok",
		},
		"found by id": {
			id: "collab-0001", role: "administrator", class: "ok", ops: []Op{OpObserve},
			want: provider.Observation{Exists: true, UpToDate: true, ExternalID: "collab-0001", ObservedAt: epoch},
		},
		"role differs": {
			id: "collab-0001", class: "ok", ops: []Op{OpObserve},
			want: provider.Observation{Exists: true, ExternalID: "collab-0001", ObservedAt: epoch,
				Difference: "role is administrator, the spec wants collaborator"},
		},
		"an id that is gone": {
			id: "collab-0009", class: "ok", ops: []Op{OpObserve},
			want: provider.Observation{ExternalID: "collab-0009", ObservedAt: epoch},
		},
		"a 404 for a present id reads as absent": {
			id: "collab-0001", answers: []Answer{{Kind: Gone}}, class: "ok", ops: []Op{OpObserve},
			want: provider.Observation{ExternalID: "collab-0001", ObservedAt: epoch},
		},
		"rate limited": {
			id: "collab-0001", answers: []Answer{{Kind: RateLimited}}, class: "RateLimited", ops: []Op{OpObserve},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewAppHarbor(WithClock(fixedClock))
			p.Add(ahApp, Member{Email: "bob@example.com", Role: "administrator"})
			p.Next(OpObserve, tc.answers...)
			obs, err := newClient(t, p, "tok").Observe(t.Context(), ahCollaborator("bob@example.com", tc.id, tc.role))
			if got := class(err); got != tc.class {
				t.Fatalf("class %s, want %s: %v", got, tc.class, err)
			}
			if diff := cmp.Diff(tc.want, obs); diff != "" {
				t.Errorf("observation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.ops, ops(p)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppHarborUpdate(t *testing.T) {
	tests := map[string]struct {
		id      string
		answers []Answer
		class   string
		role    string // the role the provider holds afterwards
		ops     []Op
	}{
		"without an id: NotFound, nothing asked": {class: "NotFound", role: "collaborator"},
		"success":                                {id: "collab-0001", class: "ok", role: "administrator", ops: []Op{OpUpdate}},
		"an id that is gone: NotFound":           {id: "collab-0009", class: "NotFound", role: "collaborator", ops: []Op{OpUpdate}},
		"lost answer: updated all the same": {id: "collab-0001", answers: []Answer{{Kind: Lost}}, class: "Unavailable",
			role: "administrator", ops: []Op{OpUpdate}},
		"server error: unchanged": {id: "collab-0001", answers: []Answer{{Kind: ServerError}}, class: "Unavailable",
			role: "collaborator", ops: []Op{OpUpdate}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewAppHarbor()
			p.Add(ahApp, Member{Email: "bob@example.com"})
			p.Next(OpUpdate, tc.answers...)
			err := newClient(t, p, "tok").Update(t.Context(), ahCollaborator("bob@example.com", tc.id, "administrator"))
			m, _ := p.Member(ahApp, "collab-0001")
			got := []any{class(err), m.Role, ops(p)}
			if diff := cmp.Diff([]any{tc.class, tc.role, tc.ops}, got); diff != "" {
				t.Errorf("update (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// AppHarbor's list has no email, owner or self flag; a member removed by
// RemoveMember that is already gone is success once a read confirms it.
func TestAppHarborMembers(t *testing.T) {
	p := NewAppHarbor(WithClock(fixedClock))
	bob := p.Add(ahApp, Member{Email: "bob@example.com", Role: "administrator"})
	c := newClient(t, p, "tok").(*ListingClient)
	list, _, err := c.ListMembers(t.Context(), ahApp)
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Member{{ID: bob.ID, Label: "bob", UserID: bob.UserID, Name: "bob", Access: "administrator"}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}

	tests := map[string]struct {
		id      string
		answers map[Op][]Answer
		class   string
		has     bool
		ops     []Op
	}{
		"removed":                 {id: bob.ID, class: "ok", ops: []Op{OpRemove}},
		"already gone is success": {id: "collab-0009", class: "ok", ops: []Op{OpRemove, OpConfirm}},
		"a 404 while present is not success": {id: bob.ID, answers: map[Op][]Answer{OpRemove: {{Kind: Gone}}},
			class: "Unavailable", has: true, ops: []Op{OpRemove, OpConfirm}},
		"a 404 whose confirming read fails": {id: "collab-0009", answers: map[Op][]Answer{OpConfirm: {{Kind: ServerError}}},
			class: "Unavailable", ops: []Op{OpRemove, OpConfirm}},
		"401": {id: bob.ID, answers: map[Op][]Answer{OpRemove: {{Kind: Unauthorized}}},
			class: "Unauthorized", has: true, ops: []Op{OpRemove}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p.Add(ahApp, bob)
			p.ResetCalls()
			for op, answers := range tc.answers {
				p.Next(op, answers...)
			}
			err := c.RemoveMember(t.Context(), ahApp, provider.Member{ID: tc.id})
			got := []any{class(err), p.Has(ahApp, tc.id), ops(p)}
			if diff := cmp.Diff([]any{tc.class, tc.has, tc.ops}, got); diff != "" {
				t.Errorf("remove (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}

	p.Next(OpList, Answer{Kind: Gone})
	if _, _, err := c.ListMembers(t.Context(), ahApp); class(err) != "NotFound" {
		t.Errorf("a list answered 404 gave %v, want AppHarbor's NotFound", err)
	}
}
