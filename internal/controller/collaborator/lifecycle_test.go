package collaborator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
	"github.com/collab-dev/collaborator-operator/internal/provider/fake"
)

// observed sets managementPolicy Observe.
func observed(c *collabv1alpha1.Collaborator) *collabv1alpha1.Collaborator {
	c.Spec.ManagementPolicy = collabv1alpha1.ManagementObserve
	return c
}

// With managementPolicy Observe the operator reads and reports but never
// writes at the provider: Ready Available when the provider holds what
// the spec says, else Stalled Drifted with what differs. WebTranslateIt
// has nothing to read: DeleteOnly without a call.
func TestObserve(t *testing.T) {
	type want struct {
		Conds []ct.Cond
		Held  bool
		// Says is a piece of the Ready message.
		Says string
	}
	qcProject, ahApp := ct.Target(collabv1alpha1.ProviderQuantConnect), ct.Target(collabv1alpha1.ProviderAppHarbor)
	tests := map[string]struct {
		c    *collabv1alpha1.Collaborator
		seed func(e *ct.Env, c *collabv1alpha1.Collaborator)
		want want
	}{
		"QuantConnect: held as specified": {
			c:    observed(ct.QuantConnect("mia", "mia-ai", true, false)),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) { e.Seed(c) },
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Held: true},
		},
		"QuantConnect: missing": {
			c:    observed(ct.QuantConnect("mia", "mia-ai", true, false)),
			seed: func(*ct.Env, *collabv1alpha1.Collaborator) {},
			want: want{Conds: ct.Finding(collabv1alpha1.ReasonDrifted), Says: "missing"},
		},
		"QuantConnect: other access": {
			c: observed(ct.QuantConnect("mia", "mia-ai", true, false)),
			seed: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Add(qcProject, fake.Member{ID: "mia-ai"})
			},
			want: want{Conds: ct.Finding(collabv1alpha1.ReasonDrifted), Held: true, Says: "permission is read, the spec wants write"},
		},
		"AppHarbor: held as specified (by its external id)": {
			c: observed(ct.AppHarbor("bob", "bob@example.com", "")),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: e.Seed(c).ID}
			},
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonAvailable), Held: true},
		},
		"AppHarbor: other role": {
			c: observed(ct.AppHarbor("bob", "bob@example.com", collabv1alpha1.AppHarborRoleAdministrator)),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) {
				m := e.AppHarbor.Add(ahApp, fake.Member{Email: "bob@example.com", Role: "collaborator"})
				c.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: m.ID}
			},
			want: want{Conds: ct.Finding(collabv1alpha1.ReasonDrifted), Held: true, Says: "role is collaborator, the spec wants administrator"},
		},
		"WebTranslateIt: nothing to read": {
			c:    observed(ct.WebTranslateIt("wendy", "wendy@example.com")),
			seed: func(e *ct.Env, c *collabv1alpha1.Collaborator) { e.Seed(c) },
			want: want{Conds: ct.Healthy(collabv1alpha1.ReasonDeleteOnly), Held: true},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			tc.seed(e, tc.c)
			e.Create(tc.c)
			passes := e.Settle(r, tc.c)
			got := want{Conds: ct.ConditionsOf(tc.c), Held: e.Holds(tc.c), Says: tc.want.Says}
			if msg := readyMessage(tc.c); !strings.Contains(msg, tc.want.Says) {
				got.Says = msg
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if n := providerWrites(passes...); n != 0 {
				t.Errorf("Observe made %d provider writes:\n%s", n, ct.DescribePasses(passes))
			}
			if tc.c.Spec.WebTranslateIt != nil && len(e.WebTranslateIt.Calls()) != 0 {
				t.Errorf("WebTranslateIt was called: %v", e.WebTranslateIt.Calls())
			}
		})
	}
}

// Switching a drifted Observe Collaborator to Full applies the spec.
func TestObserveThenFullApplies(t *testing.T) {
	tests := map[string]struct {
		c        *collabv1alpha1.Collaborator
		seed     func(e *ct.Env, c *collabv1alpha1.Collaborator)
		writeOps []fake.Op
	}{
		"missing: created": {
			c:        observed(ct.QuantConnect("mia", "mia-ai", true, true)),
			seed:     func(*ct.Env, *collabv1alpha1.Collaborator) {},
			writeOps: []fake.Op{fake.OpCreate},
		},
		"other access: updated": {
			c: observed(ct.QuantConnect("mia", "mia-ai", true, true)),
			seed: func(e *ct.Env, _ *collabv1alpha1.Collaborator) {
				e.QuantConnect.Add(ct.Target(collabv1alpha1.ProviderQuantConnect), fake.Member{ID: "mia-ai"})
			},
			writeOps: []fake.Op{fake.OpUpdate},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, r := newEnv(t)
			tc.seed(e, tc.c)
			e.Create(tc.c)
			e.Settle(r, tc.c)
			e.Edit(tc.c, func() { tc.c.Spec.ManagementPolicy = collabv1alpha1.ManagementFull })
			passes := e.Settle(r, tc.c)
			if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonAvailable), ct.ConditionsOf(tc.c)); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.writeOps, writeOps(passes...)); diff != "" {
				t.Errorf("provider writes (-want +got):\n%s", diff)
			}
			if a := accessOf(e, tc.c); a != (access{Write: true, LiveControl: true}) {
				t.Errorf("provider grants %+v, want write and live control", a)
			}
		})
	}
}

// While collab.dev/paused is "true" the operator makes no provider call:
// Synced=False Paused, Ready as last observed, Reconciling and Stalled
// not set by the pause. A paused deletion waits (Orphan still releases);
// removing the annotation resumes at once.
func TestPause(t *testing.T) {
	pausedSynced := ct.Cond{Type: collabv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: collabv1alpha1.ReasonPaused}
	readyAvailable := ct.Cond{Type: collabv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: collabv1alpha1.ReasonAvailable}

	t.Run("a drift is left alone, then corrected on resume", func(t *testing.T) {
		e, r := newEnv(t)
		c := ct.QuantConnect("mia", "mia-ai", true, true)
		settled(t, e, r, c)
		e.Edit(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.PausedAnnotation, "true") })
		e.QuantConnect.Add(ct.Target(collabv1alpha1.ProviderQuantConnect), fake.Member{ID: "mia-ai"})
		passes := e.Settle(r, c)
		if n := len(passes[0].Calls) + len(passes[len(passes)-1].Calls); n != 0 {
			t.Errorf("paused passes called the provider:\n%s", ct.DescribePasses(passes))
		}
		if diff := cmp.Diff([]ct.Cond{readyAvailable, pausedSynced}, ct.ConditionsOf(c)); diff != "" {
			t.Errorf("paused conditions (-want +got):\n%s", diff)
		}
		e.Edit(c, func() { delete(c.Annotations, collabv1alpha1.PausedAnnotation) })
		passes = e.Settle(r, c)
		if a := accessOf(e, c); a != (access{Write: true, LiveControl: true}) {
			t.Errorf("after resume the provider grants %+v\n%s", a, ct.DescribePasses(passes))
		}
		if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonAvailable), ct.ConditionsOf(c)); diff != "" {
			t.Errorf("resumed conditions (-want +got):\n%s", diff)
		}
	})

	t.Run("a new paused object creates nothing", func(t *testing.T) {
		e, r := newEnv(t)
		c := ct.QuantConnect("mia", "mia-ai", true, false)
		c.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "true"}
		e.Create(c)
		passes := e.Settle(r, c)
		if diff := cmp.Diff([]ct.Cond{pausedSynced}, ct.ConditionsOf(c)); diff != "" {
			t.Errorf("conditions (-want +got):\n%s", diff)
		}
		if e.Holds(c) || len(e.QuantConnect.Calls()) != 0 {
			t.Errorf("the provider was called:\n%s", ct.DescribePasses(passes))
		}
	})

	t.Run("any other value is no pause", func(t *testing.T) {
		e, r := newEnv(t)
		c := ct.QuantConnect("mia", "mia-ai", true, false)
		c.Annotations = map[string]string{collabv1alpha1.PausedAnnotation: "false"}
		e.Create(c)
		e.Settle(r, c)
		if !e.Holds(c) {
			t.Error(`paused: "false" paused the object`)
		}
	})

	for _, pname := range ct.ProviderNames {
		t.Run("deletion waits, then runs on resume/"+pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Edit(c, func() { metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.PausedAnnotation, "true") })
			e.Delete(c)
			passes := e.Settle(r, c)
			s := stateOf(e, c)
			if !s.Exists || !s.Finalizer || !s.Held || len(passes[0].Calls) != 0 {
				t.Fatalf("paused deletion did not wait: %+v\n%s", s, ct.DescribePasses(passes))
			}
			if cond := ct.Condition(c.Status.Conditions, collabv1alpha1.ConditionSynced); cond == nil ||
				cond.Reason != collabv1alpha1.ReasonPaused || !strings.Contains(cond.Message, orphanHint) {
				t.Errorf("Synced of a paused deletion: %+v; want Paused, naming %q", cond, orphanHint)
			}
			e.Edit(c, func() { delete(c.Annotations, collabv1alpha1.PausedAnnotation) })
			passes = e.Settle(r, c)
			if diff := cmp.Diff(state{}, stateOf(e, c)); diff != "" {
				t.Errorf("after resume (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
		})
	}

	t.Run("Orphan releases a paused deletion without a call", func(t *testing.T) {
		e, r := newEnv(t)
		c := ct.QuantConnect("mia", "mia-ai", true, false)
		settled(t, e, r, c)
		e.Edit(c, func() {
			metav1.SetMetaDataAnnotation(&c.ObjectMeta, collabv1alpha1.PausedAnnotation, "true")
			c.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
		})
		e.Delete(c)
		pass := e.Reconcile(r, c)
		if diff := cmp.Diff(state{Held: true}, stateOf(e, c)); diff != "" || len(pass.Calls) != 0 {
			t.Errorf("(-want +got):\n%s\n%s", diff, ct.DescribePasses([]ct.Pass{pass}))
		}
	})
}

// expiring sets spec.expiresAt to now plus d.
func expiring(c *collabv1alpha1.Collaborator, d time.Duration) {
	at := metav1.NewTime(time.Now().Add(d).Truncate(time.Second))
	c.Spec.ExpiresAt = &at
}

// At spec.expiresAt the person is removed at the provider as a delete
// would remove them and the object stays, Ready=True Expired, with an
// Event; nothing is created, updated or re-added after that time, and a
// re-add by hand is removed at the next read. Moving expiresAt into the
// future grants again.
func TestExpiry(t *testing.T) {
	for _, pname := range ct.ProviderNames {
		t.Run(pname, func(t *testing.T) {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Recorder.Reset()

			// One pass each below, not Settle: an expired object's status
			// is rewritten on every pass (TestTrustExpiredSteadyState).
			e.Edit(c, func() { expiring(c, -time.Minute) })
			passes := e.Run(r, c, 1)
			want := state{Exists: true, Finalizer: true, Conds: ct.Healthy(collabv1alpha1.ReasonExpired)}
			got := stateOf(e, c)
			got.ExternalID = ""
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("expired (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if diff := cmp.Diff([]fake.Op{fake.OpDelete}, writeOps(passes...)); diff != "" {
				t.Errorf("provider writes at expiry (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"Expired"}, e.Recorder.Reasons(c)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if !strings.Contains(readyMessage(c), c.Spec.ExpiresAt.UTC().Format(time.RFC3339)) {
				t.Errorf("the Expired message does not name the time: %q", readyMessage(c))
			}

			// Later passes: nothing granted again. A re-add by hand is
			// removed again at the next read where the provider can be
			// read by what the object knows (QuantConnect's user id; an
			// AppHarbor re-add gets a new collaborator id, see
			// TestTrustExpiredReAddIsRemovedAgain); WebTranslateIt has no
			// read.
			if ws := providerWrites(e.Run(r, c, 2)...); ws != 0 {
				t.Errorf("%d provider writes after the expiry was handled", ws)
			}
			readable := pname != collabv1alpha1.ProviderWebTranslateIt
			if pname != collabv1alpha1.ProviderAppHarbor {
				e.Seed(c)
				passes = e.Run(r, c, 1)
				if e.Holds(c) == readable {
					t.Errorf("a re-add by hand after expiry: held %t, want %t\n%s", e.Holds(c), !readable, ct.DescribePasses(passes))
				}
				for _, op := range writeOps(passes...) {
					if op != fake.OpDelete {
						t.Errorf("provider write %s after expiry", op)
					}
				}
				if !readable {
					removeByHand(e, c)
				}
			}

			// Renewed: access is granted again and the next pass is no
			// later than the new expiry.
			e.Edit(c, func() { expiring(c, time.Hour) })
			passes = e.Settle(r, c)
			wantConds := ct.Healthy(collabv1alpha1.ReasonAvailable)
			if !readable {
				wantConds = ct.Healthy(collabv1alpha1.ReasonDeleteOnly)
			}
			if diff := cmp.Diff(wantConds, ct.ConditionsOf(c)); diff != "" {
				t.Errorf("renewed (-want +got):\n%s\n%s", diff, ct.DescribePasses(passes))
			}
			if readable && !e.Holds(c) {
				t.Errorf("renewed but not granted again:\n%s", ct.DescribePasses(passes))
			}
			if last := passes[len(passes)-1].Result.RequeueAfter; last <= 0 || last > time.Hour {
				t.Errorf("next pass in %s, want at the latest at the expiry in 1h", last)
			}
		})
	}
}

// An expiresAt already past at creation never grants, and a failed
// removal at expiry is retried with the reason in status, never reported
// Expired while the person is still there.
func TestExpiryEdges(t *testing.T) {
	t.Run("past at creation: never granted", func(t *testing.T) {
		for _, pname := range []string{collabv1alpha1.ProviderQuantConnect, collabv1alpha1.ProviderAppHarbor} {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			expiring(c, -time.Hour)
			e.Create(c)
			passes := e.Run(r, c, 3)
			if e.Holds(c) || providerWrites(passes...) != 0 {
				t.Errorf("%s: granted or written:\n%s", pname, ct.DescribePasses(passes))
			}
			if diff := cmp.Diff(ct.Healthy(collabv1alpha1.ReasonExpired), ct.ConditionsOf(c)); diff != "" {
				t.Errorf("%s: (-want +got):\n%s", pname, diff)
			}
		}
	})
	t.Run("the removal fails: retried, not Expired", func(t *testing.T) {
		for _, pname := range ct.ProviderNames {
			e, r := newEnv(t)
			c := ct.Collaborator(pname, "person", "person")
			settled(t, e, r, c)
			e.Edit(c, func() { expiring(c, -time.Minute) })
			e.Provider(pname).Next(fake.OpDelete, fake.Answer{Kind: fake.ServerError})
			pass := e.Reconcile(r, c)
			want := ct.Transient(collabv1alpha1.ReasonProviderUnavailable, collabv1alpha1.ReasonProviderUnavailable)
			if diff := cmp.Diff(want, ct.ConditionsOf(c), cmpopts.EquateEmpty()); diff != "" || !e.Holds(c) {
				t.Errorf("%s: (-want +got):\n%s\n%s", pname, diff, ct.DescribePasses([]ct.Pass{pass}))
			}
			passes := e.Run(r, c, 1)
			if e.Holds(c) || !strings.HasPrefix(readyMessage(c), "Access expired") {
				t.Errorf("%s: the retry did not remove the person:\n%s", pname, ct.DescribePasses(passes))
			}
		}
	})
	t.Run("before expiresAt nothing changes", func(t *testing.T) {
		e, r := newEnv(t)
		c := ct.QuantConnect("mia", "mia-ai", true, false)
		expiring(c, time.Hour)
		e.Create(c)
		passes := e.Settle(r, c)
		if !e.Holds(c) {
			t.Errorf("not granted before expiresAt:\n%s", ct.DescribePasses(passes))
		}
		if last := passes[len(passes)-1].Result.RequeueAfter; last <= 0 || last > time.Hour {
			t.Errorf("next pass in %s, want at the latest at the expiry in 1h", last)
		}
		if c.Status.ExpiresAt == nil || !c.Status.ExpiresAt.Equal(c.Spec.ExpiresAt) {
			t.Errorf("status.expiresAt %v, want the spec's %v", c.Status.ExpiresAt, c.Spec.ExpiresAt)
		}
	})
}
