package quantconnect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
)

// ListMembers flags the owner, who is also the credentials' account here,
// and renders access as the printer columns do; RemoveMember refuses the
// owner without a request, removes a member, and counts an already gone
// one as removed.
func TestListAndRemoveMembers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	lister, ok := e.client.(provider.Lister)
	if !ok {
		t.Fatal("the QuantConnect client offers no Lister")
	}
	target := provider.Target{ProjectID: projectID}
	members, _, err := lister.ListMembers(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]provider.Member{}
	for _, m := range members {
		byID[m.ID] = m
	}
	owner, bob := byID["owner-ann"], byID["bob"]
	if len(members) != 2 || !owner.Owner || !owner.Self || bob.Owner || bob.Self || bob.Access != "write" || bob.UserID != "1003" {
		t.Fatalf("members = %+v", members)
	}

	deletes := func() int {
		return e.sim.CountWhere(func(r simkit.RequestRecord) bool { return strings.HasSuffix(r.Path, "/collaboration/delete") })
	}
	if err := lister.RemoveMember(ctx, target, owner); err == nil || provider.ClassOf(err) != provider.ClassRejected {
		t.Errorf("removing the owner: err %v, want a Rejected refusal", err)
	}
	if n := deletes(); n != 0 {
		t.Errorf("%d delete requests after refusing the owner, want 0", n)
	}
	if err := lister.RemoveMember(ctx, target, bob); err != nil {
		t.Fatalf("removing bob: %v", err)
	}
	if _, ok := e.sim.Member(projectID, "bob"); ok {
		t.Error("bob is still a collaborator")
	}
	if err := lister.RemoveMember(ctx, target, bob); err != nil {
		t.Errorf("removing bob again: %v, want success (already gone)", err)
	}
	// The delete's answer renewed the shared snapshot: no read needed.
	after, _, err := lister.ListMembers(ctx, target)
	if err != nil || len(after) != 1 {
		t.Errorf("members after the removal: %+v, %v", after, err)
	}
}
