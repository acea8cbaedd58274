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
(config/rbac/role.yaml, copied by make manifests). */}}
{{- define "collaborator-operator.managerRules" -}}
{{- (.Files.Get "files/manager-role.yaml" | fromYaml).rules | toYaml -}}
{{- end -}}
