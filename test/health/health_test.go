// Package health proves the Argo CD health check in config/argocd/health.lua
// and kstatus (what Flux reads) agree with the operator's status contract.
// It runs the Lua with gopher-lua, the interpreter Argo CD embeds, the way
// Argo CD does (same libraries, same object-to-table conversion), on status
// objects written to and read back from a real API server: a status the
// CRD schema would refuse, or a field the API server would prune, cannot
// pass here by accident.
package health

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cv1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/test/devstack"
)

var (
	stack *devstack.Stack
	cl    client.Client
	root  string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	root, err = devstack.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/health:", err)
		return 1
	}
	ctx := context.Background()
	assets, err := devstack.AssetsDir(ctx, root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/health: cannot find kube-apiserver and etcd:", err)
		return 1
	}
	stack, err = devstack.New(root, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/health:", err)
		return 1
	}
	defer func() {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "test/health: stopping the API server:", err)
		}
	}()
	if err := stack.StartControlPlane(devstack.ControlPlaneOptions{
		AssetsDir: assets, CRDs: true, AdmissionPolicy: true,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "test/health:", err)
		return 1
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, "test/health:", err)
		return 1
	}
	if err := cv1.AddToScheme(scheme); err != nil {
		fmt.Fprintln(os.Stderr, "test/health:", err)
		return 1
	}
	cl, err = client.New(stack.Config, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/health: building a client:", err)
		return 1
	}
	return m.Run()
}

// readScript returns health.lua.
func readScript(t *testing.T) string {
	t.Helper()
	path := filepath.Join(root, "config", "argocd", "health.lua")
	data, err := os.ReadFile(path) //nolint:gosec // G304: a file of this repository
	if err != nil {
		t.Fatalf("reading the health check: %v", err)
	}
	return string(data)
}

// healthStatus is Argo CD's health.HealthStatus as a script returns it.
type healthStatus struct {
	Status  string
	Message string
}

// runHealth runs a health script the way Argo CD's util/lua does: a fresh
// state with only the package, base and table libraries (Argo adds a
// cut-down os, which our script does not use; notably no string library),
// the object converted from its unstructured form into nested tables
// (maps keyed by string, lists 1-based, JSON numbers as Lua numbers) as the
// global obj, a one-second time limit, and the result read from the table
// the script returns.
func runHealth(t *testing.T, script string, u *unstructured.Unstructured) healthStatus {
	t.Helper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		l.Push(l.NewFunction(lib.open))
		l.Push(lua.LString(lib.name))
		l.Call(1, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, u.Object))
	if err := l.DoString(script); err != nil {
		t.Fatalf("health.lua failed on %s: %v", u.GetName(), err)
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %s, want a table", l.Get(-1).Type())
	}
	hs := healthStatus{
		Status:  lua.LVAsString(ret.RawGetString("status")),
		Message: lua.LVAsString(ret.RawGetString("message")),
	}
	switch hs.Status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
	default:
		t.Fatalf("health.lua returned status %q, which Argo CD rejects", hs.Status)
	}
	return hs
}

// toLua mirrors Argo CD's decodeValue.
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, item := range v {
			t.RawSetH(lua.LString(k), toLua(l, item))
		}
		return t
	default:
		return lua.LNil
	}
}

// cond is a condition of generation 1, the generation of every object here
// when its status is written.
func cond(typ string, st metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: st, ObservedGeneration: 1, Reason: reason, Message: msg,
		LastTransitionTime: metav1.Now()}
}

// state is one status the operator writes, with what each reader must make
// of it.
type state struct {
	name string
	// setStatus fills the status before it is written; nil writes none.
	setStatus func(c *cv1.Collaborator)
	// bumpSpec changes the spec after the status is written, so that the
	// status describes an older generation.
	bumpSpec bool
	// annotations are set on the object when it is created.
	annotations map[string]string
	wantArgo    string
	wantMessage string
	wantKStatus status.Status
}

func TestCollaboratorHealth(t *testing.T) {
	script := readScript(t)
	ctx := context.Background()
	ns := mustCreateNamespace(t, "health-collab")

	for _, tc := range []state{
		{
			name:        "no-status",
			wantArgo:    "Progressing",
			wantMessage: "Waiting for the operator to observe generation 1",
			// kstatus calls an object without status Current, but the
			// API server gives every Collaborator status.observedGeneration
			// 0 (the CRD's default), so Flux too waits for the operator.
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "reconciling",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonProviderUnavailable,
						"AppHarbor is unreachable"),
					cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonProviderUnavailable,
						"AppHarbor answered HTTP 503; retrying with backoff"),
				}
			},
			wantArgo:    "Progressing",
			wantMessage: "ProviderUnavailable: AppHarbor answered HTTP 503; retrying with backoff",
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "stalled",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonCredentialsInvalid,
						"AppHarbor refused the credentials"),
					cond(cv1.ConditionSynced, metav1.ConditionFalse, cv1.ReasonCredentialsInvalid,
						"AppHarbor answered HTTP 401"),
					cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonCredentialsInvalid,
						"AppHarbor answered HTTP 401; fix the accessToken in Secret appharbor-credentials"),
				}
			},
			wantArgo:    "Degraded",
			wantMessage: "CredentialsInvalid: AppHarbor answered HTTP 401; fix the accessToken in Secret appharbor-credentials",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "ready",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
						"AppHarbor holds the collaborator as specified"),
					cond(cv1.ConditionSynced, metav1.ConditionTrue, cv1.ReasonReconcileSuccess, "Read from AppHarbor"),
				}
			},
			wantArgo:    "Healthy",
			wantMessage: "Available: AppHarbor holds the collaborator as specified",
			wantKStatus: status.CurrentStatus,
		},
		{
			// A failed periodic re-read keeps Ready as last observed: still
			// healthy, with Synced saying the provider did not answer.
			name: "ready-sync-failed",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
						"AppHarbor holds the collaborator as specified"),
					cond(cv1.ConditionSynced, metav1.ConditionFalse, cv1.ReasonProviderUnavailable,
						"AppHarbor answered HTTP 503"),
				}
			},
			wantArgo:    "Healthy",
			wantMessage: "Available: AppHarbor holds the collaborator as specified",
			wantKStatus: status.CurrentStatus,
		},
		{
			name: "new-generation-not-observed",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
						"AppHarbor holds the collaborator as specified"),
				}
			},
			bumpSpec:    true,
			wantArgo:    "Progressing",
			wantMessage: "Waiting for the operator to observe generation 2",
			wantKStatus: status.InProgressStatus,
		},
		{
			// Access ended as spec.expiresAt said: the healthy outcome.
			name: "expired",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonExpired,
						"Access expired at 2026-12-31T00:00:00Z: removed expired@example.com from my-app at AppHarbor"),
					cond(cv1.ConditionSynced, metav1.ConditionTrue, cv1.ReasonReconcileSuccess, "AppHarbor answered"),
				}
			},
			wantArgo:    "Healthy",
			wantMessage: "Expired: Access expired at 2026-12-31T00:00:00Z: removed expired@example.com from my-app at AppHarbor",
			wantKStatus: status.CurrentStatus,
		},
		{
			// Paused: Argo CD's Suspended. kstatus has no paused state; it
			// reads Ready as last observed.
			name:        "paused",
			annotations: map[string]string{"collab.dev/paused": "true"},
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
						"AppHarbor holds the collaborator as specified"),
					cond(cv1.ConditionSynced, metav1.ConditionFalse, cv1.ReasonPaused,
						`collab.dev/paused is "true": the operator makes no provider call for this object`),
				}
			},
			wantArgo:    "Suspended",
			wantMessage: "Paused (collab.dev/paused): the operator makes no provider call for this object",
			wantKStatus: status.CurrentStatus,
		},
		{
			// A ClusterProviderConfig's grants do not cover it: only a
			// change of the grants or of this spec can help.
			name: "not-permitted",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonNotPermitted,
						"ClusterProviderConfig appharbor-org grants namespace health-collab nothing on my-app"),
					cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonNotPermitted,
						"ClusterProviderConfig appharbor-org grants namespace health-collab nothing on my-app"),
				}
			},
			wantArgo:    "Degraded",
			wantMessage: "NotPermitted: ClusterProviderConfig appharbor-org grants namespace health-collab nothing on my-app",
			wantKStatus: status.FailedStatus,
		},
		{
			name: "drifted",
			setStatus: func(c *cv1.Collaborator) {
				c.Status.Conditions = []metav1.Condition{
					cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonDrifted,
						"drifted@example.com on my-app at AppHarbor differs: role is administrator, the spec wants collaborator"),
					cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonDrifted,
						"drifted@example.com on my-app at AppHarbor differs: role is administrator, the spec wants collaborator"),
				}
			},
			wantArgo: "Degraded",
			wantMessage: "Drifted: drifted@example.com on my-app at AppHarbor differs: " +
				"role is administrator, the spec wants collaborator",
			wantKStatus: status.FailedStatus,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cv1.Collaborator{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns, Annotations: tc.annotations},
				Spec: cv1.CollaboratorSpec{
					ProviderConfigRef: cv1.ProviderConfigReference{Name: "appharbor"},
					AppHarbor: &cv1.AppHarborCollaborator{
						Application: "my-app", Email: tc.name + "@example.com", Role: cv1.AppHarborRoleCollaborator,
					},
				},
			}
			if err := cl.Create(ctx, c); err != nil {
				t.Fatalf("creating Collaborator %s: %v", tc.name, err)
			}
			if tc.setStatus != nil {
				tc.setStatus(c)
				c.Status.ObservedGeneration = c.Generation
				if err := cl.Status().Update(ctx, c); err != nil {
					t.Fatalf("writing the status through the status subresource: %v", err)
				}
			}
			if tc.bumpSpec {
				c.Spec.AppHarbor.Role = cv1.AppHarborRoleAdministrator
				if err := cl.Update(ctx, c); err != nil {
					t.Fatalf("changing the spec: %v", err)
				}
			}
			u := readBack(t, "Collaborator", ns, tc.name)
			if tc.bumpSpec && u.GetGeneration() != 2 {
				t.Fatalf("generation is %d after a spec change, want 2", u.GetGeneration())
			}
			assertHealth(t, script, u, tc.wantArgo, tc.wantMessage, tc.wantKStatus)
		})
	}
}

// credentialsCase is a credentials object's conditions and what Argo CD
// and kstatus must make of them.
type credentialsCase struct {
	name        string
	conditions  []metav1.Condition
	wantArgo    string
	wantMessage string
	wantKStatus status.Status
}

// credentialsCases are the states a ProviderConfig or ClusterProviderConfig
// (kind) can be in: their conditions mean the same for both.
func credentialsCases(kind string) []credentialsCase {
	return []credentialsCase{
		{
			name: "ready",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
					"QuantConnect accepted the credentials"),
			},
			wantArgo:    "Healthy",
			wantMessage: "Available: QuantConnect accepted the credentials",
			wantKStatus: status.CurrentStatus,
		},
		{
			name: "secret-missing",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonSecretNotFound,
					"Secret qc-credentials not found"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonSecretNotFound,
					"Secret qc-credentials not found; create it, the operator retries"),
			},
			wantArgo:    "Progressing",
			wantMessage: "SecretNotFound: Secret qc-credentials not found; create it, the operator retries",
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "credentials-refused",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonCredentialsInvalid,
					"QuantConnect refused the credentials"),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonCredentialsInvalid,
					"QuantConnect refused the credentials"),
			},
			wantArgo:    "Degraded",
			wantMessage: "CredentialsInvalid: QuantConnect refused the credentials",
			wantKStatus: status.FailedStatus,
		},
		{
			// Being deleted while Collaborators still use it: Ready stays
			// True, but the deletion is work under way for both tools.
			name: "deleting-in-use",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionTrue, cv1.ReasonAvailable,
					"QuantConnect accepted the credentials"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonInUse,
					"Deletion waits until no Collaborator uses this "+kind+"; still used by mia"),
			},
			wantArgo:    "Progressing",
			wantMessage: "InUse: Deletion waits until no Collaborator uses this " + kind + "; still used by mia",
			wantKStatus: status.InProgressStatus,
		},
		{
			// The first write of a new object, before its check.
			name: "first-check",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionUnknown, cv1.ReasonCreating, "Checking the credentials"),
				cond(cv1.ConditionReconciling, metav1.ConditionTrue, cv1.ReasonCreating, "Checking the credentials"),
			},
			wantArgo:    "Progressing",
			wantMessage: "Creating: Checking the credentials",
			wantKStatus: status.InProgressStatus,
		},
		{
			name: "base-url-not-allowed",
			conditions: []metav1.Condition{
				cond(cv1.ConditionReady, metav1.ConditionFalse, cv1.ReasonBaseURLNotAllowed, "baseURL is not allowed"),
				cond(cv1.ConditionStalled, metav1.ConditionTrue, cv1.ReasonBaseURLNotAllowed, "baseURL is not allowed"),
			},
			wantArgo:    "Degraded",
			wantMessage: "BaseURLNotAllowed: baseURL is not allowed",
			wantKStatus: status.FailedStatus,
		},
	}
}

func TestProviderConfigHealth(t *testing.T) {
	script := readScript(t)
	ctx := context.Background()
	ns := mustCreateNamespace(t, "health-pc")

	for _, tc := range credentialsCases("ProviderConfig") {
		t.Run(tc.name, func(t *testing.T) {
			pc := &cv1.ProviderConfig{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name, Namespace: ns},
				Spec: cv1.ProviderConfigSpec{QuantConnect: &cv1.QuantConnectConfig{
					CredentialsSecretRef: cv1.SecretReference{Name: "qc-credentials"},
				}},
			}
			if err := cl.Create(ctx, pc); err != nil {
				t.Fatalf("creating ProviderConfig %s: %v", tc.name, err)
			}
			pc.Status.ObservedGeneration = pc.Generation
			pc.Status.Conditions = tc.conditions
			if err := cl.Status().Update(ctx, pc); err != nil {
				t.Fatalf("writing the status through the status subresource: %v", err)
			}
			assertHealth(t, script, readBack(t, "ProviderConfig", ns, tc.name), tc.wantArgo, tc.wantMessage, tc.wantKStatus)
		})
	}
}

// TestArgoCDPatchMatchesScript keeps the ready-to-apply argocd-cm patch in
// step with health.lua, which is the copy the other tests run.
func TestArgoCDPatchMatchesScript(t *testing.T) {
	script := readScript(t)
	path := filepath.Join(root, "config", "argocd", "argocd-cm-patch.yaml")
	data, err := os.ReadFile(path) //nolint:gosec // G304: a file of this repository
	if err != nil {
		t.Fatalf("reading the argocd-cm patch: %v", err)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		t.Fatalf("parsing the argocd-cm patch: %v", err)
	}
	for _, kind := range []string{"Collaborator", "ProviderConfig", "ClusterProviderConfig", "AccessPolicy"} {
		key := "resource.customizations.health.collab.dev_" + kind
		got, ok := cm.Data[key]
		if !ok {
			t.Errorf("argocd-cm patch lacks %s", key)
			continue
		}
		if strings.TrimSpace(got) != strings.TrimSpace(script) {
			t.Errorf("argocd-cm patch's %s differs from config/argocd/health.lua; copy the script into it again", key)
		}
	}
}

// mustCreateNamespace creates a namespace named prefix plus a random
// suffix, so that repeated runs (go test -count) do not collide, and
// returns its name.
func mustCreateNamespace(t *testing.T, prefix string) string {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetGenerateName(prefix + "-")
	if err := cl.Create(context.Background(), u); err != nil {
		t.Fatalf("creating namespace %s-*: %v", prefix, err)
	}
	return u.GetName()
}

// readBack reads the object from the API server in the unstructured form
// Argo CD and Flux both see.
func readBack(t *testing.T, kind, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(cv1.GroupVersion.WithKind(kind))
	if err := cl.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatalf("reading %s %s/%s back: %v", kind, ns, name, err)
	}
	return u
}

func assertHealth(t *testing.T, script string, u *unstructured.Unstructured,
	wantArgo, wantMessage string, wantKStatus status.Status) {
	t.Helper()
	hs := runHealth(t, script, u)
	if hs.Status != wantArgo || hs.Message != wantMessage {
		t.Errorf("Argo CD health = %s %q, want %s %q", hs.Status, hs.Message, wantArgo, wantMessage)
	}
	res, err := status.Compute(u)
	if err != nil {
		t.Fatalf("kstatus failed: %v", err)
	}
	if res.Status != wantKStatus {
		t.Errorf("kstatus = %s (%s), want %s", res.Status, res.Message, wantKStatus)
	}
}
