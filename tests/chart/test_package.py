#!/usr/bin/python3
"""Packaging test: build the .deb with CPack from a finished build directory, check its
contents and control data, and unpack it into a scratch root where the binary runs.

Needs SKIDDER_BUILD_DIR (the CMake build directory, with the skidder binary built).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

BUILD = Path(os.environ.get("SKIDDER_BUILD_DIR", ""))


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


class Deb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not (BUILD / "CPackConfig.cmake").exists():
            raise unittest.SkipTest("SKIDDER_BUILD_DIR with CPackConfig.cmake not given")
        if not (BUILD / "skidder").exists():
            raise unittest.SkipTest(f"{BUILD}/skidder is not built")
        cls.tmp = Path(tempfile.mkdtemp(prefix="skidder-deb-"))
        proc = run("cpack", "-G", "DEB", "-B", str(cls.tmp / "out"),
                   "--config", str(BUILD / "CPackConfig.cmake"), cwd=BUILD)
        if proc.returncode != 0:
            raise AssertionError(f"cpack failed:\n{proc.stdout}\n{proc.stderr}")
        debs = list((cls.tmp / "out").glob("*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name):
        return run("dpkg-deb", "-f", str(self.deb), name).stdout.strip()

    def test_package_is_named_skidder_with_the_project_version(self):
        self.assertEqual(self.field("Package"), "skidder")
        self.assertRegex(self.deb.name, r"^skidder_\d+\.\d+\.\d+_\w+\.deb$")
        self.assertTrue(self.field("Version"))

    def test_depends_are_computed_from_the_binary(self):
        depends = self.field("Depends")
        # snappy is always shared (Debian's static archive is slower, see CMakeLists.txt).
        for lib in ("libcurl4", "libssl3", "libsystemd0", "adduser", "libsnappy"):
            self.assertIn(lib, depends)
        # SKIDDER_STATIC_LIBS (the default) links these from their .a archives: the package
        # must not depend on them then, and must when they are shared.
        static = "SKIDDER_STATIC_LIBS:BOOL=ON" in (BUILD / "CMakeCache.txt").read_text()
        for lib in ("libyaml-cpp", "libre2", "libprotobuf", "libmaxminddb"):
            (self.assertNotIn if static else self.assertIn)(lib, depends)

    def test_contents(self):
        listing = run("dpkg-deb", "-c", str(self.deb)).stdout
        entries = {line.split()[-1]: line.split()[0] for line in listing.splitlines()}
        for path in ("./usr/bin/skidder", "./etc/skidder/config.yaml",
                     "./lib/systemd/system/skidder.service", "./var/lib/skidder/"):
            self.assertIn(path, entries)
        self.assertEqual(entries["./usr/bin/skidder"], "-rwxr-xr-x")
        # Credentials may go in it: not world-readable (postinst gives it to group skidder).
        self.assertEqual(entries["./etc/skidder/config.yaml"], "-rw-r-----")

    def test_config_is_a_conffile_and_scripts_are_executable(self):
        ctrl = self.tmp / "control"
        self.assertEqual(run("dpkg-deb", "-e", str(self.deb), str(ctrl)).returncode, 0)
        self.assertEqual((ctrl / "conffiles").read_text().split(), ["/etc/skidder/config.yaml"])
        for script in ("postinst", "prerm", "postrm"):
            path = ctrl / script
            self.assertTrue(os.access(path, os.X_OK), script)
            self.assertEqual(run("sh", "-n", str(path)).returncode, 0, script)

    def test_installs_into_a_scratch_root(self):
        root = self.tmp / "root"
        self.assertEqual(run("dpkg", "-x", str(self.deb), str(root)).returncode, 0)
        binary = root / "usr/bin/skidder"
        self.assertTrue(os.access(binary, os.X_OK))
        self.assertTrue((root / "var/lib/skidder").is_dir())
        version = run(str(binary), "-version")
        self.assertEqual(version.returncode, 0, version.stderr)
        shipped = (Path(__file__).resolve().parents[2] / "config" / "default.yaml").read_text()
        config = root / "etc/skidder/config.yaml"
        self.assertEqual(config.read_text(), shipped)
        check = run(str(binary), "-check-syntax", f"-config.file={config}", "-config.expand-env=true")
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_unit_runs_the_packaged_config_with_hardening(self):
        unit = (self.tmp / "unit.service")
        subprocess.run(["dpkg", "-x", str(self.deb), str(self.tmp / "u")], check=True)
        shutil.copy(self.tmp / "u/lib/systemd/system/skidder.service", unit)
        text = unit.read_text()
        for line in ("ExecStart=/usr/bin/skidder -config.file=/etc/skidder/config.yaml",
                     "ProtectSystem=strict", "ReadWritePaths=/var/lib/skidder",
                     "StateDirectory=skidder", "NoNewPrivileges=yes",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(line, text)
        if shutil.which("systemd-analyze"):
            out = run("systemd-analyze", "verify", str(unit))
            problems = [l for l in (out.stdout + out.stderr).splitlines()
                        if l.strip() and "is not executable" not in l]
            self.assertEqual(problems, [])


class DockerfileMatchesMakeImage(unittest.TestCase):
    """packaging/Dockerfile and `make image` (packaging/image/build.sh) build the same image:
    the same root filesystem script and the same entrypoint, command, user, port and volume."""

    REPO = Path(__file__).resolve().parents[2]

    @classmethod
    def setUpClass(cls):
        cls.dockerfile = (cls.REPO / "packaging" / "Dockerfile").read_text()
        build = (cls.REPO / "packaging" / "image" / "build.sh").read_text().replace("\\\n", " ")
        cls.flags = {}
        for flag, value in re.findall(r"--config\.(\w+) (\S+)", build):
            cls.flags.setdefault(flag, []).append(value)

    def instruction(self, name):
        found = re.findall(rf"^{name} (.*)$", self.dockerfile.split("FROM scratch")[1], re.M)
        self.assertEqual(len(found), 1, name)
        return found[0]

    def test_both_build_the_root_filesystem_with_rootfs_sh(self):
        self.assertIn("RUN /src/packaging/image/rootfs.sh /rootfs", self.dockerfile)
        self.assertIn("COPY packaging/runtime-packages.txt", self.dockerfile)
        self.assertIn("FROM scratch", self.dockerfile)
        self.assertIn("COPY --from=rootfs /rootfs/ /", self.dockerfile)

    def test_same_process_user_port_and_volume(self):
        self.assertEqual(json.loads(self.instruction("ENTRYPOINT")), self.flags["entrypoint"])
        self.assertEqual(json.loads(self.instruction("CMD")), self.flags["cmd"])
        self.assertEqual(self.instruction("USER"), self.flags["user"][0])
        self.assertEqual(self.instruction("EXPOSE") + "/tcp", self.flags["exposedports"][0])
        self.assertEqual(json.loads(self.instruction("VOLUME")), self.flags["volume"])
        self.assertEqual(self.instruction("ENV"), self.flags["env"][0])
        self.assertEqual(self.instruction("WORKDIR"), self.flags["workingdir"][0])


if __name__ == "__main__":
    unittest.main(verbosity=2)
