#!/usr/bin/python3
"""Chart tests for the Alloy path: config.format alloy, and an Alloy chart values file
(alloy.configMap.content) used as it is.

Run directly (python3 tests/chart/test_chart_alloy.py) or through ctest (label chart). With
SKIDDER_BINARY set, the rendered config.alloy must pass `skidder -check-syntax` with the
DaemonSet's own arguments.
"""

import hashlib
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chart_support import (REPO, RenderError, Renderer, agent_container, find, load_schema,  # noqa: E402
                           merged_values, one, render_notes, rendered_config, skidder_check_rendered,
                           validate)

R = None

# What an Alloy chart user typically has in values.yaml: pod logs through the API, a tenant
# from the environment, an extra mount for a secret.
ALLOY_CHART_CONTENT = """\
discovery.kubernetes "pods" {
  role = "pod"
}

discovery.relabel "pods" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
}

loki.source.kubernetes "pods" {
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url       = "http://loki-gateway/loki/api/v1/push"
    tenant_id = sys.env("LOKI_TENANT")
  }
}
"""

ALLOY_CHART_VALUES = {
    "alloy": {
        "configMap": {"content": ALLOY_CHART_CONTENT},
        "extraEnv": [{"name": "LOKI_TENANT", "value": "team-a"}],
        "envFrom": [{"secretRef": {"name": "loki-credentials"}}],
        "mounts": {"extra": [{"name": "ca", "mountPath": "/etc/loki-ca", "readOnly": True}]},
    },
    "controller": {"volumes": {"extra": [{"name": "ca", "secret": {"secretName": "loki-ca"}}]}},
}


def setUpModule():
    global R
    R = Renderer()
    print(f"rendering with {R.name}", file=sys.stderr)


def mount_paths(docs):
    _, c = agent_container(docs)
    return [m["mountPath"] for m in c["volumeMounts"]]


class AlloyFormat(unittest.TestCase):
    def test_format_alloy_runs_the_alloy_form_of_the_default_config(self):
        docs = R.render(sets=["config.format=alloy"])
        config_map = one(docs, "ConfigMap")
        self.assertEqual(list(config_map["data"]), ["config.alloy"])
        shipped = (REPO / "config" / "kubernetes.alloy").read_text()
        self.assertEqual(rendered_config(docs, "config.alloy").strip(), shipped.strip())
        _, c = agent_container(docs)
        self.assertEqual(c["args"][0], "-config.file=/etc/skidder/config.alloy")
        self.assertNotIn("-config.expand-env=true", c["args"])  # Alloy reads sys.env itself

    def test_alloy_config_gets_the_same_loss_protection_as_the_yaml_one(self):
        _, c = agent_container(R.render(sets=["config.format=alloy"]))
        self.assertEqual(c["args"][1:], [
            "-positions.file=/var/lib/skidder/positions.json",
            "-positions.held-dir=/var/log/.skidder-held",
            "-positions.held-max-bytes=1GiB",
            "-target-config.symlink-roots=/var/log,/var/lib/docker/containers",
            "-server.http-listen-port=9080",
        ])

    def test_flags_follow_the_values(self):
        docs = R.render({"config": {"format": "alloy", "serverPort": 3101,
                                    "positions": {"filename": "/var/lib/skidder/p.json",
                                                  "held_dir": "off", "held_max_bytes": 4096},
                                    "targetConfig": {"symlink_roots": ["/var/log"]}},
                         "httpPathPrefix": "/skidder",
                         "extraArgs": ["-client.external-labels=cluster=prod"]})
        pod, c = agent_container(docs)
        for arg in ("-positions.file=/var/lib/skidder/p.json", "-positions.held-dir=off",
                    "-positions.held-max-bytes=4096", "-target-config.symlink-roots=/var/log",
                    "-server.http-listen-port=3101", "-server.path-prefix=/skidder",
                    "-client.external-labels=cluster=prod"):
            self.assertIn(arg, c["args"])
        self.assertEqual(c["ports"][0]["containerPort"], 3101)
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/skidder/ready")

    def test_pod_logs_positions_and_journal_are_mounted(self):
        paths = mount_paths(R.render(sets=["config.format=alloy"]))
        for path in ("/var/log", "/var/lib/docker/containers", "/var/lib/skidder",
                     "/run/log/journal", "/etc/machine-id", "/etc/skidder"):
            self.assertIn(path, paths)

    def test_journal_is_mounted_only_when_the_config_reads_it(self):
        no_journal = "loki.write \"default\" {\n  endpoint { url = \"http://loki/push\" }\n}\n"
        docs = R.render({"config": {"format": "alloy", "alloy": no_journal}})
        self.assertNotIn("/run/log/journal", mount_paths(docs))
        pod, _ = agent_container(docs)
        self.assertNotIn("machine-id", [v["name"] for v in pod["volumes"]])

    def test_alloy_config_goes_to_a_secret_when_configmap_is_disabled(self):
        docs = R.render(sets=["config.format=alloy", "configmap.enabled=false"])
        self.assertEqual(find(docs, "ConfigMap"), [])
        self.assertIn("loki.write", one(docs, "Secret")["stringData"]["config.alloy"])

    def test_alloy_config_change_rolls_the_pods(self):
        def checksum(docs):
            pod = one(docs, "DaemonSet")["spec"]["template"]
            return pod["metadata"]["annotations"]["checksum/config"]

        docs = R.render(sets=["config.format=alloy"])
        self.assertEqual(checksum(docs), hashlib.sha256(
            rendered_config(docs, "config.alloy").rstrip("\n").encode()).hexdigest())
        other = R.render({"config": {"format": "alloy", "alloy": "logging {}\n"}})
        self.assertNotEqual(checksum(docs), checksum(other))

    def test_notes_do_not_name_the_yaml_clients(self):
        notes = render_notes(R, sets=["config.format=alloy"])
        self.assertIn("loki.write", notes)
        self.assertNotIn("Pushing to:", notes)

    def test_format_must_be_yaml_or_alloy(self):
        self.assertNotEqual(validate(merged_values({"config": {"format": "river"}}),
                                     load_schema()), [])

    def test_rendered_config_passes_check_syntax_with_the_daemonsets_flags(self):
        self.assert_check_syntax(R.render(sets=["config.format=alloy"]))

    def assert_check_syntax(self, docs):
        proc = skidder_check_rendered(docs)
        if proc is None:
            self.skipTest("SKIDDER_BINARY not set")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


class AlloyChartValues(unittest.TestCase):
    def test_alloy_chart_values_are_valid(self):
        self.assertEqual(validate(merged_values(ALLOY_CHART_VALUES), load_schema()), [])

    def test_config_map_content_is_run_as_it_is(self):
        docs = R.render(ALLOY_CHART_VALUES)
        self.assertEqual(rendered_config(docs, "config.alloy").strip(),
                         ALLOY_CHART_CONTENT.strip())
        _, c = agent_container(docs)
        self.assertEqual(c["args"][0], "-config.file=/etc/skidder/config.alloy")
        self.assertIn("-positions.held-dir=/var/log/.skidder-held", c["args"])

    def test_env_mounts_and_volumes_carry_over(self):
        docs = R.render(ALLOY_CHART_VALUES)
        pod, c = agent_container(docs)
        self.assertIn({"name": "LOKI_TENANT", "value": "team-a"}, c["env"])
        self.assertIn({"secretRef": {"name": "loki-credentials"}}, c["envFrom"])
        self.assertIn("/etc/loki-ca", mount_paths(docs))
        self.assertIn({"name": "ca", "secret": {"secretName": "loki-ca"}}, pod["volumes"])
        self.assertNotIn("/run/log/journal", mount_paths(docs))  # no loki.source.journal

    def test_a_config_map_of_ones_own_is_mounted(self):
        # The Alloy chart's GitOps form: the config in a ConfigMap kept elsewhere.
        values = {"alloy": {"configMap": {"create": False, "name": "my-alloy", "key": "main.alloy"}}}
        self.assertEqual(validate(merged_values(values), load_schema()), [])
        docs = R.render(values)
        pod, c = agent_container(docs)
        vol = next(v for v in pod["volumes"] if v["name"] == "config")
        self.assertEqual(vol["configMap"], {"name": "my-alloy",
                                            "items": [{"key": "main.alloy", "path": "config.alloy"}]})
        self.assertEqual(c["args"][0], "-config.file=/etc/skidder/config.alloy")
        self.assertIn("-positions.held-dir=/var/log/.skidder-held", c["args"])
        # None of the chart's own: no ConfigMap or Secret holding a config, no checksum of one.
        self.assertFalse([d for d in find(docs, "ConfigMap") if "config.alloy" in d.get("data", {})])
        self.assertFalse(find(docs, "Secret"))
        # Its content is not the chart's: the checksum follows the ConfigMap named, not config.alloy.
        def checksum(v):
            ds = one(R.render(v), "DaemonSet")
            return ds["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        self.assertEqual(checksum(values), checksum(dict(values, config={"alloy": "// other"})))
        with self.assertRaisesRegex(RenderError, "alloy.configMap.name is required"):
            R.render({"alloy": {"configMap": {"create": False}}})
        # The positions the chart passes as flags are still checked.
        with self.assertRaisesRegex(RenderError, "not on a writable volume mount"):
            R.render(dict(values, config={"positions": {"filename": "/tmp/positions.json"}}))

    def test_content_wins_over_config_alloy(self):
        docs = R.render(dict(ALLOY_CHART_VALUES, config={"format": "yaml"}))
        self.assertIn("loki.source.kubernetes", rendered_config(docs, "config.alloy"))

    def test_rendered_config_passes_check_syntax_with_the_daemonsets_flags(self):
        proc = skidder_check_rendered(R.render(ALLOY_CHART_VALUES))
        if proc is None:
            self.skipTest("SKIDDER_BINARY not set")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


# Grafana's k8s-monitoring chart runs its cluster events feature in a one-replica Deployment
# (alloy-singleton); controller.type=deployment, Alloy's chart key, does the same here.
CLUSTER_EVENTS = """loki.source.kubernetes_events "cluster_events" {
  job_name   = "integrations/kubernetes/eventhandler"
  log_format = "logfmt"
  forward_to = [loki.write.default.receiver]
}
loki.write "default" {
  endpoint {
    url = "http://loki-gateway/loki/api/v1/push"
  }
}
"""
EVENTS_RULE = {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]}
CLUSTER_EVENTS_VALUES = {
    "controller": {"type": "deployment"},
    "alloy": {"configMap": {"content": CLUSTER_EVENTS}},
    "rbac": {"extraRules": [EVENTS_RULE]},
}


class ClusterEvents(unittest.TestCase):
    def test_one_replica_of_a_deployment_reads_the_events(self):
        docs = R.render(CLUSTER_EVENTS_VALUES)
        self.assertEqual(find(docs, "DaemonSet"), [])
        d = find(docs, "Deployment")[0]
        self.assertEqual(d["spec"]["replicas"], 1)
        # The old pod stops before the new one starts: two would send each event twice.
        self.assertEqual(d["spec"]["strategy"], {"type": "Recreate"})
        self.assertNotIn("updateStrategy", d["spec"])
        self.assertIn(EVENTS_RULE, find(docs, "ClusterRole")[0]["rules"])

    def test_a_deployment_never_shares_a_daemonsets_positions_file(self):
        _, c = agent_container(R.render(CLUSTER_EVENTS_VALUES))
        self.assertIn("-positions.file=/var/lib/skidder/skidder-positions.json", c["args"])
        _, c = agent_container(R.render(dict(CLUSTER_EVENTS_VALUES, config={
            "positions": {"filename": "/var/lib/skidder/events.json"}})))
        self.assertIn("-positions.file=/var/lib/skidder/events.json", c["args"])
        # The YAML form gets the flag too: its config names the shared default.
        _, c = agent_container(R.render(sets=["controller.type=deployment"]))
        self.assertIn("-positions.file=/var/lib/skidder/skidder-positions.json", c["args"])
        _, c = agent_container(R.render())
        self.assertFalse(any(a.startswith("-positions.file") for a in c["args"]))

    def test_a_deployment_holds_no_rotated_files(self):
        # At start an agent removes the held links its positions do not name: on the node it
        # lands on, those would be the DaemonSet agent's.
        for values in (CLUSTER_EVENTS_VALUES, {"controller": {"type": "deployment"}}):
            _, c = agent_container(R.render(values))
            self.assertIn("-positions.held-dir=off", c["args"])
        _, c = agent_container(R.render(sets=["config.format=alloy"]))
        self.assertIn("-positions.held-dir=/var/log/.skidder-held", c["args"])

    def test_notes_name_the_deployment_and_warn_of_what_would_be_sent_twice(self):
        notes = render_notes(R, CLUSTER_EVENTS_VALUES)
        self.assertIn("runs as Deployment skidder", notes)
        self.assertIn("rollout status deployment/skidder", notes)
        self.assertIn("/var/lib/skidder/skidder-positions.json", notes)
        self.assertNotIn("WARNING: controller.type", notes)
        self.assertNotIn("every node's agent", notes)
        # Events in the DaemonSet: every node would send every event.
        notes = render_notes(R, {"alloy": {"configMap": {"content": CLUSTER_EVENTS}}})
        self.assertIn("every node's agent of this DaemonSet will send", notes)
        # The default config (pod logs, the journal) in a deployment: read twice on its node.
        notes = render_notes(R, sets=["controller.type=deployment"])
        self.assertIn("WARNING: controller.type=deployment, but the config reads files", notes)
        # Docker containers are a node's too.
        docker = CLUSTER_EVENTS + """loki.source.docker "d" {
  host       = "unix:///var/run/docker.sock"
  targets    = []
  forward_to = [loki.write.default.receiver]
}
"""
        notes = render_notes(R, dict(CLUSTER_EVENTS_VALUES, alloy={"configMap": {"content": docker}}))
        self.assertIn("WARNING: controller.type=deployment, but the config reads files", notes)

    def test_a_deployment_alerts_on_its_replicas_not_on_a_daemonset(self):
        docs = R.render(dict(CLUSTER_EVENTS_VALUES, serviceMonitor={
            "enabled": True, "prometheusRule": {"enabled": True}}))
        rules = {r["alert"]: r for r in find(docs, "PrometheusRule")[0]["spec"]["groups"][0]["rules"]}
        self.assertNotIn("SkidderDaemonSetNotReady", rules)
        self.assertIn('kube_deployment_status_replicas_ready{namespace=',
                      rules["SkidderDeploymentNotReady"]["expr"])
        self.assertIn('deployment="skidder"', rules["SkidderDeploymentNotReady"]["expr"])
        # Its SkidderDown speaks of the Deployment and the events, not of a node's DaemonSet pod.
        down = rules["SkidderDown"]["annotations"]
        self.assertIn("for the Deployment", down["runbook"])
        self.assertIn("cluster events", down["description"])
        self.assertNotIn("DaemonSet", down["runbook"] + down["description"])

    def test_controller_type_is_daemonset_or_deployment(self):
        self.assertNotEqual(validate(merged_values({"controller": {"type": "statefulset"}}),
                                     load_schema()), [])
        self.assertEqual(validate(merged_values(CLUSTER_EVENTS_VALUES), load_schema()), [])

    def test_rendered_config_passes_check_syntax_with_the_deployments_flags(self):
        proc = skidder_check_rendered(R.render(CLUSTER_EVENTS_VALUES))
        if proc is None:
            self.skipTest("SKIDDER_BINARY not set")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
