package devstack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// SampleCredentials are the fake credentials config/samples' Secrets hold,
// which the simulators must accept for the samples to become Ready.
type SampleCredentials struct {
	// QuantConnectUserID is the Secret's userID: the API user's numeric uid.
	QuantConnectUserID string
	// QuantConnectAPIToken is the Secret's apiToken.
	QuantConnectAPIToken string
	// AppHarborAccessToken is the Secret's accessToken.
	AppHarborAccessToken string
	// WebTranslateItOrganizationToken is the Secret's organizationToken.
	WebTranslateItOrganizationToken string
}

// ReadSampleCredentials reads the Secrets in the YAML files of dir (the
// samples carry one Secret per provider), recognising each provider by
// its keys.
func ReadSampleCredentials(dir string) (SampleCredentials, error) {
	var creds SampleCredentials
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return creds, fmt.Errorf("listing %s: %w", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f) //nolint:gosec // G304: the samples directory is the caller's choice
		if err != nil {
			return creds, fmt.Errorf("reading sample %s: %w", f, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var doc struct {
				Kind       string            `json:"kind"`
				StringData map[string]string `json:"stringData"`
				Data       map[string][]byte `json:"data"`
			}
			if err := dec.Decode(&doc); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return creds, fmt.Errorf("parsing sample %s: %w", f, err)
			}
			if doc.Kind != "Secret" {
				continue
			}
			get := func(k string) string {
				if v, ok := doc.StringData[k]; ok {
					return v
				}
				return string(doc.Data[k])
			}
			switch {
			case get("apiToken") != "":
				creds.QuantConnectUserID, creds.QuantConnectAPIToken = get("userID"), get("apiToken")
			case get("accessToken") != "":
				creds.AppHarborAccessToken = get("accessToken")
			case get("organizationToken") != "":
				creds.WebTranslateItOrganizationToken = get("organizationToken")
			}
		}
	}
	if creds.QuantConnectAPIToken == "" || creds.AppHarborAccessToken == "" || creds.WebTranslateItOrganizationToken == "" {
		return creds, fmt.Errorf("the samples in %s lack a QuantConnect, AppHarbor or WebTranslateIt credentials Secret", dir)
	}
	return creds, nil
}

// SeedForSamples writes to out a copy of the simulators' seed file in
// which the samples' credentials are accepted: the QuantConnect user whose
// uid is the samples' userID gets the samples' apiToken, the samples'
// AppHarbor token may manage every seeded application, and the seed's one
// WebTranslateIt organization answers to the samples' token. The samples
// and the seed are kept by hand in different places; reconciling them here
// means `make demo` works whenever the two agree on users, projects and
// applications, and each adjustment is returned as a note so a drift is
// seen, not hidden.
func SeedForSamples(seedPath string, creds SampleCredentials, out string) ([]string, error) {
	raw, err := os.ReadFile(seedPath) //nolint:gosec // G304: the seed path is the caller's choice
	if err != nil {
		return nil, fmt.Errorf("reading the simulators' seed: %w", err)
	}
	var seed map[string]any
	if err := yaml.Unmarshal(raw, &seed); err != nil {
		return nil, fmt.Errorf("parsing the simulators' seed %s: %w", seedPath, err)
	}
	var notes []string

	qc, _ := seed["quantConnect"].(map[string]any)
	users, _ := qc["users"].([]any)
	found := false
	for _, u := range users {
		user, _ := u.(map[string]any)
		if fmt.Sprint(jsonNumber(user["uid"])) != creds.QuantConnectUserID {
			continue
		}
		found = true
		if user["apiToken"] != creds.QuantConnectAPIToken {
			user["apiToken"] = creds.QuantConnectAPIToken
			notes = append(notes, fmt.Sprintf("QuantConnect user %s: seeded the samples' apiToken instead of the seed file's", creds.QuantConnectUserID))
		}
	}
	if !found {
		return nil, fmt.Errorf("the simulators' seed %s has no QuantConnect user with uid %s, the samples' userID", seedPath, creds.QuantConnectUserID)
	}

	ah, _ := seed["appHarbor"].(map[string]any)
	if ah == nil {
		return nil, fmt.Errorf("the simulators' seed %s has no appHarbor block", seedPath)
	}
	var apps []any
	appList, _ := ah["applications"].([]any)
	for _, a := range appList {
		if app, ok := a.(map[string]any); ok {
			apps = append(apps, app["slug"])
		}
	}
	tokens, _ := ah["tokens"].([]any)
	hasToken := false
	for _, t := range tokens {
		if tok, ok := t.(map[string]any); ok && tok["token"] == creds.AppHarborAccessToken {
			hasToken = true
			tok["applications"] = apps
		}
	}
	if !hasToken {
		ah["tokens"] = append(tokens, map[string]any{"token": creds.AppHarborAccessToken, "applications": apps})
		notes = append(notes, "AppHarbor: added the samples' accessToken to the seed")
	}

	wti, _ := seed["webTranslateIt"].(map[string]any)
	orgs, _ := wti["organizations"].([]any)
	if len(orgs) != 1 {
		return nil, fmt.Errorf("the simulators' seed %s has %d WebTranslateIt organizations; the samples' one token needs exactly one", seedPath, len(orgs))
	}
	if org, ok := orgs[0].(map[string]any); ok && org["token"] != creds.WebTranslateItOrganizationToken {
		org["token"] = creds.WebTranslateItOrganizationToken
		notes = append(notes, "WebTranslateIt: seeded the samples' organizationToken instead of the seed file's")
	}

	data, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering the adjusted seed: %w", err)
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing the adjusted seed: %w", err)
	}
	sort.Strings(notes)
	return notes, nil
}

// jsonNumber renders a number decoded from JSON (float64) as an integer.
func jsonNumber(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}

// PointSamplesAt rewrites the samples' baseURLs (the fixed demo ports) to
// the simulators' actual URLs, so the end-to-end test can run on free
// ports beside a running demo or another test run.
func PointSamplesAt(manifests string, urls map[string]string) string {
	for name, fixed := range map[string]string{
		"quantconnect":   "http://127.0.0.1:18081/api/v2",
		"appharbor":      "http://127.0.0.1:18082",
		"webtranslateit": "http://127.0.0.1:18083",
	} {
		if u, ok := urls[name]; ok {
			manifests = strings.ReplaceAll(manifests, "baseURL: "+fixed+"\n", "baseURL: "+u+"\n")
		}
	}
	return manifests
}
