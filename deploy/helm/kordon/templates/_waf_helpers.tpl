{{/* Labels of the WAF's objects, also its pod selector (as kordon waf install). */}}
{{- define "kordon.wafLabels" -}}
app.kubernetes.io/name: {{ .Values.waf.name }}
app.kubernetes.io/part-of: kordon
{{- end }}
