package provider

import (
	"fmt"
	"sync"
)

// Factory builds a Client for one ProviderConfig's settings. It validates
// the credentials' presence and shape, not their acceptance by the provider.
type Factory func(cfg Config) (Client, error)

// Registry maps provider names (collabv1alpha1.ProviderQuantConnect, ...)
// to factories. The manager fills it at start-up; tests may fill their own.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]Factory
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[string]Factory{}}
}

// Register adds or replaces the factory for a provider name.
func (r *Registry) Register(name string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.factories[name] = f
}

// New builds a Client for the named provider.
func (r *Registry) New(name string, cfg Config) (Client, error) {
	r.mu.RLock()
	f, ok := r.factories[name]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no client registered for provider %q", name)
	}
	return f(cfg)
}
