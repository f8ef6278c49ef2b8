{{/* Labels on every object. */}}
{{- define "kordon.labels" -}}
app.kubernetes.io/component: admission
app.kubernetes.io/name: kordon
app.kubernetes.io/part-of: kordon
{{- end }}

{{/* Labels that select the webhook's pods. */}}
{{- define "kordon.selectorLabels" -}}
app.kubernetes.io/component: admission
app.kubernetes.io/name: kordon
{{- end }}

{{/* The name of every object. */}}
{{- define "kordon.name" -}}kordon-admission{{- end }}
