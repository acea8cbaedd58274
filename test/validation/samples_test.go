package validation

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/controller/permit"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

func sampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "kustomization.yaml" })
	if len(files) == 0 {
		t.Fatal("no samples in config/samples")
	}
	return files
}

// TestSamplesAreAccepted creates every object of every sample for real and
// checks that each sample is complete: a Secret with the provider's keys, a
// ProviderConfig that names it, and a Collaborator (and optionally an
// AccessPolicy) that names that.
func TestSamplesAreAccepted(t *testing.T) {
	for _, file := range sampleFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ctx := context.Background()
			ns := newNamespace(t)
			docs := readDocs(t, file)
			if len(docs) > 0 && docs[0].GetKind() == kindClusterProviderConfig {
				checkClusterSample(t, ns, docs)
				return
			}
			kinds := make([]string, 0, len(docs))
			names := map[string]string{}
			for _, obj := range docs {
				if obj.GetNamespace() != "" {
					t.Errorf("%s %s sets namespace %q; samples must be namespace-less so that kubectl -n chooses",
						obj.GetKind(), obj.GetName(), obj.GetNamespace())
				}
				obj.SetNamespace(ns)
				if err := k8sClient.Create(ctx, obj, strict); err != nil {
					t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
				}
				kinds = append(kinds, obj.GetKind())
				names[obj.GetKind()] = obj.GetName()
			}
			want := []string{"Secret", "ProviderConfig", "Collaborator"}
			if len(kinds) == 4 {
				// A sample may end with an AccessPolicy over its project.
				want = append(want, "AccessPolicy")
			}
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Fatalf("kinds in the sample (-want +got):\n%s", diff)
			}

			var secret corev1.Secret
			var pc collabv1alpha1.ProviderConfig
			var collab collabv1alpha1.Collaborator
			key := func(kind string) types.NamespacedName {
				return types.NamespacedName{Namespace: ns, Name: names[kind]}
			}
			if err := k8sClient.Get(ctx, key("Secret"), &secret); err != nil {
				t.Fatal(err)
			}
			if err := k8sClient.Get(ctx, key("ProviderConfig"), &pc); err != nil {
				t.Fatal(err)
			}
			if err := k8sClient.Get(ctx, key("Collaborator"), &collab); err != nil {
				t.Fatal(err)
			}
			if name, ok := names["AccessPolicy"]; ok {
				var policy collabv1alpha1.AccessPolicy
				if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &policy); err != nil {
					t.Fatal(err)
				}
				if policy.Spec.ProviderConfigRef.Name != pc.Name {
					t.Errorf("the AccessPolicy references ProviderConfig %q; the sample's is %q",
						policy.Spec.ProviderConfigRef.Name, pc.Name)
				}
			}
			if got := collab.Spec.ProviderConfigRef.Name; got != pc.Name {
				t.Errorf("the Collaborator references ProviderConfig %q; the sample's is %q", got, pc.Name)
			}
			var secretName string
			var keys []string
			switch {
			case pc.Spec.QuantConnect != nil:
				secretName = pc.Spec.QuantConnect.CredentialsSecretRef.Name
				keys = []string{collabv1alpha1.QuantConnectAPITokenKey, collabv1alpha1.QuantConnectUserIDKey}
				if collab.Spec.QuantConnect == nil {
					t.Error("the ProviderConfig is for QuantConnect but the Collaborator is not")
				}
			case pc.Spec.AppHarbor != nil:
				secretName = pc.Spec.AppHarbor.CredentialsSecretRef.Name
				keys = []string{collabv1alpha1.AppHarborAccessTokenKey}
				if collab.Spec.AppHarbor == nil {
					t.Error("the ProviderConfig is for AppHarbor but the Collaborator is not")
				}
			case pc.Spec.WebTranslateIt != nil:
				secretName = pc.Spec.WebTranslateIt.CredentialsSecretRef.Name
				keys = []string{collabv1alpha1.WebTranslateItOrganizationTokenKey}
				if collab.Spec.WebTranslateIt == nil {
					t.Error("the ProviderConfig is for WebTranslateIt but the Collaborator is not")
				}
			}
			if secretName != secret.Name {
				t.Errorf("the ProviderConfig references Secret %q; the sample's is %q", secretName, secret.Name)
			}
			gotKeys := make([]string, 0, len(secret.Data))
			for k := range secret.Data {
				gotKeys = append(gotKeys, k)
			}
			sort.Strings(gotKeys)
			if diff := cmp.Diff(keys, gotKeys); diff != "" {
				t.Errorf("Secret keys (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSamplesKustomizationListsEveryFile keeps `kubectl apply -k
// config/samples` in step with the files.
func TestSamplesKustomizationListsEveryFile(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(), "config", "samples", "kustomization.yaml")
	data, err := os.ReadFile(path) //nolint:gosec // G304: a fixed file of this repository.
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	files := sampleFiles(t)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	sort.Strings(files)
	sort.Strings(k.Resources)
	if diff := cmp.Diff(files, k.Resources); diff != "" {
		t.Errorf("config/samples/kustomization.yaml resources (-files +listed):\n%s", diff)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, "collab_v1alpha1_") {
			t.Errorf("sample %s: name it collab_v1alpha1_<provider>.yaml", f)
		}
	}
}

// checkClusterSample creates a ClusterProviderConfig sample and checks it
// is complete: the ClusterProviderConfig (its Secret lives in the
// operator's namespace, outside the sample) and a Collaborator that
// references it, of the same provider, which its grants permit in the
// namespace the sample names.
func checkClusterSample(t *testing.T, ns string, docs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	kinds := make([]string, 0, len(docs))
	for _, obj := range docs {
		if obj.GetNamespace() != "" {
			t.Errorf("%s %s sets namespace %q; samples must be namespace-less so that kubectl -n chooses",
				obj.GetKind(), obj.GetName(), obj.GetNamespace())
		}
		if obj.GetKind() != kindClusterProviderConfig {
			obj.SetNamespace(ns)
		}
		if err := k8sClient.Create(ctx, obj, strict); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		if obj.GetKind() == kindClusterProviderConfig {
			t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) })
		}
		kinds = append(kinds, obj.GetKind())
	}
	if diff := cmp.Diff([]string{kindClusterProviderConfig, kindCollaborator}, kinds); diff != "" {
		t.Fatalf("kinds in the sample (-want +got):\n%s", diff)
	}
	var cpc collabv1alpha1.ClusterProviderConfig
	var collab collabv1alpha1.Collaborator
	if err := k8sClient.Get(ctx, types.NamespacedName{Name: docs[0].GetName()}, &cpc); err != nil {
		t.Fatal(err)
	}
	if err := k8sClient.Get(ctx, types.NamespacedName{Namespace: ns, Name: docs[1].GetName()}, &collab); err != nil {
		t.Fatal(err)
	}
	if ref := collab.Spec.ProviderConfigRef; !ref.IsCluster() || ref.Name != cpc.Name {
		t.Errorf("the Collaborator references %s %q; the sample's is ClusterProviderConfig %q", ref.Kind, ref.Name, cpc.Name)
	}
	ep, ok := cpc.Spec.Endpoint()
	if !ok || ep.Provider != collab.Spec.ProviderName() {
		t.Errorf("the ClusterProviderConfig is for %q, the Collaborator for %q", ep.Provider, collab.Spec.ProviderName())
	}
	if ep.SecretName == "" {
		t.Error("the ClusterProviderConfig names no Secret")
	}
	// The sample says where to apply the Collaborator: its grants permit
	// it there, and nowhere they do not name.
	req := permit.ForCollaborator(&collab)
	req.Namespace = "trading"
	if granted, denied := permit.Check(cpc.Name, cpc.Spec.Grants, req); len(granted) == 0 {
		t.Errorf("the sample's grants do not permit its Collaborator in namespace trading: %s", denied)
	}
	req.Namespace = "elsewhere"
	if granted, _ := permit.Check(cpc.Name, cpc.Spec.Grants, req); len(granted) > 0 {
		t.Errorf("the sample's grants permit its Collaborator in any namespace; the sample says trading only")
	}
}

// TestDemoOrganizationIsAccepted: config/demo/organization, the demo of a
// ClusterProviderConfig, is accepted as it is applied (without -n), and
// its grants permit its Collaborator where it puts it.
func TestDemoOrganizationIsAccepted(t *testing.T) {
	ctx := context.Background()
	newNamespace(t) // tracks the CRDs as inputs
	docs := readDocs(t, filepath.Join(testenv.RepoRoot(), "config", "demo", "organization", "organization.yaml"))
	var cpc collabv1alpha1.ClusterProviderConfig
	var collab collabv1alpha1.Collaborator
	for _, obj := range docs {
		if err := k8sClient.Create(ctx, obj, strict); err != nil {
			t.Fatalf("creating %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		t.Cleanup(func() { _ = k8sClient.Delete(context.Background(), obj) })
		var err error
		switch obj.GetKind() {
		case kindClusterProviderConfig:
			err = k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), &cpc)
		case kindCollaborator:
			err = k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), &collab)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if cpc.Name == "" || collab.Name == "" {
		t.Fatal("config/demo/organization lacks a ClusterProviderConfig or a Collaborator")
	}
	if ref := collab.Spec.ProviderConfigRef; !ref.IsCluster() || ref.Name != cpc.Name {
		t.Errorf("the Collaborator references %s %q; the demo's is ClusterProviderConfig %q", ref.Kind, ref.Name, cpc.Name)
	}
	if granted, denied := permit.Check(cpc.Name, cpc.Spec.Grants, permit.ForCollaborator(&collab)); len(granted) == 0 {
		t.Errorf("the demo's grants do not permit its own Collaborator: %s", denied)
	}
}
