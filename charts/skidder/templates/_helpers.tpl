{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "skidder.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: the release name, prefixed with the chart name unless it
already contains it. */}}
{{- define "skidder.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "skidder.namespace" -}}
{{- default .Release.Namespace .Values.namespace }}
{{- end }}

{{- define "skidder.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "skidder.selectorLabels" -}}
app.kubernetes.io/name: {{ include "skidder.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "skidder.labels" -}}
helm.sh/chart: {{ include "skidder.chart" . }}
{{ include "skidder.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "skidder.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "skidder.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "skidder.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString }}
{{- if .Values.image.registry }}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The metrics Service; its name is also the `job` label the ServiceMonitor gives the
metrics, which the alerts select on. */}}
{{- define "skidder.metricsServiceName" -}}
{{- printf "%s-metrics" (include "skidder.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "true" when the agent runs an Alloy config: config.format alloy, or the Alloy chart's
alloy.configMap.content set (so an Alloy chart values file works as it is). */}}
{{- define "skidder.alloyMode" -}}
{{- if or (eq (toString .Values.config.format) "alloy") (include "skidder.alloyChartContent" .) (include "skidder.alloyExternalConfigMap" .) }}true{{ end }}
{{- end }}

{{/* The Alloy chart's alloy.configMap.create: false: the config is in a ConfigMap of the user's
(alloy.configMap.name, key alloy.configMap.key, default config.alloy), mounted as it is. Its
name; "" otherwise. */}}
{{- define "skidder.alloyExternalConfigMap" -}}
{{- with (.Values.alloy).configMap }}
{{- if eq (toString .create) "false" }}
{{- required "alloy.configMap.name is required when alloy.configMap.create is false (the ConfigMap that holds your config.alloy)" .name }}
{{- end }}
{{- end }}
{{- end }}

{{- define "skidder.alloyChartContent" -}}
{{- if and .Values.alloy .Values.alloy.configMap .Values.alloy.configMap.content }}
{{- .Values.alloy.configMap.content }}
{{- end }}
{{- end }}

{{/* The config file's name in the ConfigMap (or Secret) and under /etc/skidder. */}}
{{- define "skidder.configKey" -}}
{{- if include "skidder.alloyMode" . }}config.alloy{{ else }}skidder.yaml{{ end }}
{{- end }}

{{/* The rendered agent config: skidder.yaml from config.file, or the Alloy config
(alloy.configMap.content when set, else config.alloy), each passed through tpl. */}}
{{- define "skidder.config" -}}
{{- if include "skidder.alloyMode" . }}
{{- tpl (include "skidder.alloyChartContent" . | default .Values.config.alloy) . | trim }}
{{- else }}
{{- tpl .Values.config.file . | trim }}
{{- end }}
{{- end }}

{{/* "true" when the journal's directories are mounted: journal.enabled for the YAML config;
for an Alloy config, when it has a loki.source.journal component. */}}
{{- define "skidder.journalMounts" -}}
{{- if include "skidder.alloyExternalConfigMap" . }}
{{- if .Values.journal.enabled }}true{{ end }}{{/* its content is not known here */}}
{{- else if include "skidder.alloyMode" . }}
{{- if contains "loki.source.journal" (include "skidder.config" .) }}true{{ end }}
{{- else if .Values.journal.enabled }}true{{ end }}
{{- end }}

{{/* "true" when the chart mounts the node's path (/run/log/journal or /etc/machine-id) as the
volume named name for the journal: not when extraVolumes/extraVolumeMounts have that volume
name or mount path already (the Promtail chart's journald recipe mounts /etc/machine-id itself;
a second volume or mount of one name or path is refused by the API server).
Arguments: (list $ name path). */}}
{{- define "skidder.ownJournalMount" -}}
{{- $ := index . 0 }}{{ $name := index . 1 }}{{ $path := index . 2 }}
{{- $mine := include "skidder.journalMounts" $ }}
{{- range (default (list) $.Values.extraVolumes) }}{{ if eq .name $name }}{{ $mine = "" }}{{ end }}{{ end }}
{{- range (default (list) $.Values.extraVolumeMounts) }}
{{- if or (eq .name $name) (eq (trimSuffix "/" .mountPath) $path) }}{{ $mine = "" }}{{ end }}
{{- end }}
{{- $mine }}
{{- end }}

{{/* "true" when the user's extraScrapeConfigs read the journal themselves (the Promtail
chart's journald recipe): the chart's own journal job is then left out, or the journal would
be shipped twice (or refused: two jobs named journal). */}}
{{- define "skidder.userJournalJob" -}}
{{- with .Values.config.snippets.extraScrapeConfigs }}
{{- if regexMatch "(?m)(^[ \t-]*|[{,][ \t]*)journal:[ \t]*([{].*)?(#.*)?$" (tpl . $) }}true{{ end }}
{{- end }}
{{- end }}

{{/* The agent's arguments. An Alloy config has no place for skidder's own settings, so the
positions file, held files, symlink roots and HTTP port and prefix go as flags: the Alloy path
gets the same loss protection as the YAML one. */}}
{{- define "skidder.args" -}}
- -config.file=/etc/skidder/{{ include "skidder.configKey" . }}
{{- if include "skidder.alloyMode" . }}
{{- $p := .Values.config.positions }}
- -positions.file={{ include "skidder.positionsFile" . }}
{{- if eq (.Values.controller).type "deployment" }}
- -positions.held-dir=off
{{- else }}
{{- with $p.held_dir }}
- -positions.held-dir={{ . }}
{{- end }}
{{- end }}
{{- with $p.held_max_bytes }}
- -positions.held-max-bytes={{ if kindIs "string" . }}{{ . }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}
{{- with .Values.config.targetConfig }}{{ with .symlink_roots }}
- -target-config.symlink-roots={{ join "," . }}
{{- end }}{{ end }}
- -server.http-listen-port={{ .Values.config.serverPort }}
{{- with .Values.httpPathPrefix }}
- -server.path-prefix={{ . }}
{{- end }}
{{- else }}
{{- if and .Values.config.expandEnv (not (include "skidder.expandEnvInExtraArgs" .)) }}
- -config.expand-env=true
{{- end }}
{{- if eq (.Values.controller).type "deployment" }}
- -positions.file={{ include "skidder.positionsFile" . }}
- -positions.held-dir=off
{{- end }}
{{- end }}
{{- with .Values.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The positions file. A deployment's pod may land on a node whose DaemonSet agent (of
another release) keeps /var/lib/skidder/positions.json: two agents saving one file would undo
each other's positions, so a deployment left on that default gets a file named after its
release instead. A deployment also holds no rotated files (-positions.held-dir=off in the
args): at start an agent removes the held links its own positions do not name, which would be
the DaemonSet agent's on that node. */}}
{{- define "skidder.positionsFile" -}}
{{- $file := .Values.config.positions.filename }}
{{- if and (eq (.Values.controller).type "deployment") (eq $file "/var/lib/skidder/positions.json") }}
{{- printf "/var/lib/skidder/%s-positions.json" (include "skidder.fullname" .) }}
{{- else }}
{{- $file }}
{{- end }}
{{- end }}

{{/* PromQL matchers for the agent's own metrics, used by the alerts. */}}
{{- define "skidder.metricsSelector" -}}
{{- with .Values.serviceMonitor.prometheusRule.defaultRules.selector }}
{{- . }}
{{- else }}
{{- printf "namespace=%q, job=%q" (include "skidder.namespace" .) (include "skidder.metricsServiceName" .) }}
{{- end }}
{{- end }}

{{/* Fails the render when the positions file would land on the read-only root filesystem
(or a read-only mount): the agent would then start over from the end of every file after
each restart, the classic way a log agent loses data. */}}
{{- define "skidder.checkPositionsVolume" -}}
{{- if .Values.config.enabled }}
{{- $file := .Values.config.positions.filename | default "" | toString }}
{{- if not (include "skidder.alloyMode" .) }}
{{- /* The file the rendered config names: a config.file of the Promtail chart's may set its own. */}}
{{- with (fromYaml (include "skidder.config" .)).positions }}{{ with .filename }}
{{- $file = toString . }}
{{- end }}{{ end }}
{{- end }}
{{- $dir := dir $file }}
{{- $ok := false }}
{{- range concat (default (list) .Values.defaultVolumeMounts) (default (list) .Values.extraVolumeMounts) }}
{{- $mp := trimSuffix "/" .mountPath }}
{{- if and (not .readOnly) (or (eq $dir $mp) (hasPrefix (printf "%s/" $mp) $dir)) }}
{{- $ok = true }}
{{- end }}
{{- end }}
{{- if not $ok }}
{{- fail (printf "config.positions.filename %q is not on a writable volume mount: add its directory %q to defaultVolumeMounts or extraVolumeMounts (a hostPath, so positions survive pod restarts)" $file $dir) }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when extraArgs turn -config.expand-env on, as Promtail chart users do. */}}
{{- define "skidder.expandEnvInExtraArgs" -}}
{{- range (default (list) .Values.extraArgs) }}
{{- if regexMatch "^--?config[.]expand-env(=(true|1|t|T|TRUE|True))?$" (toString .) }}true{{ end }}
{{- end }}
{{- end }}

{{/* "true" when the agent expands ${VAR}: config.expandEnv, or the flag in extraArgs. */}}
{{- define "skidder.expandEnv" -}}
{{- if or .Values.config.expandEnv (include "skidder.expandEnvInExtraArgs" .) }}true{{ end }}
{{- end }}

{{/* Fails the render when the YAML config has a ${VAR} reference and config.expandEnv is off:
the agent would take it as written (a URL, a tenant, a password "${VAR}"). Not ${1} (a relabel
group) nor $${VAR} (a literal $). */}}
{{- define "skidder.checkEnvReferences" -}}
{{- if and .Values.config.enabled (not (include "skidder.expandEnv" .)) (not (include "skidder.alloyMode" .)) }}
{{- $config := include "skidder.config" . }}
{{- range regexFindAll "(^|[^$])[$][{][A-Za-z_][A-Za-z0-9_]*" $config -1 }}
{{- $ref := . }}
{{- $name := regexFind "[A-Za-z_][A-Za-z0-9_]*$" $ref }}
{{- /* ${name} of a named group of the config's regexes is a relabel replacement's group. */}}
{{- if not (regexMatch (printf "[(][?]P?<%s>" $name) $config) }}
{{- fail (printf "the config has an environment reference %s}, but config.expandEnv is false: set config.expandEnv=true to expand ${VAR} as Promtail's -config.expand-env does (then \\\\ in the config is \\ and $$ is $, everywhere), or write $${ for a literal ${" (regexFind "[$][{].*" $ref)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Promtail chart's extraPorts: one container port, and one Service, per entry (a
loki_push_api or syslog receiver of the config listening on containerPort). Fails the render on
what Kubernetes would refuse later, or what would silently not work: no containerPort, a port
name Kubernetes refuses (over 15 characters, uppercase), a key that cannot name a Service, a port
or name the metrics port already has, a protocol other than TCP or UDP. As JSON {"ports": [{"key", "name", "containerPort", "protocol", "values"}...]} (fromJsonArray is
not in every renderer). */}}
{{- define "skidder.extraPorts" -}}
{{- $ports := list }}
{{- range $key, $v := .Values.extraPorts }}
{{- $name := $v.name | default $key | toString }}
{{- $protocol := $v.protocol | default "TCP" | toString }}
{{- if not $v.containerPort }}
{{- fail (printf "extraPorts.%s.containerPort is required: the port the receiver (loki_push_api or syslog) listens on in the config" $key) }}
{{- end }}
{{- if not (regexMatch "^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$" $name) }}
{{- fail (printf "extraPorts.%s: the port name %q is not one Kubernetes accepts (at most 15 lowercase letters, digits and inner '-'): set extraPorts.%s.name" $key $name $key) }}
{{- end }}
{{- if not (regexMatch "^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$" $key) }}
{{- fail (printf "extraPorts.%s: the key names the Service (<fullname>-%s): use letters, digits and '-' only" $key (lower $key)) }}
{{- end }}
{{- if or (eq $name "http-metrics") (eq (int $v.containerPort) (int $.Values.config.serverPort)) }}
{{- fail (printf "extraPorts.%s: the metrics port (http-metrics, %v) is already exposed: give the receiver a port and name of its own" $key $.Values.config.serverPort) }}
{{- end }}
{{- if not (has $protocol (list "TCP" "UDP")) }}
{{- fail (printf "extraPorts.%s.protocol must be TCP or UDP (syslog over UDP needs UDP), not %q" $key $protocol) }}
{{- end }}
{{- $ports = append $ports (dict "key" $key "name" $name "containerPort" (int $v.containerPort) "protocol" $protocol "values" $v) }}
{{- end }}
{{- toJson (dict "ports" $ports) }}
{{- end }}
