{{/* The release's full name, used for every object's name. */}}
{{- define "collaborator-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "collaborator-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "collaborator-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select the manager's Pods. */}}
{{- define "collaborator-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
control-plane: controller-manager
{{- end -}}

{{/* The manager's ServiceAccount. */}}
{{- define "collaborator-operator.serviceAccountName" -}}
{{- default (include "collaborator-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The manager's rules, generated from the code's RBAC markers
(config/rbac/role.yaml, copied by make manifests), without the read of the
Collaborator CRD when rbac.readCollaboratorCRD is false. */}}
{{- define "collaborator-operator.managerRules" -}}
{{- $rules := list -}}
{{- range (.Files.Get "files/manager-role.yaml" | fromYaml).rules -}}
{{- if or $.Values.rbac.readCollaboratorCRD (not (has "apiextensions.k8s.io" .apiGroups)) -}}
{{- $rules = append $rules . -}}
{{- end -}}
{{- end -}}
{{- $rules | toYaml -}}
{{- end -}}

{{/* The manager's rules on namespaced resources: a namespaced install's
Roles. A Role cannot grant cluster-scoped resources, and a namespaced
manager serves no ClusterProviderConfig, so the rules on
clusterproviderconfigs (and their subresources) and on namespaces (read
for grants' namespaceSelectors) are left out. */}}
{{- define "collaborator-operator.managerNamespacedRules" -}}
{{- $rules := list -}}
{{- range (.Files.Get "files/manager-role.yaml" | fromYaml).rules -}}
{{- if not (has "apiextensions.k8s.io" .apiGroups) -}}
{{- $resources := list -}}
{{- range .resources -}}
{{- if not (or (eq . "namespaces") (hasPrefix "clusterproviderconfigs" .)) -}}
{{- $resources = append $resources . -}}
{{- end -}}
{{- end -}}
{{- if $resources -}}
{{- $rules = append $rules (set (deepCopy .) "resources" $resources) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $rules | toYaml -}}
{{- end -}}

{{/* The manager's rules on cluster-scoped resources (the read of the
Collaborator CRD, which tells an uninstall from a delete): a namespaced
install's one ClusterRole for the manager. */}}
{{- define "collaborator-operator.managerClusterRules" -}}
{{- $rules := list -}}
{{- range (.Files.Get "files/manager-role.yaml" | fromYaml).rules -}}
{{- if has "apiextensions.k8s.io" .apiGroups -}}
{{- $rules = append $rules . -}}
{{- end -}}
{{- end -}}
{{- $rules | toYaml -}}
{{- end -}}
