package fake

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

const (
	qc  = collabv1alpha1.ProviderQuantConnect
	ah  = collabv1alpha1.ProviderAppHarbor
	wti = collabv1alpha1.ProviderWebTranslateIt
)

// deleteResult is what a delete test compares: the class the caller got,
// the HTTP status and Retry-After it carries, whether the provider still
// holds the member, and which requests were sent.
type deleteResult struct {
	Class      string
	Status     int
	RetryAfter time.Duration
	Has        bool
	Ops        []Op
}

// each gives every preset the same expectation, with overrides.
func each(w deleteResult, overrides map[string]deleteResult) map[string]deleteResult {
	out := map[string]deleteResult{qc: w, ah: w, wti: w}
	for k, v := range overrides {
		out[k] = v
	}
	return out
}

var (
	del        = []Op{OpDelete}
	delConfirm = []Op{OpDelete, OpConfirm}
)

// Every answer a provider can give to a delete, for every preset: the
// class the reconciler sees and what happened at the provider. Only the
// documented success and a documented "already gone", confirmed by a read
// where the provider has one, are success (nil); nothing is ClassNotFound.
func TestDeleteAnswers(t *testing.T) {
	tests := map[string]struct {
		present bool
		answers map[Op][]Answer
		want    map[string]deleteResult
	}{
		"documented success": {
			present: true,
			want:    each(deleteResult{Class: "ok", Ops: del}, nil),
		},
		"already gone, as the provider itself says": {
			want: each(deleteResult{Class: "ok", Ops: delConfirm}, map[string]deleteResult{
				ah:  {Class: "ok", Ops: delConfirm},
				wti: {Class: "ok", Ops: del},
			}),
		},
		"already gone claimed while present: the fresh read tells": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Gone}}},
			want: map[string]deleteResult{
				qc: {Class: "Rejected", Status: http.StatusOK, Has: true, Ops: delConfirm},
				ah: {Class: "Unavailable", Status: http.StatusNotFound, Has: true, Ops: delConfirm},
				// No read exists to check the documented answer against.
				wti: {Class: "ok", Has: true, Ops: del},
			},
		},
		"already gone claimed and the fresh read omits it too": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Gone}}, OpConfirm: {{Kind: Gone}}},
			want: each(deleteResult{Class: "ok", Has: true, Ops: delConfirm}, map[string]deleteResult{
				ah:  {Class: "ok", Has: true, Ops: delConfirm},
				wti: {Class: "ok", Has: true, Ops: del},
			}),
		},
		"already gone but the confirming read fails": {
			answers: map[Op][]Answer{OpConfirm: {{Kind: ServerError}}},
			want: map[string]deleteResult{
				qc:  {Class: "Rejected", Status: http.StatusOK, Ops: delConfirm},
				ah:  {Class: "Unavailable", Status: http.StatusInternalServerError, Ops: delConfirm},
				wti: {Class: "ok", Ops: del},
			},
		},
		"another 404 (a proxy's page)": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: NotFoundPage}}},
			want: each(deleteResult{Class: "Unavailable", Status: http.StatusNotFound, Has: true, Ops: del}, map[string]deleteResult{
				wti: {Class: "Unauthorized", Status: http.StatusNotFound, Has: true, Ops: del},
			}),
		},
		"another 404 for a member who is gone is still not NotFound": {
			answers: map[Op][]Answer{OpDelete: {{Kind: NotFoundPage}}},
			want: each(deleteResult{Class: "Unavailable", Status: http.StatusNotFound, Ops: del}, map[string]deleteResult{
				wti: {Class: "Unauthorized", Status: http.StatusNotFound, Ops: del},
			}),
		},
		"redirect": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Redirect, Status: http.StatusMovedPermanently}}},
			want: each(deleteResult{Class: "Rejected", Status: http.StatusMovedPermanently, Has: true, Ops: del}, map[string]deleteResult{
				// QuantConnect's client reads after any refusal.
				qc: {Class: "Rejected", Status: http.StatusMovedPermanently, Has: true, Ops: delConfirm},
			}),
		},
		"rate limited": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: RateLimited, RetryAfter: 30 * time.Second}}},
			want: each(deleteResult{Class: "RateLimited", Status: http.StatusTooManyRequests, RetryAfter: 30 * time.Second,
				Has: true, Ops: del}, nil),
		},
		"server error": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: ServerError, Status: http.StatusServiceUnavailable}}},
			want:    each(deleteResult{Class: "Unavailable", Status: http.StatusServiceUnavailable, Has: true, Ops: del}, nil),
		},
		"lost answer: the member is gone but the caller does not know": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Lost}}},
			want:    each(deleteResult{Class: "Unavailable", Ops: del}, nil),
		},
		"lost answer for a member already gone is not NotFound": {
			answers: map[Op][]Answer{OpDelete: {{Kind: Lost}}},
			want:    each(deleteResult{Class: "Unavailable", Ops: del}, nil),
		},
		"unreachable": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Unreachable}}},
			want:    each(deleteResult{Class: "Unavailable", Has: true, Ops: del}, nil),
		},
		"401": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Unauthorized}}},
			want:    each(deleteResult{Class: "Unauthorized", Status: http.StatusUnauthorized, Has: true, Ops: del}, nil),
		},
		"403": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Unauthorized, Status: http.StatusForbidden}}},
			want:    each(deleteResult{Class: "Unauthorized", Status: http.StatusForbidden, Has: true, Ops: del}, nil),
		},
		"400": {
			present: true,
			answers: map[Op][]Answer{OpDelete: {{Kind: Rejected}}},
			want: each(deleteResult{Class: "Rejected", Status: http.StatusBadRequest, Has: true, Ops: del}, map[string]deleteResult{
				qc: {Class: "Rejected", Status: http.StatusBadRequest, Has: true, Ops: delConfirm},
			}),
		},
	}
	for name, tc := range tests {
		for pname, ps := range presets {
			t.Run(name+"/"+pname, func(t *testing.T) {
				p := ps.newProvider()
				col, target, id := ps.setup(p, tc.present)
				for op, answers := range tc.answers {
					p.Next(op, answers...)
				}
				err := newClient(t, p, "me").Delete(t.Context(), col)
				got := deleteResult{Class: class(err), Has: p.Has(target, id), Ops: ops(p)}
				var pe *provider.Error
				if errors.As(err, &pe) {
					got.Status, got.RetryAfter = pe.StatusCode, pe.RetryAfter
				}
				if diff := cmp.Diff(tc.want[pname], got); diff != "" {
					t.Errorf("delete (-want +got):\n%s\nerror: %v", diff, err)
				}
			})
		}
	}
}

// A delete repeated after success finds nobody: success again, which the
// reconciler treats as done, and no second removal.
func TestDeleteTwice(t *testing.T) {
	for pname, ps := range presets {
		t.Run(pname, func(t *testing.T) {
			p := ps.newProvider()
			col, target, id := ps.setup(p, true)
			c := newClient(t, p, "me")
			first := c.Delete(t.Context(), col)
			second := c.Delete(t.Context(), col)
			got := []string{class(first), class(second)}
			if diff := cmp.Diff([]string{"ok", "ok"}, got); diff != "" {
				t.Errorf("classes (-want +got):\n%s", diff)
			}
			if p.Has(target, id) {
				t.Error("the member is still there")
			}
			changed := 0
			for _, r := range p.Calls() {
				if r.Changed {
					changed++
				}
			}
			if changed != 1 {
				t.Errorf("%d requests changed the provider, want 1: %+v", changed, p.Calls())
			}
		})
	}
}
