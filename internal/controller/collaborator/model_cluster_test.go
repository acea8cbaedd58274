package collaborator_test

import (
	"path"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"pgregory.net/rapid"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
	ct "github.com/collab-dev/collaborator-operator/internal/controller/controllertest"
)

// The ClusterProviderConfig part of the model (API.md, "ClusterProviderConfig"):
// one ClusterProviderConfig per provider in clusterProviders, its Secret in
// the cluster resource namespace, and Collaborators of its own people in
// two namespaces (ct.Namespace and otherNS) that reference it. Their
// person differs from every ProviderConfig slot's, so that the two
// credentials objects never declare one person on one target (which would
// be two grants, and no rule of API.md settles who wins then).
//
// Steps: the grants redrawn at random (editGrants: namespaces by name or by
// a label selector, targets, members and maxAccess, each matching or not,
// globs included), a namespace relabelled (relabel), and every step of the
// ProviderConfig slots (create, duplicate and rename from either
// namespace: the same person through the same ClusterProviderConfig from
// two namespaces is one grant), credentials broken and repaired
// included (model_world_test.go: while the ClusterProviderConfig is gone
// its grants deny nobody, as connector.Permit has it, and repair creates
// it again with the grants the model holds).
//
// The model's own permission oracle (permits, independent of
// internal/controller/permit) and the invariants (checkNotPermitted):
//
//	(n) A pass of an object that its ClusterProviderConfig's grants do not
//	    permit at that moment calls no provider at all (deletion and expiry
//	    included); after it the object is Ready=False, Stalled=True, reason
//	    NotPermitted, for its generation, unless it is paused (a pause sets
//	    only Synced, API.md "Pause") or was released; and a deleting one
//	    keeps its finalizer unless it is Orphan, or Observe, whose deletion
//	    "behaves as Orphan" (API.md, "Observe": it is released before any
//	    question of credentials, with no call).
//
// And in the grant oracle (model_grant_test.go), a NotPermitted
// declaration is never live: it neither owns its grant nor keeps the
// person when another declaration ends (internal/controller/collaborator,
// permit.go), so (h), (i), (j), (a′), (b′) and (d′) are over permitted
// declarations only. converge leaves the grants wide (every namespace,
// target, member and access), and (d) then wants everything settled.

const (
	// clusterNS is the cluster resource namespace, where the
	// ClusterProviderConfigs' Secrets live.
	clusterNS = "operator"
	// otherNS is the second namespace of the ClusterProviderConfig slots.
	otherNS = "trading"
	// grantedLabel is the namespace label the grants' selectors match
	// (value "yes").
	grantedLabel = "collab.dev/model-granted"
)

// clusterProviders are the providers that have a ClusterProviderConfig.
var clusterProviders = []string{qcName, ahName}

// clusterSlots are the Collaborator names that reference a
// ClusterProviderConfig: one person per provider, declared from either
// namespace.
var clusterSlots = []slot{
	{name: "cqc-lee", provider: qcName, person: "lee", ns: ct.Namespace, cluster: true},
	{name: "cqc-lee-trading", provider: qcName, person: "lee", ns: otherNS, cluster: true},
	{name: "cah-dana", provider: ahName, person: "dana@example.com", ns: ct.Namespace, cluster: true},
	{name: "cah-dana-trading", provider: ahName, person: "dana@example.com", ns: otherNS, cluster: true},
}

// cpcName is the name of a provider's ClusterProviderConfig.
func cpcName(p string) string { return "org-" + ct.ConfigName(p) }

// viaCluster makes c a Collaborator of slot s: in s's namespace, and
// through its provider's ClusterProviderConfig when s is a cluster slot.
func viaCluster(s slot, c *collabv1alpha1.Collaborator) *collabv1alpha1.Collaborator {
	c.Namespace = s.namespace()
	if s.cluster {
		c.Spec.ProviderConfigRef = collabv1alpha1.ProviderConfigReference{Kind: collabv1alpha1.KindClusterProviderConfig, Name: cpcName(s.provider)}
	}
	return c
}

// seedCluster creates the namespaces (labelled at random), the
// ClusterProviderConfigs with random grants, and their Secrets.
func (m *trustModel) seedCluster(t *rapid.T) {
	m.grants = map[string][]collabv1alpha1.ClusterGrant{}
	m.labelled = map[string]bool{}
	for _, name := range []string{ct.Namespace, otherNS} {
		ns := &corev1.Namespace{}
		ns.Name = name
		if rapid.Bool().Draw(t, "labelled "+name) {
			ns.Labels = map[string]string{grantedLabel: "yes"}
			m.labelled[name] = true
		}
		m.e.Create(ns)
	}
	for _, p := range clusterProviders {
		m.grants[p] = m.drawGrants(t, p)
		cpc := m.clusterConfig(p)
		m.e.Create(clusterSecret(p), cpc)
		m.cpcThere[p] = true
		m.t.Logf("ClusterProviderConfig %s grants %s; labelled namespaces %v", cpc.Name, grantsString(m.grants[p]), m.labelled)
	}
}

// clusterSecret is a provider's fixture Secret in the cluster resource
// namespace, as a ClusterProviderConfig names it.
func clusterSecret(p string) *corev1.Secret {
	sec := ct.Secret(p)
	sec.Namespace = clusterNS
	return sec
}

// clusterConfig is a provider's ClusterProviderConfig as a person applies
// it: the fixture ProviderConfig's provider settings and the grants the
// model holds now.
func (m *trustModel) clusterConfig(p string) *collabv1alpha1.ClusterProviderConfig {
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	cpc.Name = cpcName(p)
	cpc.Spec.ProviderConfigSpec = ct.ProviderConfig(p).Spec
	cpc.Spec.Grants = slices.Clone(m.grants[p])
	return cpc
}

// setClusterBaseURL sets the baseURL of a provider's ClusterProviderConfig
// (ct.SetBaseURL's equivalent); "" restores the documented one.
func (m *trustModel) setClusterBaseURL(p, url string) {
	if url == "" {
		ep, _ := ct.ProviderConfig(p).Spec.Endpoint()
		url = ep.BaseURL
	}
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	cpc.Name = cpcName(p)
	m.e.Edit(cpc, func() {
		switch {
		case cpc.Spec.QuantConnect != nil:
			cpc.Spec.QuantConnect.BaseURL = url
		case cpc.Spec.AppHarbor != nil:
			cpc.Spec.AppHarbor.BaseURL = url
		case cpc.Spec.WebTranslateIt != nil:
			cpc.Spec.WebTranslateIt.BaseURL = url
		}
	})
}

// refreshCluster notes whether a provider's ClusterProviderConfig is
// stored (terminating included), after a step that may have removed it.
func (m *trustModel) refreshCluster(p string) {
	m.cpcThere[p] = m.e.Get(&collabv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: cpcName(p)}})
}

// drawGrants draws one or two grants for a provider's
// ClusterProviderConfig, each dimension matching the model's people more
// often than not.
func (m *trustModel) drawGrants(t *rapid.T, p string) []collabv1alpha1.ClusterGrant {
	n := rapid.IntRange(1, 2).Draw(t, "grants")
	out := make([]collabv1alpha1.ClusterGrant, 0, n)
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{grantedLabel: "yes"}}
	target := modelTarget(p)
	person := clusterSlots[slices.IndexFunc(clusterSlots, func(s slot) bool { return s.provider == p })].person
	for range n {
		var g collabv1alpha1.ClusterGrant
		switch rapid.IntRange(0, 5).Draw(t, "namespaces") {
		case 0:
			g.Namespaces = []string{ct.Namespace}
		case 1:
			g.Namespaces = []string{otherNS}
		case 2, 3:
			g.Namespaces = []string{ct.Namespace, otherNS}
		case 4:
			g.NamespaceSelector = selector
		default:
			g.Namespaces, g.NamespaceSelector = []string{"elsewhere"}, selector
		}
		switch rapid.IntRange(0, 4).Draw(t, "targets") {
		case 2:
			g.Targets = []string{target}
		case 3:
			g.Targets = []string{target[:3] + "*"}
		case 4:
			g.Targets = []string{"other-" + target}
		}
		switch rapid.IntRange(0, 4).Draw(t, "members") {
		case 2:
			g.Members = []string{person}
		case 3:
			if p == qcName {
				g.Members = []string{person[:1] + "*"}
			} else {
				// Emails are compared case-insensitively.
				g.Members = []string{"*@Example.COM"}
			}
		case 4:
			g.Members = []string{"someone-else", "x*"}
		}
		g.MaxAccess = rapid.SampledFrom(append([]string{""}, accessLevels[p]...)).Draw(t, "maxAccess")
		out = append(out, g)
	}
	return out
}

// accessLevels are a provider's access levels, lowest first.
var accessLevels = map[string][]string{
	qcName: {collabv1alpha1.AccessRead, collabv1alpha1.AccessWrite, collabv1alpha1.AccessWriteLive},
	ahName: {collabv1alpha1.AccessCollaborator, collabv1alpha1.AccessAdministrator},
}

// modelTarget is the fixture target of a provider as grants name it.
func modelTarget(p string) string {
	if p == qcName {
		return strconv.FormatInt(ct.Project, 10)
	}
	return ct.Application
}

// permits is the model's permission oracle: whether c may use the
// credentials it references now (API.md: one grant matches its namespace,
// its target, its member, and allows at least the access it asks for).
func (m *trustModel) permits(c *collabv1alpha1.Collaborator) bool {
	if !c.Spec.ProviderConfigRef.IsCluster() {
		return true
	}
	p := c.Spec.ProviderName()
	if !m.cpcThere[p] {
		// No grants to deny it: whoever connects reports the
		// ClusterProviderConfig missing (connector.Permit), and the
		// object stays a candidate of its grant.
		return true
	}
	var member string
	asked := 0
	switch {
	case c.Spec.QuantConnect != nil:
		member = c.Spec.QuantConnect.UserID
		switch {
		case c.Spec.QuantConnect.LiveControl: // liveControl needs write+live
			asked = 2
		case c.Spec.QuantConnect.Write:
			asked = 1
		}
	case c.Spec.AppHarbor != nil:
		member = strings.ToLower(c.Spec.AppHarbor.Email)
		if c.Spec.AppHarbor.Role == collabv1alpha1.AppHarborRoleAdministrator {
			asked = 1
		}
	}
	glob := func(patterns []string, s string) bool {
		if len(patterns) == 0 {
			return true
		}
		for _, pat := range patterns {
			if p != qcName {
				pat = strings.ToLower(pat)
			}
			if ok, _ := path.Match(pat, s); ok {
				return true
			}
		}
		return false
	}
	for _, g := range m.grants[p] {
		inNS := slices.Contains(g.Namespaces, c.Namespace) || (g.NamespaceSelector != nil && m.labelled[c.Namespace])
		most := len(accessLevels[p]) - 1
		if g.MaxAccess != "" {
			most = slices.Index(accessLevels[p], g.MaxAccess)
		}
		if inNS && glob(g.Targets, modelTarget(p)) && glob(g.Members, member) && asked <= most {
			return true
		}
	}
	return false
}

// setGrants stores a provider's ClusterProviderConfig's grants; while it
// is gone (broken credentials) they are what repair creates it with.
func (m *trustModel) setGrants(p string, grants []collabv1alpha1.ClusterGrant) {
	m.grants[p] = grants
	if !m.cpcThere[p] {
		return
	}
	cpc := &collabv1alpha1.ClusterProviderConfig{}
	cpc.Name = cpcName(p)
	m.e.Edit(cpc, func() { cpc.Spec.Grants = slices.Clone(grants) })
}

// editGrants narrows or widens a ClusterProviderConfig's grants at random.
func (m *trustModel) editGrants(t *rapid.T) {
	p := rapid.SampledFrom(clusterProviders).Draw(t, "provider")
	m.setGrants(p, m.drawGrants(t, p))
	m.count("ClusterProviderConfig grants edited")
	m.logf("edit the grants of %s: %s; %s", cpcName(p), grantsString(m.grants[p]), m.permissions())
}

// relabel adds or removes the label the grants' selectors match on a
// namespace.
func (m *trustModel) relabel(t *rapid.T) {
	name := rapid.SampledFrom([]string{ct.Namespace, otherNS}).Draw(t, "namespace")
	ns := &corev1.Namespace{}
	ns.Name = name
	m.e.Edit(ns, func() {
		if m.labelled[name] {
			delete(ns.Labels, grantedLabel)
		} else {
			metav1.SetMetaDataLabel(&ns.ObjectMeta, grantedLabel, "yes")
		}
	})
	m.labelled[name] = !m.labelled[name]
	m.logf("relabel namespace %s (labelled: %t); %s", name, m.labelled[name], m.permissions())
}

// widen leaves every ClusterProviderConfig's grants wide: both namespaces,
// any target, member and access.
func (m *trustModel) widen() {
	for _, p := range clusterProviders {
		m.setGrants(p, []collabv1alpha1.ClusterGrant{{Namespaces: []string{ct.Namespace, otherNS}}})
	}
}

// permissions renders which stored cluster objects are permitted, for the
// logs.
func (m *trustModel) permissions() string {
	var b strings.Builder
	b.WriteString("permitted now:")
	for _, s := range clusterSlots {
		if c := m.prev[s.name]; c != nil {
			b.WriteString(" " + s.name + "=" + strconv.FormatBool(m.permits(c)))
		}
	}
	return b.String()
}

func grantsString(grants []collabv1alpha1.ClusterGrant) string {
	parts := make([]string, 0, len(grants))
	for _, g := range grants {
		sel := ""
		if g.NamespaceSelector != nil {
			sel = " selector"
		}
		parts = append(parts, "{ns "+strings.Join(g.Namespaces, ",")+sel+"; targets "+strings.Join(g.Targets, ",")+
			"; members "+strings.Join(g.Members, ",")+"; max "+g.MaxAccess+"}")
	}
	return strings.Join(parts, " ")
}

// checkNotPermitted is (n) for a pass of s's object, which its
// ClusterProviderConfig's grants did not permit before the pass (nor
// after: the pass changes neither grants nor labels nor spec).
func (m *trustModel) checkNotPermitted(s slot, before, after *collabv1alpha1.Collaborator, calls int) {
	t := m.t
	m.count("(n) passes of a NotPermitted object")
	if calls > 0 {
		t.Fatalf("(n) %s is NotPermitted by %s (%s), yet its pass called the provider", s.name, cpcName(s.provider), grantsString(m.grants[s.provider]))
	}
	if isDeleting(before) {
		m.count("(n) passes of a NotPermitted deletion")
	}
	if isExpired(before) {
		m.count("(n) passes of a NotPermitted expired object")
	}
	switch {
	case after == nil && (isOrphan(before) || isObserve(before)):
		// Orphan releases it without a call; Observe's deletion behaves
		// as Orphan (API.md, "Observe").
		m.count("(n) NotPermitted deletions released under Orphan or Observe")
		return
	case after == nil:
		t.Fatalf("(n) the deletion of %s (deletionPolicy Delete, managementPolicy Full) completed while %s does not permit it: "+
			"it stays until permitted again or set to Orphan", s.name, cpcName(s.provider))
	case isDeleting(after) && !controllerutil.ContainsFinalizer(after, collabv1alpha1.Finalizer) && !isOrphan(after) && !isObserve(after):
		t.Fatalf("(n) %s is being deleted and NotPermitted, yet its pass removed its finalizer", s.name)
	case isPaused(after):
		// A pause sets only Synced=False Paused (API.md, "Pause").
		return
	}
	ready := ct.Condition(after.Status.Conditions, collabv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != collabv1alpha1.ReasonNotPermitted ||
		ready.ObservedGeneration != after.Generation || !condTrue(after, collabv1alpha1.ConditionStalled, collabv1alpha1.ReasonNotPermitted) {
		t.Fatalf("(n) %s is NotPermitted by %s: want Ready=False Stalled=True NotPermitted after its pass: %v",
			s.name, cpcName(s.provider), ct.ConditionsOf(after))
	}
	m.count("(n) NotPermitted objects reported Stalled NotPermitted")
}
