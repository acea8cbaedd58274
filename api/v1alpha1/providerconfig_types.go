package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Keys a provider's credentials Secret must hold.
const (
	// QuantConnectUserIDKey is the Secret key of the QuantConnect user id.
	QuantConnectUserIDKey = "userID"
	// QuantConnectAPITokenKey is the Secret key of the QuantConnect API token.
	QuantConnectAPITokenKey = "apiToken"
	// AppHarborAccessTokenKey is the Secret key of the AppHarbor OAuth2 token.
	AppHarborAccessTokenKey = "accessToken"
	// WebTranslateItOrganizationTokenKey is the Secret key of the
	// WebTranslateIt read-write organization API token.
	WebTranslateItOrganizationTokenKey = "organizationToken"
)

// QuantConnectConfig says where the QuantConnect API is and how to log in.
type QuantConnectConfig struct {
	// baseURL of the QuantConnect API v2, including its /api/v2 path.
	// +optional
	// +kubebuilder:default="https://www.quantconnect.com/api/v2"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHost() != ''",message="baseURL must be an absolute http or https URL"
	BaseURL string `json:"baseURL,omitempty"`

	// credentialsSecretRef names the Secret holding the keys userID and
	// apiToken. The token is only ever sent hashed with a timestamp.
	// +required
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`
}

// AppHarborConfig says where the AppHarbor API is and how to log in.
type AppHarborConfig struct {
	// baseURL of the AppHarbor API.
	// +optional
	// +kubebuilder:default="https://appharbor.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHost() != ''",message="baseURL must be an absolute http or https URL"
	BaseURL string `json:"baseURL,omitempty"`

	// credentialsSecretRef names the Secret holding the key accessToken, an
	// AppHarbor OAuth2 access token.
	// +required
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`
}

// WebTranslateItConfig says where the WebTranslateIt API is and which
// organization to act on.
type WebTranslateItConfig struct {
	// baseURL of the WebTranslateIt API.
	// +optional
	// +kubebuilder:default="https://webtranslateit.com"
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHost() != ''",message="baseURL must be an absolute http or https URL"
	BaseURL string `json:"baseURL,omitempty"`

	// credentialsSecretRef names the Secret holding the key
	// organizationToken, the organization's read-write API token. The token
	// selects the organization, so one ProviderConfig serves one organization.
	// +required
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`
}

// RateLimit is a token-bucket request budget.
type RateLimit struct {
	// requestsPerSecond is the sustained rate, at least 1.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	RequestsPerSecond int32 `json:"requestsPerSecond"`
	// burst is how many requests may go at once after a quiet spell; at
	// least 1 and, when unset, twice requestsPerSecond.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Burst int32 `json:"burst,omitempty"`
}

// ProviderConfigSpec says which provider to talk to, where it is and which
// Secret holds its credentials.
// +kubebuilder:validation:XValidation:rule="[has(self.quantConnect), has(self.appHarbor), has(self.webTranslateIt)].filter(x, x).size() == 1",message="exactly one of quantConnect, appHarbor or webTranslateIt must be set"
// +kubebuilder:validation:XValidation:rule="has(oldSelf.quantConnect) == has(self.quantConnect) && has(oldSelf.appHarbor) == has(self.appHarbor) && has(oldSelf.webTranslateIt) == has(self.webTranslateIt)",message="the provider block (quantConnect, appHarbor or webTranslateIt) cannot be switched: the access of the Collaborators using these credentials lives at that provider. Create another object for another provider; baseURL and credentialsSecretRef may change"
type ProviderConfigSpec struct {
	// syncInterval is how often a Ready Collaborator using this
	// ProviderConfig is read again from the provider, so that changes made
	// outside Kubernetes are detected and corrected. A duration of at least
	// 1s, such as 30s, 10m or 1h.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="syncInterval must be at least 1s, a duration such as 30s or 10m"
	SyncInterval *metav1.Duration `json:"syncInterval,omitempty"`

	// expiryNotice is how long before a Collaborator's spec.expiresAt the
	// operator sends it one Event ExpiringSoon naming the time. 0 turns the
	// notice off; otherwise at least 1m.
	// +optional
	// +kubebuilder:default="168h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || duration(self) >= duration('1m')",message="expiryNotice must be 0 (off) or at least 1m, a duration such as 168h"
	ExpiryNotice *metav1.Duration `json:"expiryNotice,omitempty"`
	// rateLimit is one request budget shared by every call made with these
	// credentials, whichever Collaborator or ProviderConfig makes it. When
	// unset, 10 requests per second with a burst of 20 (see
	// docs/scaling.md). A 429 or a QuantConnect rate-limit answer pauses the
	// whole budget for the provider's wait.
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// quantConnect configures QuantConnect project collaboration.
	// +optional
	QuantConnect *QuantConnectConfig `json:"quantConnect,omitempty"`

	// appHarbor configures AppHarbor application collaboration.
	// +optional
	AppHarbor *AppHarborConfig `json:"appHarbor,omitempty"`

	// webTranslateIt configures WebTranslateIt organization collaboration.
	// +optional
	WebTranslateIt *WebTranslateItConfig `json:"webTranslateIt,omitempty"`
}

// ProviderConfigStatus is what the operator last observed of a
// ProviderConfig.
type ProviderConfigStatus struct {
	// observedGeneration is the metadata.generation this status describes.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// provider is the name of the configured provider (QuantConnect,
	// AppHarbor or WebTranslateIt), written by the controller for display.
	// +optional
	Provider string `json:"provider,omitempty"`

	// conditions: Ready is True when the Secret exists, has its keys, and
	// the provider accepted them where it offers a check.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProviderConfig says where a provider's API is and which Secret logs in to
// it. Collaborators in the same namespace reference it by name.
// Its short name is collabpc: pc is already PriorityClass's.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=collaboration,shortName=collabpc
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=`.status.provider`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ProviderConfig struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec says which provider, where, and with which credentials.
	// +required
	Spec ProviderConfigSpec `json:"spec"`

	// status is what the operator last observed.
	// It is never absent: the API server fills in observedGeneration 0,
	// which no generation equals, so kstatus (Flux) and the Argo CD health
	// check read a new object as in progress from the moment it is
	// created, before the operator has written anything.
	// +kubebuilder:default={}
	// +optional
	Status ProviderConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ProviderConfigList is a list of ProviderConfigs.
type ProviderConfigList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the ProviderConfigs.
	Items []ProviderConfig `json:"items"`
}
