// Package validation checks, against a real kube-apiserver, that the CRDs
// accept the samples, refuse invalid specs with a message naming the
// field, apply the documented defaults and serve the documented columns.
package validation

import (
	"context"
	"fmt"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/collab-dev/collaborator-operator/test/testenv"
)

// strict makes the API server refuse unknown fields, as kubectl apply does,
// instead of silently dropping them: a typo in a sample or a test fails.
var strict = client.FieldValidation(metav1.FieldValidationStrict)

var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	testEnv, cfg, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "validation tests need a real API server:", err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	k8sClient, err = client.New(cfg, client.Options{Scheme: testEnv.Scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating a client:", err)
		return 1
	}
	return m.Run()
}

// newNamespace creates a namespace for one test and deletes it afterwards.
// envtest runs no namespace controller, so the deletion only marks it; a
// fresh name per test keeps tests apart.
func newNamespace(t *testing.T) string {
	t.Helper()
	// envtest installed the CRDs before the go command began recording
	// which files the tests read; record them now so that a regenerated
	// CRD reruns these tests instead of reusing a cached pass.
	if err := testenv.TrackInputs("config/crd/bases"); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "validation-"}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating a namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = k8sClient.Delete(context.Background(), ns)
	})
	return ns.Name
}
