package fake

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// The factories check credentials like the real ones, and build the
// client type whose interfaces match the Capabilities.
func TestFactory(t *testing.T) {
	type result struct {
		Err                   string
		Caps                  provider.Capabilities
		Lister, Authenticator bool
	}
	tests := map[string]struct {
		p     *Provider
		creds provider.Credentials
		want  result
	}{
		"QuantConnect": {
			p: NewQuantConnect(), creds: provider.Credentials{"userID": []byte("1"), "apiToken": []byte("t")},
			want: result{Caps: provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
				NamesOwnAccount: true, CheckCredentials: true, ConfirmDeleteByRead: true}, Lister: true, Authenticator: true},
		},
		"QuantConnect without keys": {
			p: NewQuantConnect(), creds: provider.Credentials{"userID": []byte(" \n")},
			want: result{Err: "QuantConnect credentials Secret lacks non-empty key(s) userID, apiToken"},
		},
		"QuantConnect without a token": {
			p: NewQuantConnect(), creds: provider.Credentials{"userID": []byte("1")},
			want: result{Err: "QuantConnect credentials Secret lacks non-empty key(s) apiToken"},
		},
		"AppHarbor": {
			p: NewAppHarbor(), creds: provider.Credentials{"accessToken": []byte("t\n")},
			want: result{Caps: provider.Capabilities{Read: true, Create: true, Update: true, ListMembers: true,
				ConfirmDeleteByRead: true, CreateAnswerIsTheOnlyID: true}, Lister: true},
		},
		"AppHarbor with another provider's key": {
			p: NewAppHarbor(), creds: provider.Credentials{"organizationToken": []byte("t")},
			want: result{Err: "AppHarbor credentials Secret lacks non-empty key accessToken"},
		},
		"WebTranslateIt": {
			p: NewWebTranslateIt(), creds: provider.Credentials{"organizationToken": []byte("t")},
		},
		"WebTranslateIt without a token": {
			p: NewWebTranslateIt(), creds: provider.Credentials{},
			want: result{Err: "WebTranslateIt credentials Secret lacks non-empty key organizationToken"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := provider.NewRegistry()
			r.Register(tc.p.Name(), tc.p.Factory())
			c, err := r.New(tc.p.Name(), provider.Config{Credentials: tc.creds})
			var got result
			if err != nil {
				got.Err = err.Error()
			} else {
				got.Caps = c.Capabilities()
				_, got.Lister = c.(provider.Lister)
				_, got.Authenticator = c.(provider.Authenticator)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("factory (-want +got):\n%s", diff)
			}
		})
	}
}

// Clients of different credentials share one truth: what one creates,
// another sees, and each request names its credentials.
func TestSharedTruth(t *testing.T) {
	p := NewQuantConnect()
	a, b := newClient(t, p, "owner"), newClient(t, p, "other")
	if _, err := a.Create(t.Context(), qcCollaborator("alice", false, false)); err != nil {
		t.Fatal(err)
	}
	obs, err := b.Observe(t.Context(), qcCollaborator("alice", false, false))
	if err != nil || !obs.Exists {
		t.Fatalf("the other credentials' client sees %+v, %v", obs, err)
	}
	calls := p.Calls()
	if calls[0].Credentials != p.Credentials("owner").Fingerprint() || calls[1].Credentials != p.Credentials("other").Fingerprint() {
		t.Errorf("requests do not name their credentials: %+v", calls)
	}
}

// The log, the counts, the queue and the injector.
func TestCallsAndInjection(t *testing.T) {
	p := NewQuantConnect()
	c := newClient(t, p, "owner")
	col := qcCollaborator("alice", true, false)
	// The injector sees each request and may look at the truth.
	p.Inject(func(call Call) Answer {
		if call.Op == OpUpdate && p.Has(call.Target, call.Member) {
			return Answer{Kind: ServerError}
		}
		return Answer{}
	})
	p.Next(OpCreate, Answer{Kind: Lost}) // the queue goes first
	_, createErr := c.Create(t.Context(), col)
	_, observeErr := c.Observe(t.Context(), col)
	updateErr := c.Update(t.Context(), col)
	got := []string{class(createErr), class(observeErr), class(updateErr)}
	if diff := cmp.Diff([]string{"Unavailable", "ok", "Unavailable"}, got); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	fp := p.Credentials("owner").Fingerprint()
	want := []Record{
		{Call: Call{Op: OpCreate, Target: qcProject, Member: "alice", Credentials: fp}, Answer: Answer{Kind: Lost}, Changed: true},
		{Call: Call{Op: OpObserve, Target: qcProject, Member: "alice", Credentials: fp}},
		{Call: Call{Op: OpUpdate, Target: qcProject, Member: "alice", Credentials: fp}, Answer: Answer{Kind: ServerError}},
	}
	if diff := cmp.Diff(want, p.Calls()); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := []int{p.Count(OpCreate), p.Count(OpObserve), p.Writes()}; !cmp.Equal(got, []int{1, 1, 2}) {
		t.Errorf("Count(Create), Count(Observe), Writes = %v, want [1 1 2]", got)
	}
	p.Next(OpDelete, Answer{Kind: ServerError})
	p.ResetCalls()
	p.Inject(nil)
	if err := c.Delete(t.Context(), col); err != nil {
		t.Errorf("after ResetCalls and Inject(nil) a delete failed: %v", err)
	}
	if diff := cmp.Diff([]Op{OpDelete}, ops(p)); diff != "" {
		t.Errorf("log after reset (-want +got):\n%s", diff)
	}
}

// An AppHarbor create's record names the id the provider gave.
func TestAppHarborCreateRecordsTheID(t *testing.T) {
	p := NewAppHarbor()
	cr, err := newClient(t, p, "tok").Create(t.Context(), ahCollaborator("bob@example.com", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	want := Call{Op: OpCreate, Target: ahApp, Member: cr.ExternalID, Email: "bob@example.com", Credentials: p.Credentials("tok").Fingerprint()}
	if diff := cmp.Diff(want, p.Calls()[0].Call); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
}

// WebTranslateIt offers only a delete: the rest fails with ErrUnsupported
// and sends nothing; members match by email regardless of case.
func TestWebTranslateIt(t *testing.T) {
	p := NewWebTranslateIt()
	p.Add(Organization, Member{ID: "Alice@Example.com"})
	c := newClient(t, p, "org")
	col := wtiCollaborator("alice@example.com")
	_, obsErr := c.Observe(t.Context(), col)
	_, createErr := c.Create(t.Context(), col)
	updateErr := c.Update(t.Context(), col)
	for _, err := range []error{obsErr, createErr, updateErr} {
		if !errors.Is(err, provider.ErrUnsupported) {
			t.Errorf("%v does not wrap ErrUnsupported", err)
		}
	}
	if err := c.Delete(t.Context(), col); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Op{OpDelete}, ops(p)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if len(p.Members(Organization)) != 0 {
		t.Errorf("still members: %+v", p.Members(Organization))
	}
}

// A done context sends nothing, as an HTTP client abandons the request.
func TestDoneContext(t *testing.T) {
	p := NewQuantConnect()
	p.Add(qcProject, Member{ID: "alice"})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := newClient(t, p, "owner").Delete(ctx, qcCollaborator("alice", false, false))
	if class(err) != "Unavailable" || !p.Has(qcProject, "alice") || len(p.Calls()) != 0 {
		t.Errorf("delete with a done context: %v, has %t, calls %+v", err, p.Has(qcProject, "alice"), p.Calls())
	}
}

// Hand-made changes are visible to clients and in snapshots.
func TestAddRemove(t *testing.T) {
	p := NewQuantConnect(WithOwner("boss"))
	p.Add(qcProject, Member{ID: "zoe"})
	p.Add(qcProject, Member{ID: "amy", Write: true})
	members := p.Members(qcProject)
	ids := make([]string, 0, len(members))
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	if diff := cmp.Diff([]string{"boss", "amy", "zoe"}, ids); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if !p.Remove(qcProject, "zoe") || p.Remove(qcProject, "zoe") || p.Has(qcProject, "zoe") {
		t.Error("Remove did not remove once")
	}
	other := provider.Target{ProjectID: 7}
	p.Add(other, Member{ID: "amy"})
	if a, b := p.Member(qcProject, "amy"); !b || a.UID != p.Members(other)[1].UID {
		t.Error("one person has different uids in two projects")
	}
	defer func() {
		if recover() == nil {
			t.Error("an AppHarbor target on QuantConnect did not panic")
		}
	}()
	p.Add(ahApp, Member{ID: "x"})
}

// Many clients at once: the log and the truth stay whole (run with -race).
func TestConcurrentUse(t *testing.T) {
	p := NewQuantConnect()
	p.Inject(func(call Call) Answer {
		if call.Op == OpDelete && p.Has(call.Target, call.Member) {
			return Answer{Kind: Lost}
		}
		return Answer{}
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := newClient(t, p, fmt.Sprint("acct", i))
			col := qcCollaborator(fmt.Sprint("user", i), i%2 == 0, false)
			if _, err := c.Create(t.Context(), col); err != nil {
				t.Error(err)
			}
			if _, err := c.Observe(t.Context(), col); err != nil {
				t.Error(err)
			}
			_ = c.Delete(t.Context(), col)
		})
	}
	wg.Wait()
	if got := len(p.Members(qcProject)); got != 1 {
		t.Errorf("%d members left, want the owner only", got)
	}
	if got := p.Count(OpCreate) + p.Count(OpObserve) + p.Count(OpDelete); got != 24 {
		t.Errorf("%d requests logged, want 24", got)
	}
}

// Every Kind has a name, for test failures.
func TestKindString(t *testing.T) {
	for k := OK; k <= Rejected; k++ {
		if k.String() == "Kind(?)" {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if Kind(99).String() != "Kind(?)" {
		t.Error("an unknown kind has a name")
	}
}

// A Collaborator without the provider's block is refused without a
// request; an AppHarbor delete without a recorded id has nobody to name.
func TestWrongOrMissingBlock(t *testing.T) {
	empty := &collabv1alpha1.Collaborator{}
	for pname, ps := range presets {
		t.Run(pname, func(t *testing.T) {
			p := ps.newProvider()
			c := newClient(t, p, "me")
			if err := c.Delete(t.Context(), empty); class(err) != "Rejected" {
				t.Errorf("delete without a block: %v", err)
			}
			if p.Capabilities().Create {
				if _, err := c.Create(t.Context(), empty); class(err) != "Rejected" {
					t.Errorf("create without a block: %v", err)
				}
				if _, err := c.Observe(t.Context(), empty); class(err) != "Rejected" {
					t.Errorf("observe without a block: %v", err)
				}
				if err := c.Update(t.Context(), empty); class(err) != "Rejected" {
					t.Errorf("update without a block: %v", err)
				}
			}
			if c.(interface{ Provider() *Provider }).Provider() != p {
				t.Error("the client names another Provider")
			}
			if len(p.Calls()) != 0 {
				t.Errorf("requests were sent: %+v", p.Calls())
			}
		})
	}
	p := NewAppHarbor()
	if err := newClient(t, p, "tok").Delete(t.Context(), ahCollaborator("bob@example.com", "", "")); err != nil || len(p.Calls()) != 0 {
		t.Errorf("AppHarbor delete without an id: %v, requests %+v", err, p.Calls())
	}
}
