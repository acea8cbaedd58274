package controllertest

import (
	collabv1alpha1 "github.com/collab-dev/collaborator-operator/api/v1alpha1"
)

// NotAllowedURL is a base URL that provider.DefaultAllowedURLs does not
// allow.
const NotAllowedURL = "https://collab-proxy.example.net"

// Problem is one way a provider's fixture credentials become unusable,
// and how a person fixes it.
type Problem struct {
	// Name describes the problem for test names.
	Name string
	// Reason is the condition reason the objects using the credentials
	// report.
	Reason string
	// Terminal: only a person can fix it (Stalled), rather than a retry
	// (Reconciling).
	Terminal bool
	// Break makes the fixture credentials of the provider unusable.
	Break func(e *Env)
	// Fix restores the fixture credentials.
	Fix func(e *Env)
}

// CredentialProblems lists the ways the fixture ProviderConfig or Secret
// of a provider can become unusable, each with its fix: the
// ProviderConfig or its Secret gone, the Secret without its keys, a base
// URL the manager may not send credentials to, and a ProviderConfig
// re-created for another provider (ProviderMismatch for the objects that
// use it).
func CredentialProblems(providerName string) []Problem {
	other := collabv1alpha1.ProviderAppHarbor
	if providerName == other {
		other = collabv1alpha1.ProviderQuantConnect
	}
	restorePC := func(e *Env) {
		pc := ProviderConfig(providerName)
		if e.Get(pc) {
			e.ForceDelete(pc)
		}
		e.Create(ProviderConfig(providerName))
	}
	return []Problem{
		{
			Name: "ProviderConfig missing", Reason: collabv1alpha1.ReasonProviderConfigNotFound,
			Break: func(e *Env) { e.ForceDelete(ProviderConfig(providerName)) },
			Fix:   func(e *Env) { e.Create(ProviderConfig(providerName)) },
		},
		{
			Name: "Secret missing", Reason: collabv1alpha1.ReasonSecretNotFound,
			Break: func(e *Env) { e.ForceDelete(Secret(providerName)) },
			Fix:   func(e *Env) { e.Create(Secret(providerName)) },
		},
		{
			Name: "Secret without its keys", Reason: collabv1alpha1.ReasonCredentialsInvalid, Terminal: true,
			Break: func(e *Env) {
				s := Secret(providerName)
				e.Edit(s, func() { s.Data = map[string][]byte{"unrelated": []byte("x")} })
			},
			Fix: func(e *Env) {
				s := Secret(providerName)
				e.Edit(s, func() { s.Data = Secret(providerName).Data })
			},
		},
		{
			Name: "BaseURLNotAllowed", Reason: collabv1alpha1.ReasonBaseURLNotAllowed, Terminal: true,
			Break: func(e *Env) { SetBaseURL(e, providerName, NotAllowedURL) },
			Fix:   func(e *Env) { SetBaseURL(e, providerName, "") },
		},
		{
			Name: "ProviderMismatch", Reason: collabv1alpha1.ReasonProviderMismatch, Terminal: true,
			Break: func(e *Env) {
				e.ForceDelete(ProviderConfig(providerName))
				pc := ProviderConfig(other)
				pc.Name = ConfigName(providerName)
				e.Create(pc)
			},
			Fix: restorePC,
		},
	}
}

// SetBaseURL sets the baseURL of a provider's fixture ProviderConfig; ""
// restores the documented one.
func SetBaseURL(e *Env, providerName, url string) {
	e.T.Helper()
	pc := ProviderConfig(providerName)
	if url == "" {
		ep, _ := pc.Spec.Endpoint()
		url = ep.BaseURL
	}
	e.Edit(pc, func() {
		switch {
		case pc.Spec.QuantConnect != nil:
			pc.Spec.QuantConnect.BaseURL = url
		case pc.Spec.AppHarbor != nil:
			pc.Spec.AppHarbor.BaseURL = url
		case pc.Spec.WebTranslateIt != nil:
			pc.Spec.WebTranslateIt.BaseURL = url
		}
	})
}
