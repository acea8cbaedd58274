package controller

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/adopt"
)

// applyManifests creates every document of out through the API server, as
// `kubectl apply` does for new objects, and returns their names sorted.
func (f *fixture) applyManifests(out string) []string {
	f.t.Helper()
	docs := strings.Split(out, "\n---\n")
	names := make([]string, 0, len(docs))
	for _, doc := range docs {
		c := &collabv1alpha1.Collaborator{}
		if err := yaml.UnmarshalStrict([]byte(doc), c); err != nil {
			f.t.Fatalf("manifest does not parse: %v\n%s", err, doc)
		}
		if err := k8s.Create(context.Background(), c); err != nil {
			f.t.Fatalf("applying %s: %v\n%s", c.Name, err, doc)
		}
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

// The import of a seeded QuantConnect project prints a manifest for each
// member no Collaborator declares (never the owner), and applying them
// adopts every one: all Ready, zero creates at the provider.
func TestImportQuantConnectAdoptsWithoutCreates(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.quantConnectConfig(time.Hour)
	f.addQCUsers("lee-q", "Kim.Park")
	must(t, f.qc.SetCollaborator(qcProject, "lee-q", true, true))
	must(t, f.qc.SetCollaborator(qcProject, "Kim.Park", false, false))
	must(t, f.qc.SetCollaborator(qcProject, "noah", true, false))
	must(t, f.qc.SetCollaborator(qcProject, "mia-ai", false, false))
	// mia is declared already; a Collaborator named like noah's member
	// exists for another project, so the manifest must not reuse its name.
	f.create(qcCollaborator("mia", "qc", "mia-ai", false, false))
	other := qcCollaborator("noah", "qc", "noah", false, false)
	other.Spec.QuantConnect.ProjectID = 999
	other.Spec.DeletionPolicy = collabv1alpha1.DeletionOrphan
	f.create(other)
	f.waitReady("mia")

	var out bytes.Buffer
	n, err := adopt.Import(context.Background(), k8s, f.reg, adopt.Request{
		Namespace: f.ns, ProviderConfig: "qc", ProjectID: qcProject, AllowedURLs: loopbackOnly,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || strings.Contains(out.String(), qcOwner) {
		t.Fatalf("%d manifests (want 3: lee-q, Kim.Park, noah; never the owner):\n%s", n, out.String())
	}
	creates := qcCalls(f, "/collaboration/create")
	names := f.applyManifests(out.String())
	if err := equalStrings(names, []string{"kim-park", "lee-q", "noah-2"}); err != nil {
		t.Errorf("manifest names: %v", err)
	}
	for _, name := range names {
		c := f.waitReady(name)
		if c.Annotations[collabv1alpha1.ExternalIDAnnotation] == "" {
			t.Errorf("%s carries no external id", name)
		}
	}
	if got := qcCalls(f, "/collaboration/create") - creates; got != 0 {
		t.Errorf("applying the import made %d creates at QuantConnect, want 0", got)
	}
	if got := f.collaborator("lee-q"); !got.Spec.QuantConnect.Write || !got.Spec.QuantConnect.LiveControl {
		t.Errorf("lee-q's manifest lost their access: %+v", got.Spec.QuantConnect)
	}

	// Everything is declared now: a second import prints nothing.
	out.Reset()
	if n, err := adopt.Import(context.Background(), k8s, f.reg, adopt.Request{
		Namespace: f.ns, ProviderConfig: "qc", ProjectID: qcProject, AllowedURLs: loopbackOnly,
	}, &out); err != nil || n != 0 {
		t.Errorf("second import: %d manifests, err %v:\n%s", n, err, out.String())
	}
}

// AppHarbor manifests say the email must be filled in and are refused
// until it is; filled in, they adopt with zero creates.
func TestImportAppHarborAdoptsWithoutCreates(t *testing.T) {
	f := newFixture(t)
	startManager(t, f.ns, f.reg, managerOptions{})
	f.appHarborConfig(time.Hour)
	for _, u := range []string{"carol", "dave"} {
		_, err := f.ah.AddCollaborator(ahApp, u+"@example.com", "collaborator")
		must(t, err)
	}
	var out bytes.Buffer
	n, err := adopt.Import(context.Background(), k8s, f.reg, adopt.Request{
		Namespace: f.ns, ProviderConfig: "ah", Application: ahApp, AllowedURLs: loopbackOnly,
	}, &out)
	if err != nil || n != 2 {
		t.Fatalf("import: %d manifests, err %v", n, err)
	}
	if err := containsAll(out.String(), "fill in spec.appHarbor.email", `email: ""`); err != nil {
		t.Error(err)
	}
	unfilled := &collabv1alpha1.Collaborator{}
	must(t, yaml.Unmarshal([]byte(strings.Split(out.String(), "\n---\n")[0]), unfilled))
	if err := k8s.Create(context.Background(), unfilled); err == nil {
		t.Error("a manifest with an empty email was accepted")
	}
	posts := ahRequests(f, "POST")
	filled := strings.NewReplacer(`email: ""  # FILL IN: carol's email`, "email: carol@example.com",
		`email: ""  # FILL IN: dave's email`, "email: dave@example.com").Replace(out.String())
	for _, name := range f.applyManifests(filled) {
		f.waitReady(name)
	}
	if got := ahRequests(f, "POST") - posts; got != 0 {
		t.Errorf("applying the import made %d creates at AppHarbor, want 0", got)
	}
}

// Without RBAC to read the ProviderConfig or its Secret, the import says
// what it needs.
func TestImportSaysWhenRBACRefuses(t *testing.T) {
	f := newFixture(t)
	f.quantConnectConfig(time.Hour)
	cfg := rest.CopyConfig(testCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "nobody"}
	nobody, err := client.New(cfg, client.Options{Scheme: testScheme})
	must(t, err)
	_, err = adopt.Import(context.Background(), nobody, f.reg, adopt.Request{
		Namespace: f.ns, ProviderConfig: "qc", ProjectID: qcProject, AllowedURLs: loopbackOnly,
	}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("the import succeeded without RBAC")
	}
	if err := containsAll(err.Error(), "may not get providerconfigs.collab.dev qc", "needs get on the ProviderConfig and its Secret"); err != nil {
		t.Error(err)
	}
	if strings.Contains(err.Error(), qcToken) {
		t.Error("the error holds the token")
	}
}
