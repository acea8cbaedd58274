package controller

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/collab-dev/collaborator-operator/internal/cachetuning"
	"github.com/collab-dev/collaborator-operator/internal/events"
	"github.com/collab-dev/collaborator-operator/internal/provider"
	"github.com/collab-dev/collaborator-operator/test/testenv"
)

var (
	// loopbackOnly lets the test simulators, on http://127.0.0.1, receive
	// credentials, as --allowed-provider-urls=http://127.0.0.1 does.
	loopbackOnly = mustAllowList("http://127.0.0.1")
	testCfg      *rest.Config
	testScheme   = testenv.Scheme()
	// k8s reads and writes straight to the API server, never through a
	// manager's cache, so assertions see what users see.
	k8s client.Client
	// logs holds every log line the managers wrote, for the credential scan.
	logs = &testenv.Buffer{}
	// trackInputs makes the go command's test cache notice CRD changes,
	// which this package uses without importing.
	trackInputs sync.Once
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	logf.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(true), zap.Level(zapcore.Level(-1))))
	env, cfg, err := testenv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the test API server failed: %v\n", err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	testCfg = cfg
	if k8s, err = client.New(testCfg, client.Options{Scheme: testScheme}); err != nil {
		fmt.Fprintf(os.Stderr, "building a client failed: %v\n", err)
		return 1
	}
	return m.Run()
}

// managerOptions tune a test manager: faster retries than production so
// that failure paths resolve in seconds.
type managerOptions struct {
	slowRetry time.Duration
	// alsoWatch are namespaces the manager sees besides the test's own,
	// for tests of two tenants on one manager.
	alsoWatch []string
	// secretGets, when set, counts the reconcilers' reads of Secret data.
	secretGets *atomic.Int64
	// clusterNS, when set, serves ClusterProviderConfigs with their
	// Secrets in this namespace (which the manager then sees too).
	clusterNS string
}

// countingReader counts the Secrets read through it.
type countingReader struct {
	client.Reader
	gets *atomic.Int64
}

func (r countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*corev1.Secret); ok {
		r.gets.Add(1)
	}
	return r.Reader.Get(ctx, key, obj, opts...)
}

// startManager runs the reconcilers in a manager that sees only ns, so
// tests are isolated from each other and a test may stop and replace its
// manager. The returned function stops it and waits until it has.
func startManager(t *testing.T, ns string, reg *provider.Registry, o managerOptions) (stop func()) {
	t.Helper()
	watched := map[string]cache.Config{ns: {}}
	for _, other := range append(o.alsoWatch, o.clusterNS) {
		if other != "" {
			watched[other] = cache.Config{}
		}
	}
	mgr, err := ctrl.NewManager(testCfg, ctrl.Options{
		Scheme:                 testScheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache: cache.Options{
			DefaultNamespaces: watched,
			DefaultTransform:  cachetuning.Transform(),
		},
		Client:     client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatalf("creating manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	slow := o.slowRetry
	if slow == 0 {
		slow = time.Minute
	}
	secrets := mgr.GetAPIReader()
	if o.secretGets != nil {
		secrets = countingReader{Reader: secrets, gets: o.secretGets}
	}
	rec := events.NewRecorder(mgr.GetClient(), mgr.GetScheme(), "collaborator-operator")
	if err := mgr.Add(rec); err != nil {
		t.Fatal(err)
	}
	err = Setup(ctx, mgr, Config{
		Providers: reg, AllowedURLs: loopbackOnly, Recorder: rec, MaxConcurrentReconciles: 4, SecretReader: secrets,
		SlowRetry: slow, RetryBase: 50 * time.Millisecond, RetryMax: time.Second, ClusterResourceNamespace: o.clusterNS,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager stopped with error: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newNamespace creates a namespace for one test, removed at its end.
func newNamespace(t *testing.T) string {
	t.Helper()
	trackInputs.Do(func() { must(t, testenv.TrackInputs("config/crd/bases", "config/admission")) })
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ns) })
	return ns.Name
}

// eventually polls cond until it returns nil or the timeout passes, then
// fails with cond's last error. It is how tests wait for the controller:
// on an observable condition, never on a sleep.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consistently polls cond for the whole duration and fails at its first
// error: for asserting that something does not happen (a hot loop).
func consistently(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if err := cond(); err != nil {
			t.Fatalf("condition broken: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mustAllowList(list string) *provider.URLAllowList {
	a, err := provider.ParseURLAllowList(list)
	if err != nil {
		panic(err)
	}
	return a
}
