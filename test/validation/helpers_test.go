package validation

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// readDocs parses a multi-document YAML file into objects, skipping empty
// documents.
func readDocs(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path) //nolint:gosec // G304: paths come from the repository's own config/samples.
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs
			}
			t.Fatalf("parsing %s: %v", path, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// fromYAML parses one YAML document into a map.
func fromYAML(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("parsing test YAML %q: %v", doc, err)
	}
	return m
}

// newObject returns a Collaborator or ProviderConfig in ns with the given
// spec, written as YAML.
func newObject(t *testing.T, kind, ns, spec string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(collabv1alpha1.GroupVersion.String())
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetGenerateName(strings.ToLower(kind) + "-")
	if spec != "" {
		u.Object["spec"] = fromYAML(t, spec)
	}
	return u
}

// wantInvalid fails unless err is the API server's Invalid error and its
// message contains every one of want.
func wantInvalid(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the API server accepted the object; want it refused with a message containing %q", want)
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("got error %v (reason %q); want an Invalid error", err, apierrors.ReasonForError(err))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error message does not contain %q:\n%v", w, err)
		}
	}
}
