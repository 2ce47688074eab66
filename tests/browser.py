"""The browser-test harness: Debian's Chromium, headless, driven by its WebDriver through Selenium (the student
distribution's JupyterLab, the lecture demos, the TAs' report pages). Chromium and chromium-driver are Debian
packages that `make test` installs as root; the tests that need them are skipped with the reason otherwise."""

import shutil
import time
import urllib.request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = ("Debian's chromium and chromium-driver are not installed (make test installs them as root: "
           "apt-get install chromium chromium-driver)")


def headless_chromium(width: int = 1400, height: int = 1050):
    """A headless Chromium whose console messages can be read (``driver.get_log("browser")``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def console_errors(driver) -> list[str]:
    """The console's errors since the last call (messages of level SEVERE: failed requests, exceptions)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def free_port() -> int:
    """A port nothing listens on (the system's choice)."""
    from autograder.lecture import free_port as any_free

    return any_free(0)


def wait_for_server(url: str, server, timeout: float = 120.0, name: str = "the server") -> None:
    """Wait until ``url`` answers 200, failing early when the server's process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"{name} exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{name} did not answer {url} within {timeout:.0f} s")


def start_lecture(args: list, log_path, env=None, cwd=None, timeout: float = 300.0):
    """Start ``elv lecture ARGS --no-browser`` with its output in ``log_path``; returns ``(server, base, token)``
    once it answers with the token it printed (``base``: ``http://127.0.0.1:PORT/``)."""
    import subprocess
    import sys

    from autograder.lecture import printed_url

    log = open(log_path, "w")
    server = subprocess.Popen([sys.executable, "-m", "autograder.cli", "lecture", "--no-browser", *args],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    log.close()
    deadline = time.monotonic() + timeout
    while (found := printed_url(open(log_path, encoding="utf-8", errors="replace").read())) is None:
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError(f"elv lecture printed no address: {open(log_path).read()[-2000:]}")
        time.sleep(0.2)
    base, token = found
    wait_for_server(f"{base}?token={token}", server, timeout=timeout, name="elv lecture")
    return server, base, token
