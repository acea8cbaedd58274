package manager

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/collab-dev/collaborator-operator/internal/metrics"
)

// metricsServerOptions configures the metrics server. When the certificate
// comes from files (Options.MetricsCertPath) it also returns the watcher
// that reloads them, for the manager to run; otherwise the watcher is nil.
//
// The metrics endpoint is enabled in config/default/kustomization.yaml.
// More info:
// - https://pkg.go.dev/sigs.k8s.io/controller-runtime/pkg/metrics/server
// - https://book.kubebuilder.io/reference/metrics.html
func metricsServerOptions(o Options, log logr.Logger) (metricsserver.Options, *certwatcher.CertWatcher, error) {
	var tlsOpts []func(*tls.Config)

	// if the enable-http2 flag is false (the default), http/2 should be disabled
	// due to its vulnerabilities. More specifically, disabling http/2 will
	// prevent from being vulnerable to the HTTP/2 Stream Cancellation and
	// Rapid Reset CVEs. For more information see:
	// - https://github.com/advisories/GHSA-qppj-fm5r-hxr3
	// - https://github.com/advisories/GHSA-4374-p667-p6c8
	disableHTTP2 := func(c *tls.Config) {
		log.Info("disabling http/2")
		c.NextProtos = []string{"http/1.1"}
	}
	if !o.EnableHTTP2 {
		tlsOpts = append(tlsOpts, disableHTTP2)
	}

	opts := metricsserver.Options{
		BindAddress:   o.MetricsAddr,
		SecureServing: o.SecureMetrics,
		TLSOpts:       tlsOpts,
	}
	if o.SecureMetrics {
		// Only callers whose token the API server authenticates and
		// authorizes for GET /metrics are served (the RBAC is in
		// config/rbac: metrics_auth_role and metrics_reader_role).
		opts.FilterProvider = metrics.AuthFilter
	}

	// If the certificate is not specified, controller-runtime will automatically
	// generate self-signed certificates for the metrics server. While convenient for development and testing,
	// this setup is not recommended for production.
	if o.MetricsCertPath == "" {
		return opts, nil, nil
	}
	log.Info("Initializing metrics certificate watcher using provided certificates",
		"metrics-cert-path", o.MetricsCertPath, "metrics-cert-name", o.MetricsCertName,
		"metrics-cert-key", o.MetricsCertKey)
	watcher, err := certwatcher.New(
		filepath.Join(o.MetricsCertPath, o.MetricsCertName),
		filepath.Join(o.MetricsCertPath, o.MetricsCertKey),
	)
	if err != nil {
		return metricsserver.Options{}, nil, fmt.Errorf("initializing the metrics certificate watcher: %w", err)
	}
	opts.TLSOpts = append(opts.TLSOpts, func(config *tls.Config) {
		config.GetCertificate = watcher.GetCertificate
	})
	return opts, watcher, nil
}
