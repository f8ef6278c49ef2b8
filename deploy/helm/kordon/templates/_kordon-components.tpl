{{/* Labels of a kordon server or operator object; the argument is the component. */}}
{{- define "kordon.componentLabels" -}}
app.kubernetes.io/component: {{ . }}
app.kubernetes.io/name: kordon
app.kubernetes.io/part-of: kordon
{{- end }}

{{/* Labels that select a component's pods. */}}
{{- define "kordon.componentSelector" -}}
app.kubernetes.io/component: {{ . }}
app.kubernetes.io/name: kordon
{{- end }}
