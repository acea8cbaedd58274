// Package adopt writes Collaborator manifests for the members a provider
// lists that no Collaborator declares, each carrying the provider's id in
// collab.dev/external-id so that applying them adopts the existing access
// and never creates it again. It is the logic of `kubectl collab import`,
// kept apart from the command line so that it is tested against a real API
// server.
package adopt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	"github.com/collab-dev/collaborator-operator/internal/provider"
)

// Request says what to import.
type Request struct {
	// Namespace holds the ProviderConfig and the Collaborators.
	Namespace string
	// ProviderConfig names the ProviderConfig whose credentials read the list.
	ProviderConfig string
	// ProjectID is the QuantConnect project, or zero.
	ProjectID int64
	// Application is the AppHarbor application slug, or "".
	Application string
	// AllowedURLs are the base URLs the credentials may be sent to, as
	// the manager's --allowed-provider-urls: a ProviderConfig written by
	// someone else must not make the person running the import send the
	// Secret elsewhere. Nil allows none.
	AllowedURLs *provider.URLAllowList
}

// Import reads the member list with the ProviderConfig's credentials, read
// through cl (the caller's own kubeconfig and RBAC), and writes one
// Collaborator manifest per member no Collaborator in the namespace
// declares, the owner and the credentials' own account excluded. It
// returns how many manifests it wrote.
func Import(ctx context.Context, cl client.Reader, reg *provider.Registry, req Request, out io.Writer) (int, error) {
	if (req.ProjectID == 0) == (req.Application == "") {
		return 0, fmt.Errorf("name exactly one of --project and --application")
	}
	lister, pc, err := connect(ctx, cl, reg, req)
	if err != nil {
		return 0, err
	}
	members, _, err := lister.ListMembers(provider.WithFreshRead(ctx), provider.Target{ProjectID: req.ProjectID, Application: req.Application})
	if err != nil {
		return 0, fmt.Errorf("reading the member list: %w", err)
	}
	existing := &collabv1alpha1.CollaboratorList{}
	if err := cl.List(ctx, existing, client.InNamespace(req.Namespace)); err != nil {
		return 0, refused(err, "list", "collaborators.collab.dev", req.Namespace)
	}
	declared, names := map[string]bool{}, map[string]bool{}
	for i := range existing.Items {
		c := &existing.Items[i]
		names[c.Name] = true
		if c.Spec.ProviderConfigRef.Name != pc.Name || !c.DeletionTimestamp.IsZero() {
			continue
		}
		switch {
		case req.ProjectID != 0 && c.Spec.QuantConnect != nil && c.Spec.QuantConnect.ProjectID == req.ProjectID:
			declared[strings.ToLower(c.Spec.QuantConnect.UserID)] = true
		case req.Application != "" && c.Spec.AppHarbor != nil && c.Spec.AppHarbor.Application == req.Application:
			if id := c.Annotations[collabv1alpha1.ExternalIDAnnotation]; id != "" {
				declared[id] = true
			}
		}
	}
	n := 0
	for _, m := range members {
		key := m.ID
		if req.ProjectID != 0 {
			key = strings.ToLower(m.ID)
		}
		if m.Owner || m.Self || declared[key] {
			continue
		}
		name := uniqueName(m, names)
		if n > 0 {
			if _, err := io.WriteString(out, "---\n"); err != nil {
				return n, fmt.Errorf("writing manifests: %w", err)
			}
		}
		if err := writeManifest(out, req, pc.Name, name, m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// connect reads the ProviderConfig and its Secret with the caller's RBAC
// and builds the provider's client.
func connect(ctx context.Context, cl client.Reader, reg *provider.Registry, req Request) (provider.Lister, *collabv1alpha1.ProviderConfig, error) {
	pc := &collabv1alpha1.ProviderConfig{}
	if err := cl.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: req.ProviderConfig}, pc); err != nil {
		return nil, nil, refused(err, "get", "providerconfigs.collab.dev "+req.ProviderConfig, req.Namespace)
	}
	ep, ok := pc.Spec.Endpoint()
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("ProviderConfig %s/%s configures no provider", req.Namespace, req.ProviderConfig)
	case req.ProjectID != 0 && ep.Provider != collabv1alpha1.ProviderQuantConnect,
		req.Application != "" && ep.Provider != collabv1alpha1.ProviderAppHarbor:
		return nil, nil, fmt.Errorf("ProviderConfig %s/%s is for %s: --project needs a QuantConnect one, --application an AppHarbor one",
			req.Namespace, req.ProviderConfig, ep.Provider)
	}
	if ep.BaseURL != "" && (req.AllowedURLs == nil || !req.AllowedURLs.Allows(ep.BaseURL)) {
		return nil, nil, fmt.Errorf("ProviderConfig %s/%s: baseURL %q is not in --allowed-provider-urls, so its credentials are not sent there",
			req.Namespace, req.ProviderConfig, ep.BaseURL)
	}
	secret := &corev1.Secret{}
	if err := cl.Get(ctx, types.NamespacedName{Namespace: req.Namespace, Name: ep.SecretName}, secret); err != nil {
		return nil, nil, refused(err, "get", "secrets "+ep.SecretName, req.Namespace)
	}
	rps, burst := pc.Spec.Budget()
	pcl, err := reg.New(ep.Provider, provider.Config{BaseURL: ep.BaseURL, Credentials: provider.Credentials(secret.Data),
		SyncInterval: time.Minute, RequestsPerSecond: rps, Burst: burst})
	if err != nil {
		return nil, nil, fmt.Errorf("the Secret %s/%s of ProviderConfig %s is unusable: %w", req.Namespace, ep.SecretName, pc.Name, err)
	}
	lister, ok := pcl.(provider.Lister)
	if !ok {
		return nil, nil, fmt.Errorf("%s offers no member list", ep.Provider)
	}
	return lister, pc, nil
}

// refused explains a failed read, and what RBAC the import needs when the
// API server refused it.
func refused(err error, verb, what, namespace string) error {
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return fmt.Errorf("your kubeconfig's user may not %s %s in namespace %s: import needs get on the ProviderConfig "+
			"and its Secret, and list on collaborators.collab.dev, in that namespace: %w", verb, what, namespace, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s not found in namespace %s: %w", what, namespace, err)
	}
	return fmt.Errorf("reading %s in namespace %s: %w", what, namespace, err)
}

var notDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// uniqueName derives an object name from the member's name, never one a
// Collaborator in the namespace already has: applying must never change
// an existing object.
func uniqueName(m provider.Member, taken map[string]bool) string {
	base := strings.Trim(notDNS.ReplaceAllString(strings.ToLower(m.Label), "-"), "-")
	if len(base) > 50 {
		base = strings.Trim(base[:50], "-")
	}
	if base == "" {
		base = "member"
	}
	name := base
	for i := 2; taken[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	taken[name] = true
	return name
}

// flat makes provider text safe inside a YAML comment line: a user name
// holding a newline must not be able to add fields to the manifest.
func flat(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 || r == 0x85 {
			return ' '
		}
		return r
	}, s)
}

// q quotes a string for YAML: a JSON string is a YAML string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeManifest(out io.Writer, req Request, pc, name string, m provider.Member) error {
	var b strings.Builder
	if req.ProjectID != 0 {
		fmt.Fprintf(&b, "# %s (%s) on QuantConnect project %d, declared by no Collaborator.\n", flat(m.Label), flat(m.Access), req.ProjectID)
	} else {
		fmt.Fprintf(&b, "# %s (%s) on AppHarbor application %s, declared by no Collaborator.\n", flat(m.Label), flat(m.Access), flat(req.Application))
		b.WriteString("# AppHarbor's list has no email: fill in spec.appHarbor.email before applying (the API server\n" +
			"# refuses it empty). The email is immutable, so use the person's real one; the collab.dev/external-id\n" +
			"# annotation makes the operator adopt this collaborator, never invite them again.\n")
	}
	fmt.Fprintf(&b, "apiVersion: collab.dev/v1alpha1\nkind: Collaborator\nmetadata:\n  name: %s\n  namespace: %s\n", q(name), q(req.Namespace))
	fmt.Fprintf(&b, "  annotations:\n    %s: %s\n", collabv1alpha1.ExternalIDAnnotation, q(externalID(req, m)))
	fmt.Fprintf(&b, "spec:\n  providerConfigRef:\n    name: %s\n", q(pc))
	if req.ProjectID != 0 {
		fmt.Fprintf(&b, "  quantConnect:\n    projectID: %d\n    userID: %s\n    write: %t\n    liveControl: %t\n",
			req.ProjectID, q(m.ID), m.Write, m.LiveControl)
	} else {
		fmt.Fprintf(&b, "  appHarbor:\n    application: %s\n    email: \"\"  # FILL IN: %s's email\n    role: %s\n",
			q(req.Application), flat(m.Label), q(m.Access))
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return fmt.Errorf("writing manifests: %w", err)
	}
	return nil
}

// externalID is the provider's id of the collaborator: QuantConnect's
// numeric uid, AppHarbor's collaborator id.
func externalID(req Request, m provider.Member) string {
	if req.ProjectID != 0 {
		return m.UserID
	}
	return m.ID
}
