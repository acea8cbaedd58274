package provider_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/internal/provider/appharbor"
	ahsim "github.com/collab-dev/collaborator-operator/internal/provider/appharbor/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/httpapi"
	"github.com/collab-dev/collaborator-operator/internal/provider/quantconnect"
	qcsim "github.com/collab-dev/collaborator-operator/internal/provider/quantconnect/sim"
	"github.com/collab-dev/collaborator-operator/internal/provider/simkit"
	"github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit"
	wtisim "github.com/collab-dev/collaborator-operator/internal/provider/webtranslateit/sim"
)

// Distinctive credentials, with characters that escape differently in
// paths and queries, so that every encoded form can be searched for.
const (
	qcToken  = "qc-SECRET/tok+en=1" //nolint:gosec // G101: fake test credential, searched for in logs
	ahToken  = "ah-SECRET/tok+en=2"
	wtiToken = "wti-SECRET/tok en?=3&x" //nolint:gosec // G101: fake test credential, searched for in logs
)

var now = time.Unix(1_800_000_000, 0)

// forms lists every form in which a token could leak.
func forms(tok string) []string {
	return []string{tok, url.PathEscape(tok), url.QueryEscape(tok), "SECRET"}
}

// qcSignature is the QuantConnect hash and Authorization value at now.
func qcSignature() []string {
	ts := strconv.FormatInt(now.Unix(), 10)
	sum := sha256.Sum256([]byte(qcToken + ":" + ts))
	hash := hex.EncodeToString(sum[:])
	return []string{hash, base64.StdEncoding.EncodeToString([]byte("1001:" + hash))}
}

type faulty interface {
	Inject(simkit.Fault)
}

// target is one provider wired to its simulator.
type target struct {
	name   string
	kit    faulty
	client provider.Client
	col    *collabv1alpha1.Collaborator
	close  func()
	// token is the target's credential; a server echoing it back must not
	// make it appear in an error.
	token string
	// secrets are all forms that must never appear.
	secrets []string
}

func targets(t *testing.T) []target {
	t.Helper()
	opts := struct{ timeout time.Duration }{100 * time.Millisecond}

	qs := qcsim.New(qcsim.WithClock(func() time.Time { return now }))
	if err := qs.Seed(qcsim.Seed{
		Users:    []qcsim.User{{UID: 1001, PublicID: "owner", APIToken: qcToken}, {UID: 1002, PublicID: "mia"}},
		Projects: []qcsim.Project{{ID: 5, Owner: "owner"}},
	}); err != nil {
		t.Fatal(err)
	}
	qts := httptest.NewServer(qs)
	qc, err := quantconnect.NewFactory(httpapi.WithClock(func() time.Time { return now }),
		httpapi.WithTimeout(opts.timeout), httpapi.WithCacheTTL(0))(provider.Config{
		BaseURL: qts.URL + qcsim.PathPrefix, Credentials: provider.Credentials{"userID": []byte("1001"), "apiToken": []byte(qcToken)},
	})
	if err != nil {
		t.Fatal(err)
	}

	as := ahsim.New()
	if err := as.Seed(ahsim.Seed{
		Users:        []ahsim.User{{Name: "bob", Email: "bob@example.com"}},
		Applications: []ahsim.Application{{Slug: "app"}},
		Tokens:       []ahsim.Token{{Token: ahToken, Applications: []string{"app"}}},
	}); err != nil {
		t.Fatal(err)
	}
	ats := httptest.NewServer(as)
	ah, err := appharbor.NewFactory(httpapi.WithTimeout(opts.timeout), httpapi.WithCacheTTL(0))(provider.Config{
		BaseURL: ats.URL, Credentials: provider.Credentials{"accessToken": []byte(ahToken)},
	})
	if err != nil {
		t.Fatal(err)
	}

	ws := wtisim.New()
	ws.AddOrganization(wtiToken, "bob@example.com")
	wts := httptest.NewServer(ws)
	wti, err := webtranslateit.NewFactory(httpapi.WithTimeout(opts.timeout))(provider.Config{
		BaseURL: wts.URL, Credentials: provider.Credentials{"organizationToken": []byte(wtiToken)},
	})
	if err != nil {
		t.Fatal(err)
	}

	ahCol := &collabv1alpha1.Collaborator{Spec: collabv1alpha1.CollaboratorSpec{AppHarbor: &collabv1alpha1.AppHarborCollaborator{Application: "app", Email: "bob@example.com"}}}
	ahCol.Annotations = map[string]string{collabv1alpha1.ExternalIDAnnotation: "some/id+="}
	return []target{
		{name: "QuantConnect", kit: qs, client: qc, close: qts.Close, token: qcToken, secrets: append(forms(qcToken), qcSignature()...),
			col: &collabv1alpha1.Collaborator{Spec: collabv1alpha1.CollaboratorSpec{QuantConnect: &collabv1alpha1.QuantConnectCollaborator{ProjectID: 5, UserID: "mia"}}}},
		{name: "AppHarbor", kit: as, client: ah, close: ats.Close, col: ahCol, token: ahToken, secrets: forms(ahToken)},
		{name: "WebTranslateIt", kit: ws, client: wti, close: wts.Close, token: wtiToken, secrets: forms(wtiToken),
			col: &collabv1alpha1.Collaborator{Spec: collabv1alpha1.CollaboratorSpec{WebTranslateIt: &collabv1alpha1.WebTranslateItCollaborator{Email: "bob@example.com"}}}},
	}
}

// echo is a body that repeats a credential back in all its forms, as a
// careless server might in an error message.
func echo(tok string) string {
	return fmt.Sprintf(`{"success":false,"errors":["bad key %s %s"],"error":{"message":"bad key %s"}}`,
		tok, url.PathEscape(tok), url.QueryEscape(tok))
}

// TestNoCredentialInErrors drives every operation of every provider
// through every fault and fails if an error's text holds a credential.
func TestNoCredentialInErrors(t *testing.T) {
	faults := func(tok string) map[string]simkit.Fault {
		return map[string]simkit.Fault{
			"500 echoing credentials": {Status: 500, Body: echo(tok)},
			"401 echoing credentials": {Status: 401, Body: echo(tok)},
			"404 echoing credentials": {Status: 404, Body: echo(tok)},
			"200 echoing credentials": {Status: 200, Body: echo(tok)},
			"400 plain text echo":     {Status: 400, Body: "denied for " + tok + " " + url.PathEscape(tok)},
			"429":                     {Status: 429, Body: echo(tok), Header: http.Header{"Retry-After": {"5"}}},
			"dropped connection":      {Drop: true},
			"slow":                    {Latency: time.Minute},
		}
	}
	ops := map[string]func(context.Context, provider.Client, *collabv1alpha1.Collaborator) error{
		"observe": func(ctx context.Context, c provider.Client, col *collabv1alpha1.Collaborator) error {
			_, err := c.Observe(ctx, col)
			return err
		},
		"create": func(ctx context.Context, c provider.Client, col *collabv1alpha1.Collaborator) error {
			_, err := c.Create(ctx, col)
			return err
		},
		"update": func(ctx context.Context, c provider.Client, col *collabv1alpha1.Collaborator) error {
			return c.Update(ctx, col)
		},
		"delete": func(ctx context.Context, c provider.Client, col *collabv1alpha1.Collaborator) error {
			return c.Delete(ctx, col)
		},
	}
	errorsSeen := 0
	check := func(t *testing.T, secrets []string, what string, err error) {
		t.Helper()
		if err == nil {
			return
		}
		errorsSeen++
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s: error leaks a credential form %q: %s", what, s, text)
				}
			}
		}
	}
	for _, tg := range targets(t) {
		for fname, f := range faults(tg.token) {
			for oname, op := range ops {
				f.Times = 10 // covers the re-reads some operations do
				tg.kit.Inject(f)
				err := op(context.Background(), tg.client, tg.col.DeepCopy())
				check(t, tg.secrets, tg.name+" "+oname+" "+fname, err)
				tg.kit.(interface{ ClearFaults() }).ClearFaults()
			}
		}
		if a, ok := tg.client.(provider.Authenticator); ok {
			tg.kit.Inject(simkit.Fault{Status: 401, Body: echo(tg.token)})
			check(t, tg.secrets, tg.name+" authenticate", a.Authenticate(context.Background()))
		}
		// Connection refused: the transport error names the URL.
		tg.close()
		for oname, op := range ops {
			check(t, tg.secrets, tg.name+" "+oname+" refused", op(context.Background(), tg.client, tg.col.DeepCopy()))
		}
	}
	if errorsSeen < 80 {
		t.Fatalf("only %d operations failed; the faults did not take effect", errorsSeen)
	}
}
