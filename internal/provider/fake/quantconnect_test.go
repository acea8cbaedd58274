package fake

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// writeResult is what a create or update test compares: the class, the
// member as the provider then holds it (nil when absent), the requests.
type writeResult struct {
	Class  string
	Member *Member
	Ops    []Op
}

func memberOf(p *Provider, t provider.Target, id string) *Member {
	if m, ok := p.Member(t, id); ok {
		return &m
	}
	return nil
}

func TestQuantConnectCreate(t *testing.T) {
	alice := func(write, live bool) *Member {
		return &Member{ID: "alice", UID: 1001, Name: "alice", Email: "alice@example.com", Write: write, LiveControl: live}
	}
	tests := map[string]struct {
		existing *Member
		answers  map[Op][]Answer
		want     writeResult
	}{
		"success": {
			want: writeResult{Class: "ok", Member: alice(true, true), Ops: []Op{OpCreate}},
		},
		"existing: refused, then found by the fresh read (idempotent, access untouched)": {
			existing: &Member{ID: "alice", Write: false},
			want:     writeResult{Class: "ok", Member: alice(false, false), Ops: []Op{OpCreate, OpConfirm}},
		},
		"lost answer: created all the same": {
			answers: map[Op][]Answer{OpCreate: {{Kind: Lost}}},
			want:    writeResult{Class: "Unavailable", Member: alice(true, true), Ops: []Op{OpCreate}},
		},
		"server error: nothing created": {
			answers: map[Op][]Answer{OpCreate: {{Kind: ServerError}}},
			want:    writeResult{Class: "Unavailable", Ops: []Op{OpCreate}},
		},
		"400 and absent from the fresh read": {
			answers: map[Op][]Answer{OpCreate: {{Kind: Rejected}}},
			want:    writeResult{Class: "Rejected", Ops: []Op{OpCreate, OpConfirm}},
		},
		"another 404": {
			answers: map[Op][]Answer{OpCreate: {{Kind: NotFoundPage}}},
			want:    writeResult{Class: "Unavailable", Ops: []Op{OpCreate}},
		},
		"rate limited": {
			answers: map[Op][]Answer{OpCreate: {{Kind: RateLimited, RetryAfter: time.Minute}}},
			want:    writeResult{Class: "RateLimited", Ops: []Op{OpCreate}},
		},
		"401": {
			answers: map[Op][]Answer{OpCreate: {{Kind: Unauthorized}}},
			want:    writeResult{Class: "Unauthorized", Ops: []Op{OpCreate}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewQuantConnect()
			if tc.existing != nil {
				p.Add(qcProject, *tc.existing)
			}
			for op, answers := range tc.answers {
				p.Next(op, answers...)
			}
			col := qcCollaborator("alice", true, true)
			_, err := newClient(t, p, "owner").Create(t.Context(), col)
			got := writeResult{Class: class(err), Member: memberOf(p, qcProject, "alice"), Ops: ops(p)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("create (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestQuantConnectUpdate(t *testing.T) {
	tests := map[string]struct {
		absent  bool
		answers map[Op][]Answer
		want    writeResult
	}{
		"success": {
			want: writeResult{Class: "ok", Member: &Member{ID: "alice", UID: 1001, Name: "alice", Email: "alice@example.com",
				Write: true, LiveControl: true}, Ops: []Op{OpUpdate}},
		},
		"gone: the refusal and a read without it make NotFound, to create again": {
			absent: true,
			want:   writeResult{Class: "NotFound", Ops: []Op{OpUpdate, OpConfirm}},
		},
		"gone claimed while present: not NotFound": {
			answers: map[Op][]Answer{OpUpdate: {{Kind: Gone}}},
			want: writeResult{Class: "Rejected", Member: &Member{ID: "alice", UID: 1001, Name: "alice", Email: "alice@example.com"},
				Ops: []Op{OpUpdate, OpConfirm}},
		},
		"lost answer: updated all the same": {
			answers: map[Op][]Answer{OpUpdate: {{Kind: Lost}}},
			want: writeResult{Class: "Unavailable", Member: &Member{ID: "alice", UID: 1001, Name: "alice", Email: "alice@example.com",
				Write: true, LiveControl: true}, Ops: []Op{OpUpdate}},
		},
		"server error: unchanged": {
			answers: map[Op][]Answer{OpUpdate: {{Kind: ServerError}}},
			want: writeResult{Class: "Unavailable", Member: &Member{ID: "alice", UID: 1001, Name: "alice", Email: "alice@example.com"},
				Ops: []Op{OpUpdate}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewQuantConnect()
			if !tc.absent {
				p.Add(qcProject, Member{ID: "alice"})
			}
			for op, answers := range tc.answers {
				p.Next(op, answers...)
			}
			err := newClient(t, p, "owner").Update(t.Context(), qcCollaborator("alice", true, true))
			got := writeResult{Class: class(err), Member: memberOf(p, qcProject, "alice"), Ops: ops(p)}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("update (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestQuantConnectObserve(t *testing.T) {
	tests := map[string]struct {
		col     *collabv1alpha1.Collaborator
		answers []Answer
		want    provider.Observation
		status  *collabv1alpha1.QuantConnectObservation
		class   string
	}{
		"up to date": {
			col:    qcCollaborator("alice", false, true),
			want:   provider.Observation{Exists: true, UpToDate: true, ExternalID: "1001", ObservedAt: epoch},
			status: &collabv1alpha1.QuantConnectObservation{UID: 1001, PublicID: "alice", Name: "alice", Email: "alice@example.com", Permission: "read", LiveControl: true},
			class:  "ok",
		},
		"differs": {
			col: qcCollaborator("alice", true, false),
			want: provider.Observation{Exists: true, ExternalID: "1001", ObservedAt: epoch,
				Difference: "permission is read, the spec wants write; liveControl is true, the spec wants false"},
			status: &collabv1alpha1.QuantConnectObservation{UID: 1001, PublicID: "alice", Name: "alice", Email: "alice@example.com", Permission: "read", LiveControl: true},
			class:  "ok",
		},
		"the owner is up to date whatever the spec": {
			col:    qcCollaborator("owner", false, false),
			want:   provider.Observation{Exists: true, UpToDate: true, ExternalID: "1000", ObservedAt: epoch},
			status: &collabv1alpha1.QuantConnectObservation{UID: 1000, PublicID: "owner", Name: "owner", Email: "owner@example.com", Permission: "write", LiveControl: true, Owner: true},
			class:  "ok",
		},
		"absent": {
			col:   qcCollaborator("bob", false, false),
			want:  provider.Observation{ObservedAt: epoch},
			class: "ok",
		},
		"a read that omits the member": {
			col:     qcCollaborator("alice", false, true),
			answers: []Answer{{Kind: Gone}},
			want:    provider.Observation{ObservedAt: epoch},
			class:   "ok",
		},
		"server error": {
			col:     qcCollaborator("alice", false, true),
			answers: []Answer{{Kind: ServerError}},
			class:   "Unavailable",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewQuantConnect(WithClock(fixedClock))
			p.Add(qcProject, Member{ID: "alice", LiveControl: true})
			p.Next(OpObserve, tc.answers...)
			obs, err := newClient(t, p, "owner").Observe(t.Context(), tc.col)
			if got := class(err); got != tc.class {
				t.Fatalf("class %s, want %s: %v", got, tc.class, err)
			}
			if diff := cmp.Diff(tc.want, obs); diff != "" {
				t.Errorf("observation (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.status, tc.col.Status.QuantConnect); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}

// The list holds the owner, flagged; the credentials' own account is
// Self; RemoveMember refuses both without a request and treats a member
// already gone as success.
func TestQuantConnectMembers(t *testing.T) {
	p := NewQuantConnect(WithClock(fixedClock))
	p.Add(qcProject, Member{ID: "me"})
	p.Add(qcProject, Member{ID: "alice", Write: true, LiveControl: true})
	c := newClient(t, p, "me").(*CheckingClient)
	list, at, err := c.ListMembers(t.Context(), qcProject)
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.Member{
		{ID: "owner", Label: "owner", UserID: "1000", Name: "owner", Email: "owner@example.com", Access: "write+live", Owner: true, Write: true, LiveControl: true},
		{ID: "alice", Label: "alice", UserID: "1002", Name: "alice", Email: "alice@example.com", Access: "write+live", Write: true, LiveControl: true},
		{ID: "me", Label: "me", UserID: "1001", Name: "me", Email: "me@example.com", Access: "read", Self: true},
	}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if !at.Equal(epoch) {
		t.Errorf("listed at %v, want the clock's %v", at, epoch)
	}

	tests := map[string]struct {
		member  provider.Member
		answers map[Op][]Answer
		class   string
		has     bool
		ops     []Op
	}{
		"the owner is refused without a request": {member: want[0], class: "Rejected", has: true},
		"the own account is refused":             {member: want[2], class: "Rejected", has: true},
		"removed":                                {member: want[1], class: "ok", ops: []Op{OpRemove}},
		"already gone is success":                {member: provider.Member{ID: "zed"}, class: "ok", ops: []Op{OpRemove, OpConfirm}},
		"gone claimed while present": {member: want[1], answers: map[Op][]Answer{OpRemove: {{Kind: Gone}}},
			class: "Rejected", has: true, ops: []Op{OpRemove, OpConfirm}},
		"lost answer: removed all the same": {member: want[1], answers: map[Op][]Answer{OpRemove: {{Kind: Lost}}},
			class: "Unavailable", ops: []Op{OpRemove}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p.Add(qcProject, Member{ID: "alice", Write: true, LiveControl: true})
			p.ResetCalls()
			for op, answers := range tc.answers {
				p.Next(op, answers...)
			}
			err := c.RemoveMember(t.Context(), qcProject, tc.member)
			if got := class(err); got != tc.class {
				t.Errorf("class %s, want %s: %v", got, tc.class, err)
			}
			if got := p.Has(qcProject, tc.member.ID); got != tc.has {
				t.Errorf("Has = %t, want %t", got, tc.has)
			}
			if diff := cmp.Diff(tc.ops, ops(p)); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuantConnectAuthenticate(t *testing.T) {
	tests := map[string]struct {
		answers []Answer
		class   string
	}{
		"accepted":   {class: "ok"},
		"401":        {answers: []Answer{{Kind: Unauthorized}}, class: "Unauthorized"},
		"5xx":        {answers: []Answer{{Kind: ServerError}}, class: "Unavailable"},
		"other 404":  {answers: []Answer{{Kind: NotFoundPage}}, class: "Unavailable"},
		"redirected": {answers: []Answer{{Kind: Redirect}}, class: "Rejected"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewQuantConnect()
			p.Next(OpAuthenticate, tc.answers...)
			a, ok := newClient(t, p, "me").(provider.Authenticator)
			if !ok {
				t.Fatal("a QuantConnect client is no provider.Authenticator")
			}
			if got := class(a.Authenticate(t.Context())); got != tc.class {
				t.Errorf("class %s, want %s", got, tc.class)
			}
			if p.Writes() != 0 {
				t.Errorf("Authenticate counted %d writes", p.Writes())
			}
		})
	}
}

// The owner cannot be removed: known from the status, no request is sent;
// otherwise QuantConnect refuses and the fresh read shows the owner, which
// is success (the operator never fights the owner's own access).
func TestQuantConnectOwnerIsNeverRemoved(t *testing.T) {
	tests := map[string]struct {
		status *collabv1alpha1.QuantConnectObservation
		ops    []Op
	}{
		"owner known from the status": {status: &collabv1alpha1.QuantConnectObservation{PublicID: "owner", Owner: true}},
		"owner learnt by the read":    {ops: []Op{OpDelete, OpConfirm}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := NewQuantConnect()
			col := qcCollaborator("owner", false, false)
			col.Status.QuantConnect = tc.status
			p.Add(qcProject, Member{ID: "alice"}) // the project exists
			err := newClient(t, p, "me").Delete(t.Context(), col)
			got := []any{class(err), p.Has(qcProject, "owner"), ops(p)}
			if diff := cmp.Diff([]any{"ok", true, tc.ops}, got); diff != "" {
				t.Errorf("delete of the owner (-want +got):\n%s", diff)
			}
		})
	}
}
