package webtranslateit_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// A token with characters that must be escaped in a path.
const orgToken = "wti-org/T0KEN?x=1&y" //nolint:gosec // G101: fake test credential for the simulator

func newEnv(t *testing.T, token string, opts ...httpapi.Option) (*sim.Server, provider.Client) {
	t.Helper()
	s := sim.New()
	if err := s.Seed(sim.Seed{Organizations: []sim.Organization{{Name: "acme", Token: orgToken, Members: []string{"Bob@Example.com", "amy@example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := webtranslateit.NewFactory(append([]httpapi.Option{httpapi.WithTimeout(5 * time.Second)}, opts...)...)(provider.Config{
		BaseURL:     ts.URL,
		Credentials: provider.Credentials{collabv1alpha1.WebTranslateItOrganizationTokenKey: []byte(token)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func collab(email string) *collabv1alpha1.Collaborator {
	return &collabv1alpha1.Collaborator{
		ObjectMeta: metav1.ObjectMeta{Name: "c", Namespace: "ns"},
		Spec:       collabv1alpha1.CollaboratorSpec{WebTranslateIt: &collabv1alpha1.WebTranslateItCollaborator{Email: email}},
	}
}

func TestFactoryValidatesCredentials(t *testing.T) {
	_, err := webtranslateit.NewFactory()(provider.Config{BaseURL: "https://webtranslateit.com", Credentials: provider.Credentials{}})
	if err == nil || !strings.Contains(err.Error(), "organizationToken") {
		t.Fatalf("error %v, want one naming organizationToken", err)
	}
}

func TestUnsupported(t *testing.T) {
	_, c := newEnv(t, orgToken)
	ctx := context.Background()
	_, errObserve := c.Observe(ctx, collab("bob@example.com"))
	_, errCreate := c.Create(ctx, collab("bob@example.com"))
	errUpdate := c.Update(ctx, collab("bob@example.com"))
	for _, err := range []error{errObserve, errCreate, errUpdate} {
		if !errors.Is(err, provider.ErrUnsupported) {
			t.Fatalf("%v does not wrap ErrUnsupported", err)
		}
	}
}

func TestDelete(t *testing.T) {
	s, c := newEnv(t, orgToken)
	ctx := context.Background()
	if err := c.Delete(ctx, collab("bob@example.com")); err != nil {
		t.Fatal(err)
	}
	if s.IsMember(orgToken, "bob@example.com") || !s.IsMember(orgToken, "amy@example.com") {
		t.Fatalf("members %v after removing bob", s.Members(orgToken))
	}
	if err := c.Delete(ctx, collab("bob@example.com")); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if err := c.Delete(ctx, collab("a+b&c=d@example.com")); err != nil {
		t.Fatalf("delete of an email needing query escaping: %v", err)
	}
}

func TestDeleteErrors(t *testing.T) {
	tests := map[string]struct {
		token     string
		inject    func(*sim.Server)
		wantClass provider.Class
		wantRetry time.Duration
		wantMsg   string
	}{
		"failed enrollment":   {inject: func(s *sim.Server) { s.FailDeletes(1) }, wantClass: provider.ClassUnavailable, wantMsg: "Failed to delete enrollment."},
		"email param missing": {inject: func(s *sim.Server) { s.FailNext(1, 404, `{"error":"email parameter not found."}`) }, wantClass: provider.ClassRejected},
		"unknown 404":         {inject: func(s *sim.Server) { s.FailNext(1, 404, `{"error":"Organization not found"}`) }, wantClass: provider.ClassUnauthorized, wantMsg: "Organization not found"},
		"404 empty":           {inject: func(s *sim.Server) { s.FailNext(1, 404, ``) }, wantClass: provider.ClassUnauthorized},
		"unknown token":       {token: "wrong-token", wantClass: provider.ClassUnauthorized},
		"500":                 {inject: func(s *sim.Server) { s.FailNext(1, 500, `oops`) }, wantClass: provider.ClassUnavailable, wantMsg: "oops"},
		"503":                 {inject: func(s *sim.Server) { s.FailNext(1, 503, `{"error":"maintenance"}`) }, wantClass: provider.ClassUnavailable, wantMsg: "maintenance"},
		"429":                 {inject: func(s *sim.Server) { s.RateLimitNext(1, "11", `{}`) }, wantClass: provider.ClassRateLimited, wantRetry: 11 * time.Second},
		"dropped":             {inject: func(s *sim.Server) { s.DropNext(1) }, wantClass: provider.ClassUnavailable, wantMsg: "connection"},
		"slow":                {inject: func(s *sim.Server) { s.DelayNext(1, time.Minute) }, wantClass: provider.ClassUnavailable, wantMsg: "timed out after 100ms"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			token := orgToken
			if tc.token != "" {
				token = tc.token
			}
			s, c := newEnv(t, token, httpapi.WithTimeout(100*time.Millisecond))
			if tc.inject != nil {
				tc.inject(s)
			}
			err := c.Delete(context.Background(), collab("bob@example.com"))
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Class != tc.wantClass || pe.RetryAfter != tc.wantRetry || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %v (%+v), want class %v retry %v mentioning %q", err, pe, tc.wantClass, tc.wantRetry, tc.wantMsg)
			}
			if tc.token == "" && !s.IsMember(orgToken, "bob@example.com") {
				t.Fatal("the member was removed although the call failed")
			}
		})
	}
}

func TestClassifyIsTolerant(t *testing.T) {
	tests := map[string]struct {
		messages []string
		want     webtranslateit.Outcome
	}{
		"documented gone":  {[]string{"Couldn't find this collaborator on that organization."}, webtranslateit.OutcomeGone},
		"curly apostrophe": {[]string{"  couldn\u2019t  find this Collaborator on that organization "}, webtranslateit.OutcomeGone},
		"could not":        {[]string{"Could not find this collaborator on that organization"}, webtranslateit.OutcomeGone},
		"failed":           {[]string{"FAILED to delete enrollment"}, webtranslateit.OutcomeFailed},
		"no email":         {[]string{"Email parameter not found."}, webtranslateit.OutcomeNoEmail},
		"unknown":          {[]string{"Organization not found"}, webtranslateit.OutcomeUnknown},
		"none":             {nil, webtranslateit.OutcomeUnknown},
		"second of many":   {[]string{"error", "Failed to delete enrollment."}, webtranslateit.OutcomeFailed},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got, _ := webtranslateit.Classify(tc.messages); got != tc.want {
				t.Fatalf("Classify(%q) = %v, want %v", tc.messages, got, tc.want)
			}
		})
	}
}

func TestMessageUnderAnyKey(t *testing.T) {
	for _, body := range []string{
		`{"error":"Couldn't find this collaborator on that organization."}`,
		`{"message":"Couldn't find this collaborator on that organization."}`,
		`{"errors":["Couldn't find this collaborator on that organization."]}`,
		`{"status":"error","details":{"reason":"Couldn't find this collaborator on that organization."}}`,
		`Couldn't find this collaborator on that organization.`,
	} {
		s, c := newEnv(t, orgToken)
		s.FailNext(1, 404, body)
		if err := c.Delete(context.Background(), collab("bob@example.com")); err != nil {
			t.Fatalf("body %s: %v, want success (already gone)", body, err)
		}
	}
}
