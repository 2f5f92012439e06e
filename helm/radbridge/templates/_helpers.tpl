{{/* Names and labels shared by every object of the release. */}}
{{- define "radbridge.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "radbridge.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "radbridge.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "radbridge.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "radbridge.secretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "radbridge.fullname" .)) -}}
{{- end -}}

{{/* The RADBRIDGE_* settings every RadBridge process reads: config map plus secret keys. */}}
{{- define "radbridge.env" -}}
- name: RADBRIDGE_DATABASE__URL
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: database-url}}
- name: RADBRIDGE_BROKER__URL
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: broker-url}}
- name: RADBRIDGE_STORAGE__S3_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: s3-access-key-id}}
- name: RADBRIDGE_STORAGE__S3_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: s3-secret-access-key}}
- name: RADBRIDGE_ORTHANC__PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: orthanc-password}}
- name: RADBRIDGE_DEID__SECRET
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: deid-secret}}
- name: RADBRIDGE_AUTH__SIGNING_KEY
  valueFrom: {secretKeyRef: {name: {{ include "radbridge.secretName" . }}, key: auth-signing-key}}
{{- end -}}

{{/* Volumes every RadBridge pod mounts: the shared JWT key and a scratch state folder. */}}
{{- define "radbridge.volumes" -}}
- name: jwt-key
  secret:
    secretName: {{ include "radbridge.secretName" . }}
    items: [{key: jwt-signing.json, path: jwt-signing.json}]
    defaultMode: 0400
- name: state
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "radbridge.volumeMounts" -}}
- {name: state, mountPath: /var/lib/radbridge}
- {name: jwt-key, mountPath: /var/lib/radbridge/keys, readOnly: true}
- {name: tmp, mountPath: /tmp}
{{- end -}}

{{/* A RadBridge container: image, env, mounts and hardening; .args and .component given. */}}
{{- define "radbridge.container" -}}
- name: {{ .component }}
  image: {{ include "radbridge.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: {{ toJson .args }}
  envFrom:
    - configMapRef: {name: {{ include "radbridge.fullname" .root }}-config}
  env:
    {{- include "radbridge.env" .root | nindent 4 }}
  volumeMounts:
    {{- include "radbridge.volumeMounts" .root | nindent 4 }}
    {{- with .mounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .resources | nindent 4 }}
{{- end -}}

{{- define "radbridge.podSpec" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity: {{ toYaml . | nindent 2 }}
{{- end }}
volumes:
  {{- include "radbridge.volumes" . | nindent 2 }}
{{- end -}}
