#!/usr/bin/python3
"""Chart tests: render charts/skidder and check what a user would notice on first install.

Run directly (python3 tests/chart/test_chart.py) or through ctest (label chart). With
SKIDDER_BINARY set, the rendered config must also pass `skidder -check-syntax`.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chart_support import (CHART, NAMESPACE, REPO, SUPPORTED_KEYWORDS, RenderError, Renderer,  # noqa: E402
                           agent_container, find, load_schema, merged_values, one, render_notes,
                           rendered_config, schema_keywords, skidder_check_rendered,
                           skidder_check_syntax, validate)

R = None


def setUpModule():
    global R
    R = Renderer()
    print(f"rendering with {R.name}", file=sys.stderr)


class Volumes(unittest.TestCase):
    def assert_mounts_have_volumes(self, docs):
        pod, c = agent_container(docs)
        volumes = {v["name"] for v in pod["volumes"]}
        for m in c["volumeMounts"]:
            self.assertIn(m["name"], volumes, f"volumeMount {m['name']} has no volume")

    def test_every_volume_mount_has_a_volume(self):
        self.assert_mounts_have_volumes(R.render())

    def test_extra_volumes_are_mounted_with_their_volumes(self):
        docs = R.render({
            "extraVolumes": [{"name": "airflow-logs",
                              "persistentVolumeClaim": {"claimName": "airflow-logs"}}],
            "extraVolumeMounts": [{"name": "airflow-logs", "mountPath": "/airflow/logs",
                                   "readOnly": True}],
        })
        self.assert_mounts_have_volumes(docs)
        _, c = agent_container(docs)
        self.assertIn("/airflow/logs", [m["mountPath"] for m in c["volumeMounts"]])

    def test_pod_logs_and_held_links_share_one_mount(self):
        # Hard links cannot cross mounts: the held directory must be inside the logs' mount.
        docs = R.render()
        pod, c = agent_container(docs)
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/var/log")
        self.assertFalse(mount.get("readOnly", False))
        vol = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        self.assertEqual(vol["hostPath"]["path"], "/var/log")
        self.assertNotIn("/var/log/pods", [m["mountPath"] for m in c["volumeMounts"]])
        config = yaml.safe_load(rendered_config(docs))
        self.assertTrue(config["positions"]["held_dir"].startswith("/var/log/"))

    def test_positions_are_on_a_writable_host_path(self):
        docs = R.render()
        pod, c = agent_container(docs)
        config = yaml.safe_load(rendered_config(docs))
        self.assertEqual(config["positions"]["filename"], "/var/lib/skidder/positions.json")
        mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/var/lib/skidder")
        self.assertFalse(mount.get("readOnly", False))
        vol = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        self.assertEqual(vol["hostPath"], {"path": "/var/lib/skidder", "type": "DirectoryOrCreate"})

    def test_positions_off_any_writable_mount_are_refused(self):
        for bad in ("/tmp/positions.yaml", "/var/lib/docker/containers/positions.json"):
            with self.subTest(filename=bad):
                with self.assertRaisesRegex(RenderError, "not on a writable volume mount"):
                    R.render(sets=[f"config.positions.filename={bad}"])

    def test_positions_the_config_file_names_are_checked_too(self):
        # The Promtail chart README's push-API example brings its own config.file, with the
        # positions under /run/promtail (mounted by the Promtail chart, not by this one).
        file = ("server:\n  http_listen_port: 3101\npositions:\n  filename: /run/promtail/positions.yaml\n"
                "clients:\n  - url: http://loki-gateway/loki/api/v1/push\nscrape_configs: []\n")
        with self.assertRaisesRegex(RenderError, '"/run/promtail/positions.yaml" is not on a writable'):
            R.render(values={"config": {"file": file}})

    def test_config_is_mounted_from_the_rendered_config_map(self):
        docs = R.render()
        pod, c = agent_container(docs)
        cm = next(d for d in find(docs, "ConfigMap") if "skidder.yaml" in d.get("data", {}))
        vol = next(v for v in pod["volumes"] if v["name"] == "config")
        self.assertEqual(vol["configMap"]["name"], cm["metadata"]["name"])
        self.assertIn("-config.file=/etc/skidder/skidder.yaml", c["args"])
        mount = next(m for m in c["volumeMounts"] if m["name"] == "config")
        self.assertEqual(mount["mountPath"], "/etc/skidder")

    def test_config_goes_to_a_secret_when_configmap_is_disabled(self):
        docs = R.render(sets=["configmap.enabled=false"])
        pod, _ = agent_container(docs)
        secret = one(docs, "Secret")
        self.assertIn("clients:", secret["stringData"]["skidder.yaml"])
        vol = next(v for v in pod["volumes"] if v["name"] == "config")
        self.assertEqual(vol["secret"]["secretName"], secret["metadata"]["name"])


class Rbac(unittest.TestCase):
    def test_cluster_role_only_reads_pods(self):
        role = one(R.render(), "ClusterRole")
        rules = [(tuple(r["apiGroups"]), tuple(r["resources"]), frozenset(r["verbs"]))
                 for r in role["rules"]]
        self.assertEqual(rules, [(("",), ("pods",), frozenset({"get", "list", "watch"}))])

    def test_extra_rules_let_other_discovery_roles_read_their_resources(self):
        extra = {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                 "verbs": ["get", "list", "watch"]}
        role = one(R.render({"rbac": {"extraRules": [extra]}}), "ClusterRole")
        self.assertEqual(role["rules"][1:], [extra])
        self.assertEqual(role["rules"][0]["resources"], ["pods"])

    def test_binding_gives_the_role_to_the_pods_service_account(self):
        docs = R.render()
        pod, _ = agent_container(docs)
        sa = one(docs, "ServiceAccount")
        binding = one(docs, "ClusterRoleBinding")
        self.assertEqual(binding["roleRef"]["name"], one(docs, "ClusterRole")["metadata"]["name"])
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                                "namespace": NAMESPACE}])
        self.assertEqual(pod["serviceAccountName"], sa["metadata"]["name"])

    def test_secrets_get_a_role_in_their_own_namespace_only(self):
        docs = R.render({"rbac": {"secrets": [
            {"namespace": "monitoring", "name": "loki-auth"},
            {"namespace": "monitoring", "name": "loki-tls"},
            {"namespace": "team-a", "name": "loki-auth"}]}})
        roles = {r["metadata"]["namespace"]: r for r in find(docs, "Role")}
        self.assertEqual(sorted(roles), ["monitoring", "team-a"])
        self.assertEqual(roles["monitoring"]["rules"], [{
            "apiGroups": [""], "resources": ["secrets"],
            "resourceNames": ["loki-auth", "loki-tls"], "verbs": ["get"]}])
        self.assertEqual(roles["team-a"]["rules"][0]["resourceNames"], ["loki-auth"])
        sa = one(docs, "ServiceAccount")
        for b in find(docs, "RoleBinding"):
            self.assertEqual(b["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                            "name": roles[b["metadata"]["namespace"]]["metadata"]["name"]})
            self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                              "namespace": NAMESPACE}])
        self.assertEqual(len(find(docs, "RoleBinding")), 2)
        self.assertEqual(one(docs, "ClusterRole")["rules"][0]["resources"], ["pods"],
                         "no Secret access cluster-wide")
        self.assertFalse(find(R.render(), "Role"), "none unless asked for")

    def test_rbac_create_false_renders_no_rbac(self):
        docs = R.render(sets=["rbac.create=false"])
        self.assertFalse(find(docs, "ClusterRole") + find(docs, "ClusterRoleBinding"))


class OptionalObjects(unittest.TestCase):
    def test_monitoring_objects_are_off_by_default(self):
        docs = R.render()
        self.assertFalse(find(docs, "ServiceMonitor"))
        self.assertFalse(find(docs, "PrometheusRule"))
        self.assertFalse([d for d in find(docs, "ConfigMap")
                          if "grafana_dashboard" in d["metadata"].get("labels", {})])

    def test_each_appears_only_when_enabled(self):
        cases = {
            "serviceMonitor.enabled": "ServiceMonitor",
            "serviceMonitor.prometheusRule.enabled": "PrometheusRule",
        }
        for flag, kind in cases.items():
            with self.subTest(flag=flag):
                docs = R.render(sets=[f"{flag}=true"])
                self.assertEqual(len(find(docs, kind)), 1)
                for other in set(cases.values()) - {kind}:
                    self.assertFalse(find(docs, other))

    def test_service_monitor_scrapes_the_metrics_port(self):
        docs = R.render(sets=["serviceMonitor.enabled=true"])
        sm, svc = one(docs, "ServiceMonitor"), one(docs, "Service")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "http-metrics")
        self.assertEqual(sm["spec"]["endpoints"][0]["path"], "/metrics")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"][k], v)
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], "http-metrics")

    def test_prometheus_rule_alerts_on_ingestion_failures(self):
        docs = R.render(values={"serviceMonitor": {"prometheusRule": {
            "enabled": True, "defaultRules": {"runbookUrl": "https://runbooks.example/skidder"},
            "rules": [{"alert": "MyOwn", "expr": "vector(1)"}]}}})
        rules = one(docs, "PrometheusRule")["spec"]["groups"][0]["rules"]
        by_name = {r["alert"]: r for r in rules}
        expected = {
            "SkidderRequestErrors": "promtail_request_duration_seconds_count",
            "SkidderEntriesDropped": "promtail_dropped_entries_total",
            "SkidderStreamLagGrowing": "promtail_stream_lag_seconds",
            "SkidderUnackedBytesGrowing": "skidder_unacked_bytes",
            "SkidderBytesLostToRotation": "skidder_lost_bytes_total",
            "SkidderJournalEntriesLost": "skidder_journal_lost_entries_total",
            "SkidderKubernetesAccessDenied": "skidder_kubernetes_api_errors_total",
            "SkidderDown": "up{",
            "SkidderDaemonSetNotReady": "kube_daemonset_status_number_ready",
        }
        for alert, metric in expected.items():
            with self.subTest(alert=alert):
                self.assertIn(metric, by_name[alert]["expr"])
                ann = by_name[alert]["annotations"]
                self.assertTrue(ann["summary"] and ann["description"] and len(ann["runbook"]) > 80)
                self.assertTrue(ann["runbook_url"].startswith("https://runbooks.example/skidder#"))
        self.assertIn('status_code=~"5..|4..|0|-1", status_code!~"400|413|429"',
                      by_name["SkidderRequestErrors"]["expr"])
        self.assertIn('job="skidder-metrics"', by_name["SkidderDown"]["expr"])
        self.assertIn("MyOwn", by_name)

    def test_dashboard_config_map_for_the_grafana_sidecar(self):
        docs = R.render(sets=["dashboard.enabled=true"])
        cm = next(d for d in find(docs, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard"))
        self.assertEqual(cm["metadata"]["labels"]["grafana_dashboard"], "1")
        dash = json.loads(cm["data"]["skidder.json"])
        exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
        for metric in ("promtail_read_bytes_total", "promtail_sent_bytes_total",
                       "promtail_stream_lag_seconds", "promtail_request_duration_seconds_count",
                       "promtail_dropped_entries_total", "skidder_unacked_bytes",
                       "promtail_files_active_total", "skidder_lost_bytes_total",
                       "skidder_journal_entries_total", "skidder_journal_lost_entries_total",
                       "skidder_journal_lag_seconds"):
            self.assertIn(metric, exprs)


class AlertRules(unittest.TestCase):
    """The loss alerts evaluated by Prometheus's own promtool (Debian's prometheus package,
    installed by `make deps`) over scripted series: a string check cannot tell an alert that
    never fires from one that does."""

    SEL = 'namespace="logging", job="skidder-metrics"'

    @classmethod
    def setUpClass(cls):
        cls.promtool = shutil.which("promtool")
        if not cls.promtool:
            raise AssertionError("promtool not found: `make test-deps` installs Debian's prometheus")
        rule = one(R.render(sets=["serviceMonitor.prometheusRule.enabled=true"]),
                   "PrometheusRule")
        for group in rule["spec"]["groups"]:
            for r in group["rules"]:
                r.pop("annotations", None)  # the expressions are under test, not the texts
        cls.rules = {"groups": rule["spec"]["groups"]}

    def check(self, alert, series, evals):
        """series: {labels: promtool values}; evals: [(minute, [expected by-labels])]."""
        tests = [{
            "interval": "1m",
            "input_series": [{"series": f"{metric}{{{self.SEL}, {labels}}}", "values": v}
                             for (metric, labels), v in series.items()],
            "alert_rule_test": [{
                "eval_time": f"{minute}m", "alertname": alert,
                "exp_alerts": [{"exp_labels": dict(severity="warning", **labels)}
                               for labels in firing]} for minute, firing in evals],
        }]
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "rules.yaml").write_text(yaml.safe_dump(self.rules))
            Path(tmp, "test.yaml").write_text(yaml.safe_dump(
                {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests}))
            proc = subprocess.run([self.promtool, "test", "rules", "test.yaml"], cwd=tmp,
                                  capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_bytes_lost_to_rotation(self):
        m = "skidder_lost_bytes_total"
        a = dict(namespace="logging", instance="a", reason="rotated_away")
        b = dict(namespace="logging", instance="b", reason="rotated_away")
        c = dict(namespace="logging", instance="c", reason="held_budget")
        self.check("SkidderBytesLostToRotation", {
            # A pod that counted a loss at start, before its first scrape: born at 500.
            (m, 'instance="a", reason="rotated_away"'): "_x14 500x30",
            # A pod running for a while, then a loss.
            (m, 'instance="b", reason="rotated_away"'): "0x19 300x20",
            (m, 'instance="c", reason="held_budget"'): "0x40",  # never a loss
            # Old losses, and one scrape missed (a staleness marker) 10 minutes before an
            # evaluation: not new, nothing to say.
            (m, 'instance="d", reason="rotated_away"'): "300x20 stale 300x20",
        }, [(10, []), (16, [a]), (21, [a, b]), (31, []), (40, [])])

    def test_journal_entries_lost(self):
        m = "skidder_journal_lost_entries_total"
        a = dict(namespace="logging", instance="a", job_name="journal")
        self.check("SkidderJournalEntriesLost", {
            (m, 'instance="a", job_name="journal"'): "_x9 12x30",  # counted in Start()
            (m, 'instance="b", job_name="journal"'): "0x40",
        }, [(5, []), (11, [a]), (30, [])])

    def test_entries_dropped(self):
        m = "promtail_dropped_entries_total"
        a = dict(namespace="logging", instance="a", host="loki", reason="too_old")
        b = dict(namespace="logging", instance="b", host="loki", reason="too_old")
        self.check("SkidderEntriesDropped", {
            (m, 'instance="a", host="loki", reason="too_old"'): "_x4 7x30",
            (m, 'instance="b", host="loki", reason="too_old"'): "0x9 0 3x25",
        }, [(6, [a]), (12, [a, b]), (30, [])])


class Pod(unittest.TestCase):
    def test_node_name_comes_from_the_downward_api(self):
        _, c = agent_container(R.render())
        env = {e["name"]: e for e in c["env"]}
        for name in ("NODE_NAME", "HOSTNAME"):
            self.assertEqual(env[name]["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName")

    def test_probes_hit_ready_on_the_metrics_port(self):
        for prefix, path in (("", "/ready"), ("/agent", "/agent/ready")):
            with self.subTest(prefix=prefix):
                _, c = agent_container(R.render(values={"httpPathPrefix": prefix}))
                port = next(p for p in c["ports"] if p["name"] == "http-metrics")
                self.assertEqual(port["containerPort"], 9080)
                for probe in ("readinessProbe", "livenessProbe"):
                    self.assertEqual(c[probe]["httpGet"], {"path": path, "port": "http-metrics"})

    def test_config_change_rolls_the_pods(self):
        def checksum(**kw):
            docs = R.render(**kw)
            return one(docs, "DaemonSet")["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

        base = checksum()
        self.assertNotEqual(base, checksum(sets=["config.logLevel=debug"]))
        other_loki = {"config": {"clients": [{"url": "http://loki:3100/loki/api/v1/push"}]}}
        self.assertNotEqual(base, checksum(values=other_loki))
        self.assertEqual(base, checksum(sets=["podLabels.team=platform"]))
        docs = R.render()
        self.assertEqual(base, hashlib.sha256(rendered_config(docs).rstrip("\n").encode()).hexdigest())

    def test_rolling_update_never_runs_two_agents_on_a_node(self):
        ds = one(R.render(), "DaemonSet")
        self.assertEqual(ds["spec"]["updateStrategy"]["type"], "RollingUpdate")
        self.assertEqual(ds["spec"]["updateStrategy"]["rollingUpdate"]["maxSurge"], 0)

    def test_security_context_is_locked_down(self):
        pod, c = agent_container(R.render())
        self.assertEqual(pod["securityContext"]["runAsUser"], 0)
        sc = c["securityContext"]
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertNotIn("add", sc["capabilities"])
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertEqual(sc["seccompProfile"]["type"], "RuntimeDefault")
        self.assertEqual(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")

    def test_schedules_on_every_node_by_default(self):
        pod, _ = agent_container(R.render())
        self.assertIn({"operator": "Exists"}, pod["tolerations"])

    def test_resources_have_requests_and_a_memory_limit(self):
        _, c = agent_container(R.render())
        self.assertEqual(c["resources"]["requests"], {"cpu": "50m", "memory": "32Mi"})
        self.assertEqual(c["resources"]["limits"], {"memory": "128Mi"})

    def test_extra_args_env_and_priority_class(self):
        pod, c = agent_container(R.render(values={
            "extraArgs": ["-client.external-labels=cluster=prod"],
            "extraEnv": [{"name": "TENANT", "value": "team-a"}],
            "priorityClassName": "system-node-critical"}))
        self.assertEqual(c["args"], ["-config.file=/etc/skidder/skidder.yaml",
                                     "-client.external-labels=cluster=prod"])
        self.assertIn({"name": "TENANT", "value": "team-a"}, c["env"])
        self.assertEqual(pod["priorityClassName"], "system-node-critical")


def readme_https_values():
    """The values of the chart README's HTTPS example, so the example is what is tested."""
    text = (CHART / "README.md").read_text()
    section = text.split("## HTTPS for /metrics and /ready", 1)[1]
    return yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])


class Https(unittest.TestCase):
    def test_readme_example_serves_https_probes_and_scrapes_over_it(self):
        values = readme_https_values()
        self.assertEqual(validate(merged_values(values), load_schema()), [])
        for fmt in ("yaml", "alloy"):
            with self.subTest(format=fmt):
                docs = R.render(values=values, sets=[f"config.format={fmt}"])
                pod, c = agent_container(docs)
                self.assertIn("-server.http-tls-cert-path=/etc/skidder/tls/tls.crt", c["args"])
                self.assertIn("-server.http-tls-key-path=/etc/skidder/tls/tls.key", c["args"])
                mount = next(m for m in c["volumeMounts"] if m["name"] == "tls")
                self.assertEqual(mount["mountPath"], "/etc/skidder/tls")
                volume = next(v for v in pod["volumes"] if v["name"] == "tls")
                self.assertEqual(volume["secret"]["secretName"], "skidder-metrics-tls")
                for probe in ("readinessProbe", "livenessProbe"):
                    self.assertEqual(c[probe]["httpGet"]["scheme"], "HTTPS")
                proc = skidder_check_rendered(docs)
                if proc is not None:
                    self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        sm = one(R.render(values=values, sets=["serviceMonitor.enabled=true"]), "ServiceMonitor")
        self.assertEqual(sm["spec"]["endpoints"][0]["scheme"], "https")
        self.assertEqual(sm["spec"]["endpoints"][0]["tlsConfig"]["serverName"], "skidder")


class Config(unittest.TestCase):
    # A Promtail chart user's scrape config: a regex with backslashes in a double-quoted string,
    # which Promtail (no -config.expand-env in its chart) reads as written.
    PROMTAIL_REGEX_JOB = (
        "- job_name: app\n"
        "  pipeline_stages:\n"
        "    - regex:\n"
        "        expression: \"^(?P<ts>\\\\S+) (?P<level>\\\\w+)\"\n"
        "  static_configs:\n"
        "    - targets: [localhost]\n"
        "      labels: {job: app, __path__: /var/log/app/*.log}\n")

    def test_the_environment_is_expanded_only_when_asked(self):
        _, c = agent_container(R.render())
        self.assertNotIn("-config.expand-env=true", c["args"])
        _, c = agent_container(R.render(sets=["config.expandEnv=true"]))
        self.assertIn("-config.expand-env=true", c["args"])

    def test_a_promtail_regex_with_backslashes_means_what_it_meant(self):
        docs = R.render(values={"config": {"snippets": {"extraScrapeConfigs": self.PROMTAIL_REGEX_JOB}}})
        job = next(j for j in yaml.safe_load(rendered_config(docs))["scrape_configs"]
                   if j["job_name"] == "app")
        self.assertEqual(job["pipeline_stages"][0]["regex"]["expression"], r"^(?P<ts>\S+) (?P<level>\w+)")
        proc = skidder_check_rendered(docs)  # the agent, run with the chart's arguments, takes it
        if proc is not None:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_an_environment_reference_without_expansion_fails_the_render(self):
        clients = {"config": {"clients": [{"url": "http://${LOKI_HOST}/loki/api/v1/push"}]}}
        with self.assertRaisesRegex(RenderError, r"reference \$\{LOKI_HOST\}.*config.expandEnv"):
            R.render(values=clients)
        docs = R.render(values=clients, sets=["config.expandEnv=true"])
        self.assertIn("http://${LOKI_HOST}/", rendered_config(docs))
        # A relabel group (${1}, ${name}) and a literal $${...} are no environment references.
        R.render(values={"config": {"snippets": {"extraRelabelConfigs": [
            {"source_labels": ["__meta_kubernetes_pod_label_team"], "target_label": "team",
             "regex": "(?P<team>.+)", "replacement": "${1}-${team}-$${HOME}"}]}}})
        # In a replacement too, unless a regex of the config names such a group.
        with self.assertRaisesRegex(RenderError, r"reference \$\{NODE_NAME\}"):
            R.render(values={"config": {"snippets": {"extraRelabelConfigs": [
                {"target_label": "node", "replacement": "${NODE_NAME}"}]}}})
        # The Promtail chart's way: the flag in extraArgs.
        docs = R.render(values=dict(clients, extraArgs=["-config.expand-env=true"]))
        _, c = agent_container(docs)
        self.assertEqual(c["args"].count("-config.expand-env=true"), 1)
        job = next(j for j in yaml.safe_load(rendered_config(docs))["scrape_configs"] if "journal" in j)
        self.assertIn({"replacement": "${NODE_NAME}", "target_label": "node_name"},
                      job["relabel_configs"])

    def test_default_config_is_config_kubernetes_yaml(self):
        rendered = yaml.safe_load(rendered_config(R.render()))
        shipped = yaml.safe_load((REPO / "config" / "kubernetes.yaml").read_text())
        self.assertEqual(rendered, shipped)

    def test_default_config_builds_promtail_labels(self):
        config = yaml.safe_load(rendered_config(R.render()))
        self.assertEqual(config["clients"], [{"url": "http://loki-gateway/loki/api/v1/push"}])
        job = config["scrape_configs"][0]
        self.assertEqual(job["job_name"], "kubernetes-pods")
        self.assertEqual(job["pipeline_stages"], [{"cri": {}}])
        self.assertEqual(job["kubernetes_sd_configs"], [{"role": "pod"}])
        targets = [r["target_label"] for r in job["relabel_configs"]]
        for label in ("__tmp_controller_name", "app", "instance", "component", "node_name",
                      "namespace", "job", "pod", "container", "__path__"):
            self.assertIn(label, targets)
        self.assertEqual(targets.count("__path__"), 2)  # pod UID and static-pod config hash

    def test_promtail_values_file_carries_over(self):
        values = {
            "config": {
                "clients": [{"url": "http://loki-gateway/loki/api/v1/push",
                             "tenant_id": "{{ .Release.Name }}"}],
                "positions": {"filename": "/run/promtail/positions.yaml"},
                "snippets": {
                    "extraRelabelConfigs": [{"action": "labelmap",
                                             "regex": "__meta_kubernetes_pod_label_(.+)"}],
                    "extraScrapeConfigs": ("- job_name: varlog\n  static_configs:\n"
                                           "    - labels: {job: varlog, __path__: /var/log/*.log}\n"),
                },
            },
            "defaultVolumes": [{"name": "run", "hostPath": {"path": "/run/promtail"}},
                               {"name": "pods", "hostPath": {"path": "/var/log/pods"}}],
            "defaultVolumeMounts": [{"name": "run", "mountPath": "/run/promtail"},
                                    {"name": "pods", "mountPath": "/var/log/pods", "readOnly": True}],
        }
        self.assertEqual(validate(merged_values(values), load_schema()), [])
        config = yaml.safe_load(rendered_config(R.render(values)))
        self.assertEqual(config["clients"][0]["tenant_id"], "skidder")
        self.assertEqual([j["job_name"] for j in config["scrape_configs"]],
                         ["kubernetes-pods", "journal", "varlog"])
        self.assertEqual(config["scrape_configs"][0]["relabel_configs"][-1]["action"], "labelmap")
        self.assert_check_syntax(yaml.safe_dump(config))

    def test_rendered_config_passes_check_syntax(self):
        self.assert_check_syntax(rendered_config(R.render()))

    def assert_check_syntax(self, text):
        proc = skidder_check_syntax(text)
        if proc is None:
            self.skipTest("SKIDDER_BINARY not set")
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 and "not supported" in out:
            self.skipTest(f"expected failure: the binary does not support this config yet: {out.strip()}")
        self.assertEqual(proc.returncode, 0, out)


class ExtraPorts(unittest.TestCase):
    """The Promtail chart's extraPorts: a container port and a Service per push/syslog receiver."""

    SYSLOG_JOB = ("- job_name: syslog\n  syslog:\n    listen_address: 0.0.0.0:1514\n"
                  "    labels: {job: syslog}\n")

    def test_each_receiver_gets_a_container_port_and_a_service(self):
        values = {"extraPorts": {
            "syslog": {"name": "tcp-syslog", "containerPort": 1514, "labels": {"team": "infra"},
                       "annotations": {"lb": "internal"},
                       "service": {"type": "LoadBalancer", "port": 514,
                                   "loadBalancerSourceRanges": ["10.0.0.0/8"],
                                   "externalTrafficPolicy": "Local"}},
            "syslog-udp": {"containerPort": 1515, "protocol": "UDP"},
            "push": {"containerPort": 3500, "service": {"type": "NodePort", "nodePort": 30500}}}}
        self.assertEqual(validate(merged_values(values), load_schema()), [])
        docs = R.render(values)
        _, c = agent_container(docs)
        self.assertEqual(sorted((p["name"], p["containerPort"], p["protocol"]) for p in c["ports"]),
                         [("http-metrics", 9080, "TCP"), ("push", 3500, "TCP"),
                          ("syslog-udp", 1515, "UDP"), ("tcp-syslog", 1514, "TCP")])
        syslog = one(find(docs, "Service", "skidder-syslog"), "Service")
        self.assertEqual(syslog["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(syslog["metadata"]["labels"]["team"], "infra")
        self.assertEqual(syslog["metadata"]["annotations"], {"lb": "internal"})
        self.assertEqual(syslog["spec"]["type"], "LoadBalancer")
        self.assertEqual(syslog["spec"]["loadBalancerSourceRanges"], ["10.0.0.0/8"])
        self.assertEqual(syslog["spec"]["externalTrafficPolicy"], "Local")
        self.assertEqual(syslog["spec"]["ports"], [{"name": "tcp-syslog", "port": 514,
                                                    "targetPort": "tcp-syslog", "protocol": "TCP"}])
        pod_labels = one(docs, "DaemonSet")["spec"]["template"]["metadata"]["labels"]
        for k, v in syslog["spec"]["selector"].items():
            self.assertEqual(pod_labels[k], v)
        udp = one(find(docs, "Service", "skidder-syslog-udp"), "Service")
        self.assertEqual(udp["spec"]["type"], "ClusterIP")
        self.assertEqual(udp["spec"]["ports"][0]["protocol"], "UDP")
        self.assertEqual(udp["spec"]["ports"][0]["port"], 1515)
        push = one(find(docs, "Service", "skidder-push"), "Service")
        self.assertEqual(push["spec"]["ports"][0]["nodePort"], 30500)

    def test_no_extra_ports_no_extra_services(self):
        self.assertEqual([s["metadata"]["name"] for s in find(R.render(), "Service")],
                         ["skidder-metrics"])

    def test_ports_kubernetes_would_refuse_fail_the_render_naming_the_entry(self):
        cases = {
            "containerPort is required": {"syslog": {"name": "syslog"}},
            "longer than 15|not one Kubernetes accepts": {"syslog": {"name": "syslog-receiver-tcp",
                                                                     "containerPort": 1514}},
            "not one Kubernetes accepts": {"Syslog": {"containerPort": 1514}},
            "names the Service": {"sys_log": {"name": "syslog", "containerPort": 1514}},
            "metrics port": {"syslog": {"containerPort": 9080}},
            "must be TCP or UDP": {"syslog": {"containerPort": 1514, "protocol": "SCTP"}},
        }
        for want, ports in cases.items():
            with self.subTest(want=want):
                with self.assertRaises(RenderError) as e:
                    R.render({"extraPorts": ports})
                self.assertRegex(str(e.exception), want)
                self.assertIn("extraPorts." + next(iter(ports)), str(e.exception))

    def test_schema_refuses_a_port_that_is_not_a_number(self):
        errors = validate(merged_values({"extraPorts": {"syslog": {"containerPort": "1514"}}}),
                          load_schema())
        self.assertTrue(any("containerPort" in e for e in errors), errors)

    def test_ingress_routes_each_path_to_its_receivers_service_port(self):
        values = {"extraPorts": {"push": {"containerPort": 3500, "service": {"port": 80}},
                                 "syslog": {"containerPort": 1514}},
                  "ingress": {"enabled": True, "ingressClassName": "nginx",
                              "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "10m"},
                              "hosts": ["logs.example.com"],
                              "paths": {"push": ["/loki/api/v1/push", "/loki/api/v1/raw"]},
                              "tls": [{"secretName": "logs-tls", "hosts": ["logs.example.com"]}]}}
        self.assertEqual(validate(merged_values(values), load_schema()), [])
        ingress = one(R.render(values), "Ingress")
        self.assertEqual(ingress["metadata"]["namespace"], NAMESPACE)
        self.assertEqual(ingress["spec"]["ingressClassName"], "nginx")
        self.assertEqual(ingress["spec"]["tls"], [{"hosts": ["logs.example.com"],
                                                   "secretName": "logs-tls"}])
        rule = one([{"kind": "rule", **r} for r in ingress["spec"]["rules"]], "rule")
        self.assertEqual(rule["host"], "logs.example.com")
        self.assertEqual([(p["path"], p["pathType"], p["backend"]["service"]["name"],
                           p["backend"]["service"]["port"]["number"]) for p in rule["http"]["paths"]],
                         [("/loki/api/v1/push", "Prefix", "skidder-push", 80),
                          ("/loki/api/v1/raw", "Prefix", "skidder-push", 80)])
        # No hosts: one rule for any host, to the container port when the Service names none.
        values = {"extraPorts": {"push": {"containerPort": 3500}},
                  "ingress": {"enabled": True, "paths": {"push": ["/loki/api/v1/push"]}}}
        rules = one(R.render(values), "Ingress")["spec"]["rules"]
        self.assertEqual(len(rules), 1)
        self.assertNotIn("host", rules[0])
        self.assertEqual(rules[0]["http"]["paths"][0]["backend"]["service"]["port"]["number"], 3500)
        self.assertEqual(find(R.render(), "Ingress"), [])

    def test_ingress_paths_must_name_a_tcp_receiver(self):
        cases = {
            "needs ingress.paths": {"ingress": {"enabled": True}},
            "ingress.paths.push names no extraPorts entry": {
                "ingress": {"enabled": True, "paths": {"push": ["/loki/api/v1/push"]}}},
            "ingress.paths.syslog: extraPorts.syslog is UDP": {
                "extraPorts": {"syslog": {"containerPort": 1514, "protocol": "UDP"}},
                "ingress": {"enabled": True, "paths": {"syslog": ["/"]}}},
        }
        for want, values in cases.items():
            with self.subTest(want=want):
                with self.assertRaises(RenderError) as e:
                    R.render(values)
                self.assertIn(want, str(e.exception))

    def test_config_with_the_receiver_passes_check_syntax(self):
        values = {"config": {"snippets": {"extraScrapeConfigs": self.SYSLOG_JOB}},
                  "extraPorts": {"syslog": {"containerPort": 1514}}}
        proc = skidder_check_syntax(rendered_config(R.render(values)))
        if proc is None:
            self.skipTest("SKIDDER_BINARY not set")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class Journal(unittest.TestCase):
    def journal_job(self, docs):
        config = yaml.safe_load(rendered_config(docs))
        return next((j for j in config["scrape_configs"] if "journal" in j), None)

    def test_node_logs_are_shipped_by_default(self):
        job = self.journal_job(R.render())
        self.assertIsNotNone(job)
        self.assertEqual(job["journal"]["labels"], {"job": "systemd-journal"})
        rules = {r["target_label"]: r for r in job["relabel_configs"]}
        self.assertEqual(rules["unit"]["source_labels"], ["__journal__systemd_unit"])
        self.assertEqual(rules["level"]["source_labels"], ["__journal_priority_keyword"])
        self.assertEqual(rules["node_name"]["source_labels"], ["__journal__hostname"])
        # With the environment expanded, the node's name from the downward API instead.
        job = self.journal_job(R.render(sets=["config.expandEnv=true"]))
        rules = {r["target_label"]: r for r in job["relabel_configs"]}
        self.assertEqual(rules["node_name"]["replacement"], "${NODE_NAME}")

    def test_the_promtail_charts_journald_recipe_installs(self):
        # The Promtail chart README's "Journald Support": its own volumes, mounts and job.
        recipe = {
            "extraVolumes": [{"name": "journal", "hostPath": {"path": "/var/log/journal"}},
                             {"name": "machine-id", "hostPath": {"path": "/etc/machine-id"}}],
            "extraVolumeMounts": [
                {"name": "journal", "mountPath": "/var/log/journal", "readOnly": True},
                {"name": "machine-id", "mountPath": "/etc/machine-id", "readOnly": True}],
            "config": {"snippets": {"extraScrapeConfigs": (
                "- job_name: journal\n"
                "  journal:\n"
                "    path: /var/log/journal\n"
                "    max_age: 12h\n"
                "    labels:\n"
                "      job: systemd-journal\n"
                "  relabel_configs:\n"
                "    - source_labels: ['__journal__systemd_unit']\n"
                "      target_label: 'unit'\n")}}}
        docs = R.render(values=recipe)
        pod, c = agent_container(docs)
        names = [v["name"] for v in pod["volumes"]]
        paths = [m["mountPath"] for m in c["volumeMounts"]]
        self.assertEqual(len(names), len(set(names)), names)  # the API server refuses duplicates
        self.assertEqual(len(paths), len(set(paths)), paths)
        self.assertIn("/etc/machine-id", paths)
        self.assertIn("/run/log/journal", paths)  # the chart's, for volatile storage
        config = yaml.safe_load(rendered_config(docs))
        journal_jobs = [j["job_name"] for j in config["scrape_configs"] if "journal" in j]
        self.assertEqual(journal_jobs, ["journal"])  # the user's alone: shipped once
        self.assertEqual(next(j for j in config["scrape_configs"] if "journal" in j)
                         ["journal"]["path"], "/var/log/journal")
        proc = skidder_check_rendered(docs)
        if proc is not None:
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_a_journal_job_in_flow_style_is_the_users_too(self):
        docs = R.render(values={"config": {"snippets": {"extraScrapeConfigs": (
            "- job_name: node\n  journal: {max_age: 12h}\n")}}})
        config = yaml.safe_load(rendered_config(docs))
        self.assertEqual([j["job_name"] for j in config["scrape_configs"] if "journal" in j],
                         ["node"])
        docs = R.render(values={"config": {"snippets": {"extraScrapeConfigs": (
            "- {job_name: node, journal: {max_age: 12h}}\n")}}})
        config = yaml.safe_load(rendered_config(docs))
        self.assertEqual([j["job_name"] for j in config["scrape_configs"] if "journal" in j],
                         ["node"])

    def test_journal_directories_and_machine_id_are_mounted_read_only(self):
        pod, c = agent_container(R.render())
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        for path in ("/run/log/journal", "/etc/machine-id"):
            self.assertTrue(mounts[path]["readOnly"], path)
            self.assertEqual(volumes[mounts[path]["name"]]["hostPath"]["path"], path)
        # Persistent storage is read through the node's /var/log mount; a second mount at
        # /var/log/journal would shadow it for nothing.
        self.assertNotIn("/var/log/journal", mounts)
        self.assertEqual(volumes[mounts["/var/log"]["name"]]["hostPath"]["path"], "/var/log")

    def test_journal_enabled_false_removes_job_and_mounts(self):
        docs = R.render({"journal": {"enabled": False}})
        self.assertIsNone(self.journal_job(docs))
        _, c = agent_container(docs)
        paths = [m["mountPath"] for m in c["volumeMounts"]]
        self.assertNotIn("/run/log/journal", paths)
        self.assertNotIn("/etc/machine-id", paths)

    def test_mount_machine_id_false_keeps_the_journal_without_the_file(self):
        # For nodes without /etc/machine-id, where a hostPath of type File stops the pod: the
        # agent then reads every machine's journal and warns (sources/journal/local_journal.h).
        docs = R.render({"journal": {"mountMachineId": False}})
        self.assertIsNotNone(self.journal_job(docs))
        pod, c = agent_container(docs)
        paths = [m["mountPath"] for m in c["volumeMounts"]]
        self.assertIn("/run/log/journal", paths)
        self.assertNotIn("/etc/machine-id", paths)
        self.assertNotIn("machine-id", [v["name"] for v in pod["volumes"]])

    def test_max_age_and_extra_relabel_configs(self):
        job = self.journal_job(R.render({"journal": {
            "maxAge": "2h",
            "extraRelabelConfigs": [{"source_labels": ["__journal_syslog_identifier"],
                                     "target_label": "ident"}]}}))
        self.assertEqual(job["journal"]["max_age"], "2h")
        self.assertEqual(job["relabel_configs"][-1]["target_label"], "ident")


class Schema(unittest.TestCase):
    BAD = {
        "tolerations as a string": {"tolerations": "everything"},
        "serviceMonitor.enabled as a string": {"serviceMonitor": {"enabled": "yes"}},
        "port as a string": {"config": {"serverPort": "http"}},
        "port out of range": {"config": {"serverPort": 70000}},
        "extraArgs as a string": {"extraArgs": "-log.level=debug"},
        "extraEnv without name": {"extraEnv": [{"value": "x"}]},
        "unknown pullPolicy": {"image": {"pullPolicy": "Sometimes"}},
        "unknown log level": {"config": {"logLevel": "verbose"}},
        "no clients": {"config": {"clients": []}},
        "client without url": {"config": {"clients": [{"tenant_id": "a"}]}},
        "relative positions file": {"config": {"positions": {"filename": "positions.json"}}},
        "resources as a list": {"resources": ["100m"]},
        "mount without mountPath": {"extraVolumeMounts": [{"name": "x"}]},
        "rbac.create as a number": {"rbac": {"create": 1}},
        "nodeSelector value not a string": {"nodeSelector": {"pool": True}},
    }

    def test_validator_knows_every_keyword_the_schema_uses(self):
        self.assertLessEqual(schema_keywords(load_schema()), SUPPORTED_KEYWORDS)

    def test_default_values_are_valid(self):
        self.assertEqual(validate(merged_values(), load_schema()), [])

    def test_wrong_types_are_rejected(self):
        schema = load_schema()
        for name, override in self.BAD.items():
            with self.subTest(name):
                self.assertTrue(validate(merged_values(override), schema), f"{name} was accepted")
                if R.validates_schema:
                    with self.assertRaises(RenderError):
                        R.render(override)


# An image the user built and pushed (the docs' first install step).
OWN_IMAGE = {"image": {"registry": "registry.example.com", "repository": "logging/skidder"}}


class Notes(unittest.TestCase):
    def render_notes(self, values):
        return render_notes(R, values)

    def test_notes_say_where_logs_go(self):
        notes = self.render_notes(OWN_IMAGE)
        self.assertIn("http://loki-gateway/loki/api/v1/push", notes)
        self.assertIn("rollout status daemonset/skidder", notes)
        self.assertNotIn("WARNING", notes)

    def test_notes_warn_of_a_credential_in_a_config_map(self):
        with_password = dict(OWN_IMAGE, config={"clients": [
            {"url": "https://loki.example/loki/api/v1/push",
             "basic_auth": {"username": "u", "password": "s3cret"}}]})
        self.assertIn("holds a credential", self.render_notes(with_password))
        self.assertNotIn("holds a credential",
                         self.render_notes(dict(with_password, configmap={"enabled": False})))
        self.assertNotIn("holds a credential", self.render_notes(OWN_IMAGE))
        from_env = dict(OWN_IMAGE, extraArgs=["-config.expand-env=true"], config={"clients": [
            {"url": "https://loki.example/loki/api/v1/push",
             "basic_auth": {"username": "u", "password": "${LOKI_PASSWORD}"}}]})
        self.assertNotIn("holds a credential", self.render_notes(from_env))

    def test_notes_warn_while_the_image_is_the_unpublished_placeholder(self):
        for values in (None, {"image": {"tag": "0.2.0"}},
                       {"image": {"registry": "", "repository": "docker.io/skidder/skidder"}},
                       {"image": {"registry": "", "repository": "skidder/skidder"}}):
            with self.subTest(values=values):
                notes = self.render_notes(values)
                self.assertRegex(notes, r"WARNING: the image (docker.io/)?skidder/skidder:\S+ is the chart.s placeholder")
                self.assertIn("make image", notes)
                self.assertIn("skopeo copy oci-archive:build/skidder-image.tar", notes)
        for values in (OWN_IMAGE, {"image": {"registry": "", "repository": "skidder/skidder-x"}},
                       {"image": {"registry": "ghcr.io", "repository": "skidder/skidder"}}):
            with self.subTest(values=values):
                self.assertNotIn("placeholder", self.render_notes(values))

    def test_notes_name_ignored_promtail_values(self):
        notes = self.render_notes({**OWN_IMAGE, "deployment": {"enabled": True},
                                   "extraContainers": [{"name": "x", "image": "busybox"}],
                                   "sidecar": {"configReloader": {"enabled": True}},
                                   "rbac": {"pspEnabled": True}})
        self.assertIn("WARNING", notes)
        for key in ("deployment.enabled", "extraContainers", "sidecar.configReloader",
                    "rbac.pspEnabled"):
            self.assertIn(key, notes)

    def test_notes_say_where_receivers_listen(self):
        notes = self.render_notes({**OWN_IMAGE, "extraPorts": {
            "syslog": {"containerPort": 1514, "service": {"port": 514}}}})
        self.assertIn(f"Receiver syslog (TCP): skidder-syslog.{NAMESPACE}.svc:514, to the agents' port 1514",
                      notes)
        self.assertNotIn("WARNING", notes)


if __name__ == "__main__":
    unittest.main(verbosity=2)
