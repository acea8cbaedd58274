package manager

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
)

// writeCert writes a self-signed certificate and its key to dir as
// tls.crt and tls.key.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "metrics"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"tls.crt": {Type: "CERTIFICATE", Bytes: der},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// metricsWiring is what a test can observe of the metrics server options.
type metricsWiring struct {
	BindAddress   string
	SecureServing bool
	// AuthFilter: only callers the API server authorizes are served.
	AuthFilter bool
	// NextProtos are the TLS options' protocols: http/1.1 only when HTTP/2
	// is off.
	NextProtos []string
	// ReloadsCert: the certificate is served from the returned watcher.
	ReloadsCert bool
}

func TestMetricsServerOptions(t *testing.T) {
	certDir := t.TempDir()
	writeCert(t, certDir)
	base := Options{MetricsAddr: ":8443", SecureMetrics: true, MetricsCertName: "tls.crt", MetricsCertKey: "tls.key"}
	with := func(change func(*Options)) Options {
		o := base
		change(&o)
		return o
	}
	tests := map[string]struct {
		opts    Options
		want    metricsWiring
		wantErr string
	}{
		"defaults: HTTPS with the auth filter, no HTTP/2, generated certificate": {
			opts: base,
			want: metricsWiring{BindAddress: ":8443", SecureServing: true, AuthFilter: true, NextProtos: []string{"http/1.1"}},
		},
		"HTTP/2 enabled": {
			opts: with(func(o *Options) { o.EnableHTTP2 = true }),
			want: metricsWiring{BindAddress: ":8443", SecureServing: true, AuthFilter: true},
		},
		"plain HTTP: no auth filter": {
			opts: with(func(o *Options) { o.MetricsAddr, o.SecureMetrics = ":8080", false }),
			want: metricsWiring{BindAddress: ":8080", NextProtos: []string{"http/1.1"}},
		},
		"certificate from files": {
			opts: with(func(o *Options) { o.MetricsCertPath = certDir }),
			want: metricsWiring{
				BindAddress: ":8443", SecureServing: true, AuthFilter: true, NextProtos: []string{"http/1.1"}, ReloadsCert: true,
			},
		},
		"certificate files missing": {
			opts:    with(func(o *Options) { o.MetricsCertPath = filepath.Join(certDir, "absent") }),
			wantErr: "initializing the metrics certificate watcher",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, watcher, err := metricsServerOptions(tc.opts, logr.Discard())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cfg tls.Config
			for _, opt := range got.TLSOpts {
				opt(&cfg)
			}
			if (watcher != nil) != (cfg.GetCertificate != nil) {
				t.Errorf("certificate watcher %v, GetCertificate set %v: want both or neither", watcher, cfg.GetCertificate != nil)
			}
			wiring := metricsWiring{
				BindAddress:   got.BindAddress,
				SecureServing: got.SecureServing,
				AuthFilter:    got.FilterProvider != nil,
				NextProtos:    cfg.NextProtos,
				ReloadsCert:   watcher != nil && cfg.GetCertificate != nil,
			}
			if diff := cmp.Diff(tc.want, wiring); diff != "" {
				t.Errorf("metrics server (-want +got):\n%s", diff)
			}
		})
	}
}
