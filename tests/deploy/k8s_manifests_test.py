"""Structural checks of deploy/k8s/ and the Dockerfile against the run config they carry.

The manifests are parsed with PyYAML (Debian python3-yaml), the run config in the ConfigMap with
tomllib. Checked: the kinds present; every selector matches the labels of the pods it must select;
StatefulSets name a headless Service; ports agree with [cluster] controller_port and [metrics]
port_base (and CARAVAN_METRICS_PORT in the worker pods); probes hit /healthz and /readyz on the
metrics port; Prometheus annotations point there; replicas equal [rollout] actors and
[verifier] workers; every pod's grace period exceeds [supervision] sigterm_grace_s; every pod runs
the image the Dockerfile builds, with the shared run volume and the config mounted.
"""
import os
import pathlib
import re
import subprocess
import tempfile
import tomllib
import unittest

import yaml

SOURCE = pathlib.Path(os.environ.get("CARAVAN_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
K8S = SOURCE / "deploy" / "k8s"


def load_documents():
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path.name, document))
    return documents


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def env_of(container):
    return {item["name"]: item for item in container.get("env", [])}


def named_port(container, name):
    ports = {port["name"]: port["containerPort"] for port in container.get("ports", [])}
    return ports.get(name)


class K8sManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.documents = load_documents()
        cls.by_kind = {}
        for _, document in cls.documents:
            cls.by_kind.setdefault(document["kind"], []).append(document)
        config_map = cls.by_kind["ConfigMap"][0]
        cls.config = tomllib.loads(config_map["data"]["run.toml"])
        cls.start_script = config_map["data"]["start.sh"]
        cls.workloads = {
            document["metadata"]["name"]: document
            for kind in ("Deployment", "StatefulSet", "Job")
            for document in cls.by_kind.get(kind, [])
        }

    def test_every_document_has_a_known_kind_and_a_name(self):
        kinds = sorted(document["kind"] for _, document in self.documents)
        self.assertEqual(kinds, sorted(["ConfigMap", "PersistentVolumeClaim", "Deployment", "Service", "StatefulSet",
                                        "Service", "StatefulSet", "Service", "Job"]))
        for file, document in self.documents:
            self.assertIn("name", document["metadata"], file)
            self.assertIn("apiVersion", document, file)

    def test_roles_are_the_expected_workloads(self):
        self.assertEqual(self.workloads["caravan-controller"]["kind"], "Deployment")
        self.assertEqual(self.workloads["caravan-controller"]["spec"]["replicas"], 1)
        self.assertEqual(self.workloads["caravan-learner"]["kind"], "Job")
        self.assertEqual(self.workloads["caravan-rollout"]["kind"], "StatefulSet")
        self.assertEqual(self.workloads["caravan-verifier"]["kind"], "StatefulSet")

    def test_workload_selectors_match_their_pod_labels(self):
        for name, workload in self.workloads.items():
            if workload["kind"] == "Job":
                continue  # a Job's selector is generated from its template
            self.assertTrue(selects(workload["spec"]["selector"]["matchLabels"], pod_labels(workload)), name)

    def test_every_service_selects_exactly_one_workload(self):
        for service in self.by_kind["Service"]:
            selected = [name for name, workload in self.workloads.items()
                        if selects(service["spec"]["selector"], pod_labels(workload))]
            self.assertEqual(len(selected), 1, (service["metadata"]["name"], selected))
            workload = self.workloads[selected[0]]
            container = pod_spec(workload)["containers"][0]
            for port in service["spec"]["ports"]:
                target = port["targetPort"]
                number = named_port(container, target) if isinstance(target, str) else target
                self.assertEqual(number, port["port"], (service["metadata"]["name"], port))

    def test_statefulsets_are_governed_by_headless_services(self):
        services = {service["metadata"]["name"]: service for service in self.by_kind["Service"]}
        for name, workload in self.workloads.items():
            if workload["kind"] != "StatefulSet":
                continue
            service = services[workload["spec"]["serviceName"]]
            self.assertEqual(service["spec"].get("clusterIP"), "None", name)
            self.assertTrue(selects(service["spec"]["selector"], pod_labels(workload)), name)

    def test_replicas_match_the_run_config(self):
        self.assertEqual(self.workloads["caravan-rollout"]["spec"]["replicas"], self.config["rollout"]["actors"])
        self.assertEqual(self.workloads["caravan-verifier"]["spec"]["replicas"], self.config["verifier"]["workers"])

    def test_ports_match_the_run_config(self):
        metrics_port = self.config["metrics"]["port_base"]
        self.assertGreater(metrics_port, 0, "[metrics] port_base must be set: the probes need the endpoint")
        self.assertEqual(self.config["metrics"]["host"], "0.0.0.0")
        controller = pod_spec(self.workloads["caravan-controller"])["containers"][0]
        self.assertEqual(named_port(controller, "controller"), self.config["cluster"]["controller_port"])
        # The controller is process 0 of [metrics] port_base; each worker pod sets its own port.
        self.assertEqual(named_port(controller, "metrics"), metrics_port)
        self.assertNotIn("CARAVAN_METRICS_PORT", env_of(controller))
        for name in ("caravan-learner", "caravan-rollout", "caravan-verifier"):
            container = pod_spec(self.workloads[name])["containers"][0]
            env = env_of(container)
            self.assertEqual(int(env["CARAVAN_METRICS_PORT"]["value"]), named_port(container, "metrics"), name)
            self.assertEqual(env["CARAVAN_METRICS_HOST"]["value"], "0.0.0.0", name)

    def test_probes_and_scrape_annotations_use_the_metrics_port(self):
        for name, workload in self.workloads.items():
            container = pod_spec(workload)["containers"][0]
            metrics_port = named_port(container, "metrics")
            self.assertEqual(container["livenessProbe"]["httpGet"]["path"], "/healthz", name)
            self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz", name)
            for probe in ("livenessProbe", "readinessProbe"):
                port = container[probe]["httpGet"]["port"]
                self.assertEqual(named_port(container, port) if isinstance(port, str) else port, metrics_port, name)
            annotations = workload["spec"]["template"]["metadata"]["annotations"]
            self.assertEqual(annotations["prometheus.io/scrape"], "true", name)
            self.assertEqual(int(annotations["prometheus.io/port"]), metrics_port, name)
            self.assertEqual(annotations["prometheus.io/path"], "/metrics", name)

    def test_grace_periods_leave_room_for_the_sigterm_checkpoint(self):
        grace = self.config["supervision"]["sigterm_grace_s"]
        for name, workload in self.workloads.items():
            self.assertGreater(pod_spec(workload)["terminationGracePeriodSeconds"], grace, name)

    def test_pods_run_the_image_with_the_config_and_the_run_volume(self):
        claims = {claim["metadata"]["name"] for claim in self.by_kind["PersistentVolumeClaim"]}
        config_map = self.by_kind["ConfigMap"][0]["metadata"]["name"]
        for name, workload in self.workloads.items():
            spec = pod_spec(workload)
            container = spec["containers"][0]
            self.assertEqual(container["image"], "caravan:latest", name)
            self.assertEqual(container["command"][:2], ["/bin/sh", "/etc/caravan/start.sh"], name)
            role = container["command"][2]
            self.assertEqual(name, "caravan-" + role)
            self.assertEqual(env_of(container)["CARAVAN_HOST"]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP")
            volumes = {volume["name"]: volume for volume in spec["volumes"]}
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            self.assertEqual(volumes[mounts["/etc/caravan"]]["configMap"]["name"], config_map, name)
            self.assertIn(volumes[mounts["/runs"]]["persistentVolumeClaim"]["claimName"], claims, name)

    def test_start_script_runs_the_documented_commands(self):
        self.assertIn("caravan run /etc/caravan/run.toml --run-dir \"$run_dir\" --external-workers", self.start_script)
        self.assertIn("caravan run --resume \"$run_dir\" --external-workers", self.start_script)
        self.assertIn("caravan worker --role \"$role\" --rank \"$rank\" --config \"$run_dir/config.toml\"",
                      self.start_script)

    @unittest.skipUnless(os.environ.get("CARAVAN_BINARY"), "needs CARAVAN_BINARY (set by ctest)")
    def test_caravan_accepts_the_run_config(self):
        # `caravan worker` validates the whole config first, then refuses an unresolved one: that
        # refusal (and no config error) means Caravan reads run.toml as written.
        with tempfile.TemporaryDirectory() as directory:
            config = pathlib.Path(directory) / "run.toml"
            config.write_text(self.by_kind["ConfigMap"][0]["data"]["run.toml"])
            result = subprocess.run([os.environ["CARAVAN_BINARY"], "worker", "--role", "controller", "--config",
                                     str(config)], capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("not a resolved config", result.stderr)

    def test_dockerfile_builds_from_debian_12_packages(self):
        dockerfile = (SOURCE / "Dockerfile").read_text()
        self.assertRegex(dockerfile, re.compile(r"^FROM debian:(12|bookworm)\b", re.M))
        self.assertIn("scripts/setup.sh", dockerfile)
        self.assertIn("--target caravan", dockerfile)
        self.assertRegex(dockerfile, re.compile(r'^ENTRYPOINT \["caravan"\]', re.M))
        # Every download goes through apt (setup.sh): no curl, wget or pip in the image build.
        self.assertNotRegex(dockerfile, r"\b(curl|wget|pip3?|npm) ")


if __name__ == "__main__":
    unittest.main()
