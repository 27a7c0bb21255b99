"""Render afterboot's Allure results as an HTML report and screenshot a failed check's page.

1. Runs three checks (NOVA-005 failing with a concrete host and instance UUID, SVC-003
   passing, SVC-001 that could not run) in a temporary project with our plugins and
   ``--alluredir``.
2. Generates the HTML report with the Allure 2 command line (npm ``allure-commandline``,
   installed once into ``/tmp/afterboot-allure``, never into the repo; needs Java) and
   prints how long that took.
3. Serves the report on 127.0.0.1, opens the failed test's page in headless Chromium
   (driven over ``--remote-debugging-pipe``, so no debugging port; every request that is
   not 127.0.0.1, file: or inline is failed), expands the "Remediation" attachment and
   saves ``reports/allure-screenshot.png``.

Chromium: ``chromium`` on PATH, else a private root unpacked without installing anything::

    mkdir -p /tmp/afterboot-chromium && cd /tmp/afterboot-chromium
    apt-get download chromium chromium-common $(apt-get install -s --no-install-recommends \\
        chromium | awk '/^Inst/ {print $2}' | grep -v -e '^chromium' -e xdg-utils)
    for d in *.deb; do dpkg -x "$d" root; done

Usage: ``.venv/bin/python bench/allure_render.py [--keep]``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/afterboot-allure")
CHROMIUM_ROOT = Path("/tmp/afterboot-chromium/root")
SCREENSHOT = ROOT / "reports" / "allure-screenshot.png"
WINDOW = (1400, 1000)

UUID = "6f0c1d2e-1111-2222-3333-444455556666"

INVENTORY = """\
defaults:
  connection: local
hosts:
  db-01: {roles: [database]}
  cmp-01: {roles: [compute]}
"""

CHECKS = f'''
import pytest

from afterboot.errors import HostUnreachable


@pytest.mark.check("SVC-003", tier=4, roles=("compute",))
def test_compute_services(host):
    """libvirtd and nova-compute run."""


@pytest.mark.check("NOVA-005", tier=5, roles=("compute",))
def test_active_instances_running(host, findings):
    """Every instance nova records as active on the host is running on its hypervisor."""
    findings.add(
        "{UUID}", host=host.name, expected="running", actual="no domain",
        uuid="{UUID}", reboot="reboot --hard",
    )
    assert False, f"active in nova but no libvirt domain on {{host.name}}: {UUID}"


@pytest.mark.check("SVC-001", tier=10, roles=("database",))
def test_database_services(host):
    """mariadb and rabbitmq run."""
    raise HostUnreachable(host.name, "ssh: connect to host 192.0.2.10 port 22: No route to host")
'''

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def root_plugins() -> list[str]:
    namespace: dict[str, object] = {}
    exec((ROOT / "conftest.py").read_text(), namespace)
    plugins = namespace["pytest_plugins"]
    assert isinstance(plugins, list)
    return [str(p) for p in plugins]


def run_checks(project: Path) -> Path:
    """Write the project, run pytest with ``--alluredir``; return the results directory."""
    (project / "tests_cloud").mkdir(parents=True)
    (project / "tests_cloud" / "test_demo.py").write_text(CHECKS)
    (project / "inventory.yaml").write_text(INVENTORY)
    (project / "conftest.py").write_text(f"pytest_plugins = {root_plugins()!r}\n")
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:testinfra -p no:cacheprovider\n"
        "afterboot_check_paths = tests_cloud\nafterboot_inventory = inventory.yaml\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "AFTERBOOT_"))}
    env["PYTHONPATH"] = str(ROOT)
    results = project / "allure-results"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", f"--alluredir={results}", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    print(proc.stdout[-1500:])
    if proc.returncode != 1 or not list(results.glob("*-result.json")):
        sys.exit(f"pytest exited {proc.returncode}; expected 1 with results\n{proc.stderr}")
    return results


def allure_command() -> Path:
    """The Allure 2 command line, installed once from npm into CACHE."""
    binary = CACHE / "npm" / "node_modules" / ".bin" / "allure"
    if not binary.exists():
        if shutil.which("npm") is None:
            sys.exit("npm not found: install Node.js/npm (Allure comes from the npm registry)")
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(CACHE / "npm"),
                "--no-audit",
                "--no-fund",
                "allure-commandline",
            ],
            check=True,
        )
    if shutil.which("java") is None:
        sys.exit("java not found: allure-commandline runs on a JRE (8 or later)")
    return binary


def generate(results: Path, out: Path) -> float:
    """``allure generate``; returns the seconds it took."""
    allure = allure_command()
    # Without ALLURE_NO_ANALYTICS, allure 2 POSTs usage data to google-analytics.com while
    # generating and puts a Google Tag Manager <script> into index.html.
    env = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    started = time.perf_counter()
    subprocess.run(
        [str(allure), "generate", str(results), "-o", str(out), "--clean"],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - started


def failed_case(report: Path) -> dict[str, Any]:
    for path in (report / "data" / "test-cases").glob("*.json"):
        case: dict[str, Any] = json.loads(path.read_text())
        if case.get("status") == "failed":
            return case
    sys.exit("no failed test case in the generated report")


def chromium() -> tuple[list[str], dict[str, str]]:
    """The Chromium command and environment: system one, else the private root."""
    env = dict(os.environ)
    system = shutil.which("chromium") or shutil.which("chromium-browser")
    if system:
        return [system], env
    binary = CHROMIUM_ROOT / "usr" / "lib" / "chromium" / "chromium"
    if not binary.exists():
        sys.exit(
            "no Chromium: neither `chromium` on PATH nor a private root at "
            f"{CHROMIUM_ROOT}.\nUnpack one without installing (see this script's docstring):\n"
            "  mkdir -p /tmp/afterboot-chromium && cd /tmp/afterboot-chromium\n"
            "  apt-get download chromium chromium-common <missing deps from "
            "`apt-get install -s --no-install-recommends chromium | grep ^Inst`>\n"
            '  for d in *.deb; do dpkg -x "$d" root; done'
        )
    libs = sorted({str(p.parent) for p in CHROMIUM_ROOT.rglob("*.so*") if "gtk-3.0" not in p.parts})
    env["LD_LIBRARY_PATH"] = os.pathsep.join([*libs, env.get("LD_LIBRARY_PATH", "")]).rstrip(":")
    return [str(binary)], env


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[int]:
    """Serve ``directory`` on 127.0.0.1 (an ephemeral port), quietly."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


LOCAL = ("http://127.0.0.1:", "file:", "data:", "blob:", "about:")

TRAMPOLINE = (
    "import fcntl, os, sys\n"
    "a, b = int(sys.argv[1]), int(sys.argv[2])\n"
    "r, w = fcntl.fcntl(a, fcntl.F_DUPFD, 10), fcntl.fcntl(b, fcntl.F_DUPFD, 10)\n"
    "os.dup2(r, 3); os.dup2(w, 4)\n"
    "[os.close(fd) for fd in {r, w, a, b} - {3, 4}]\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class Browser:
    """Headless Chromium driven over the DevTools protocol on ``--remote-debugging-pipe``."""

    def __init__(self, command: list[str], env: dict[str, str], profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # The child reads commands on fd 3 and writes replies on fd 4; a tiny Python
        # trampoline moves the pipe ends there, leaving the parent's descriptors untouched.
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                TRAMPOLINE,
                str(to_child_r),
                str(from_child_w),
                *command,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            env=env,
            pass_fds=(to_child_r, from_child_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next = 0
        self._buffer = b""
        self._session = ""
        self.blocked: list[str] = []

    def _post(self, method: str, params: dict[str, Any]) -> int:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        return self._next

    def _event(self, message: dict[str, Any]) -> None:
        """Let the page load only loopback, file and inline URLs; fail everything else."""
        if message.get("method") != "Fetch.requestPaused":
            return
        params = message["params"]
        url = str(params["request"]["url"])
        if url.startswith(LOCAL):
            self._post("Fetch.continueRequest", {"requestId": params["requestId"]})
        else:
            self.blocked.append(url)
            self._post(
                "Fetch.failRequest",
                {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
            )

    def _send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        wanted = self._post(method, params or {})
        while True:
            reply = self._read()
            if "method" in reply:
                self._event(reply)
            elif reply.get("id") == wanted:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def attach(self) -> None:
        targets = self._send("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self._session = self._send("Target.attachToTarget", {"targetId": page, "flatten": True})[
            "sessionId"
        ]
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
        )
        self._send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})

    def evaluate(self, expression: str) -> Any:
        result = self._send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        return result.get("result", {}).get("value")

    def navigate(self, url: str) -> None:
        self._send("Page.navigate", {"url": url})

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"page never satisfied: {expression}")

    def screenshot(self, path: Path) -> None:
        data = self._send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self._send("Browser.close")
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


# Expand the step titled "Remediation" (the attachment) and scroll it into view.
EXPAND = """
(() => {
  const titles = [...document.querySelectorAll('[class*="step__title"], [class*="attachment"]')];
  const hit = titles.find(e => e.textContent.trim().startsWith('Remediation'));
  if (!hit) return false;
  hit.click();
  hit.scrollIntoView({block: 'start'});
  window.scrollBy(0, -120);
  return true;
})()
"""


def screenshot(report: Path, case: dict[str, Any], out: Path) -> str:
    command, env = chromium()
    profile = Path(tempfile.mkdtemp(prefix="ab-chromium-"))
    try:
        with serve(report) as port:
            url = f"http://127.0.0.1:{port}/index.html#testresult/{case['uid']}"
            browser = Browser(command, env, profile)
            try:
                browser.attach()
                browser.navigate(url)
                browser.wait_for("document.body.innerText.includes('Remediation')")
                browser.wait_for(EXPAND)
                browser.wait_for("document.body.innerText.includes('openstack server')")
                time.sleep(0.5)  # let the expansion finish painting
                out.parent.mkdir(parents=True, exist_ok=True)
                browser.screenshot(out)
                if browser.blocked:
                    print(f"blocked non-local requests: {browser.blocked}")
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ab-allure-"))
    try:
        results = run_checks(work / "project")
        report = work / "allure-report"
        seconds = generate(results, report)
        print(
            f"allure generate ({len(list(results.glob('*-result.json')))} results): {seconds:.2f} s"
        )
        case = failed_case(report)
        url = screenshot(report, case, SCREENSHOT)
        print(f"page: {url}")
        print(f"screenshot: {SCREENSHOT}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
