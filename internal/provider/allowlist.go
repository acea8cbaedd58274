package provider

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultAllowedURLs are the providers' documented API hosts: the default
// of the manager's --allowed-provider-urls.
const DefaultAllowedURLs = "https://www.quantconnect.com,https://appharbor.com,https://webtranslateit.com"

// URLAllowList says which base URLs may receive credentials. Anyone who may
// create a ProviderConfig names its baseURL and a Secret of the namespace;
// without this list the operator would send that Secret's token to any
// server they point it at.
type URLAllowList struct {
	entries []*url.URL
}

// ParseURLAllowList parses a comma-separated list of absolute http or https
// URLs. An entry's port and path, when given, must also match; an entry
// without a port allows any port of its host.
func ParseURLAllowList(list string) (*URLAllowList, error) {
	a := &URLAllowList{}
	for raw := range strings.SplitSeq(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("allowed provider URL %q: %w", raw, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("allowed provider URL %q must be an absolute http or https URL without user, query or fragment", raw)
		}
		a.entries = append(a.entries, u)
	}
	if len(a.entries) == 0 {
		return nil, fmt.Errorf("the allowed provider URL list %q is empty", list)
	}
	return a, nil
}

// String lists the entries as given, for messages.
func (a *URLAllowList) String() string {
	s := make([]string, len(a.entries))
	for i, e := range a.entries {
		s[i] = e.String()
	}
	return strings.Join(s, ",")
}

// Allows reports whether base (a ProviderConfig's baseURL) matches an
// entry: same scheme and host (case-insensitive), the entry's port if it
// has one, and the entry's path as a whole-segment prefix if it has one.
func (a *URLAllowList) Allows(base string) bool {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || u.Host == "" {
		return false
	}
	for _, e := range a.entries {
		if matchURL(e, u) {
			return true
		}
	}
	return false
}

func matchURL(entry, u *url.URL) bool {
	if !strings.EqualFold(entry.Scheme, u.Scheme) || !strings.EqualFold(entry.Hostname(), u.Hostname()) {
		return false
	}
	if p := entry.Port(); p != "" && p != effectivePort(u) {
		return false
	}
	prefix := strings.TrimRight(entry.EscapedPath(), "/")
	if prefix == "" {
		return true
	}
	path := u.EscapedPath()
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// effectivePort is u's port, or its scheme's default, so that an entry
// https://host:443 matches https://host.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}
