package collaborator_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// Expiry is a deadline (API.md, "What holds whatever the load"): whatever
// a pass ends with (success, backoff, a provider's Retry-After of hours),
// the object is back no later than its expiresAt, and that pass goes
// before other work in the queue; passes of objects that do not expire
// then run at the default priority.
func TestRequeueIsCappedAtExpiry(t *testing.T) {
	tests := map[string]struct {
		expiresIn time.Duration
		answer    *fake.Answer
		// capped is whether the requeue must be the expiry.
		capped       bool
		wantPriority int
	}{
		"healthy, expiring before the next read": {expiresIn: time.Minute, capped: true, wantPriority: 100},
		"create rate limited for an hour": {expiresIn: time.Minute, capped: true, wantPriority: 100,
			answer: &fake.Answer{Kind: fake.RateLimited, RetryAfter: time.Hour}},
		"create failing, its backoff sooner than the expiry": {expiresIn: time.Hour,
			answer: &fake.Answer{Kind: fake.ServerError}},
		"no expiry": {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(collabv1alpha1.ProviderQuantConnect, "person", "person")
			if tc.expiresIn > 0 {
				expiring(c, tc.expiresIn+time.Second)
			}
			e.Create(c)
			if tc.answer != nil {
				e.QuantConnect.Next(fake.OpCreate, *tc.answer)
			}
			start := time.Now()
			pass := e.Reconcile(r, c)
			if pass.Err != nil {
				t.Fatalf("pass failed: %v", pass.Err)
			}
			if tc.capped {
				if back := start.Add(pass.Result.RequeueAfter); back.After(c.Spec.ExpiresAt.Time) {
					t.Errorf("back at %s, after the expiry at %s", back.Format(time.RFC3339Nano), c.Spec.ExpiresAt.Format(time.RFC3339))
				}
			}
			if pass.Result.Priority == nil {
				t.Fatal("no priority set: the request would keep an earlier expiry's priority")
			}
			if diff := cmp.Diff(tc.wantPriority, *pass.Result.Priority); diff != "" {
				t.Errorf("priority (-want +got):\n%s", diff)
			}
		})
	}
}
