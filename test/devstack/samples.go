package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// SampleCredentials are the fake credentials config/demo's Secrets hold,
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
	if creds.QuantConnectAPIToken == "" || creds.AppHarborAccessToken == "" ||
		creds.WebTranslateItOrganizationToken == "" {
		return creds, fmt.Errorf("the samples in %s lack a QuantConnect, AppHarbor or WebTranslateIt credentials Secret", dir)
	}
	return creds, nil
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
