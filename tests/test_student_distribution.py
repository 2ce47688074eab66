"""The student distribution tried as a new student would: ``elv publish`` into a temporary folder, a fresh
virtual environment made from the published tree with the README's first command (pip, with the test
environment's constraints so that PyTorch stays the CPU build; ``tests/installs.py``), ``elv validate`` there with nothing of the
instructor's side installed, and the README's second command, ``jupyter lab assignments/``, driven by
headless Chromium through Selenium: the stereo notebook opens, its first cells run, and the visible test
under a function not yet written shows its teaching message. The screenshot is kept as a test artefact
(``test-artifacts/``, or ``$ELVKIT_TEST_ARTIFACTS``).

Chromium and its WebDriver are Debian's packages (``chromium``, ``chromium-driver``), which ``make test``
installs like the grader's other system packages; without them the browser test is skipped with the reason.
"""

import json
import os
import secrets
import subprocess
import time
import urllib.request
from pathlib import Path

import installs
import pytest
from browser import CHROMEDRIVER, CHROMIUM, MISSING, headless_chromium
from browser import free_port as _free_port
from browser import wait_for_server

from autograder.course import get_assignment, root
from autograder.course.classroom import reference_submission
from autograder.course.notebooks import write_notebook

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("ELVKIT_TEST_ARTIFACTS", root() / "test-artifacts"))


@pytest.fixture(scope="module")
def student():
    """The published tree and its fresh virtual environment: ``(tree, bin folder, environment)``, made in the
    background from the start of the session (``tests/installs.py``)."""
    return installs.student_tree()


def test_the_student_environment_has_jupyter_and_nothing_of_the_instructors_side(student):
    tree, bin_, env = student
    assert (bin_ / "jupyter-lab").is_file() and (bin_ / "elv").is_file()
    probe = subprocess.run([str(bin_ / "python"), "-c", "import autograder"], cwd=tree.parent, env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'autograder'" in probe.stderr
    listed = subprocess.run([str(bin_ / "elv"), "list"], cwd=tree, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "01_stereo" in listed.stdout and "02_optical_flow" in listed.stdout


def test_elv_validate_works_in_the_student_tree(student):
    """The blank release fails its visible tests with the teaching message, its hidden tests are listed; the
    reference solution, saved in the tree, is ready to submit."""
    tree, bin_, env = student
    blank = subprocess.run([str(bin_ / "elv"), "validate", "assignments/01_stereo/stereo.ipynb", "--json"],
                           cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert blank.returncode == 1, blank.stderr[-2000:]
    report = json.loads(blank.stdout)
    assert report["problems"] == [] and report["status"] == "graded"
    states = {gid: (state, message) for gid, _, state, message in report["tests"]}
    assert states["q1-depth-visible"][0] == "fail"
    assert "`disparity_to_depth` is not written yet" in states["q1-depth-visible"][1]
    assert states["q1-depth-hidden"][0] == "hidden"

    mine = tree / "my-work" / "stereo.ipynb"
    write_notebook(reference_submission(get_assignment("01_stereo")), mine)
    good = subprocess.run([str(bin_ / "elv"), "validate", str(mine)], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=600)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-2000:]
    assert "Ready to submit." in good.stdout and "FAIL" not in good.stdout


def _answer_dialogs(driver) -> None:
    """Answer a "Select Kernel" dialog as a student would, with its default (Python 3): JupyterLab asks when a
    cell is run before the notebook's kernel is up."""
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"):
        button.click()


def _kernel_idle(base: str, token: str) -> bool:
    """Whether the server runs a kernel for the stereo notebook and that kernel is idle (its sessions API)."""
    try:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as reply:
            sessions = json.loads(reply.read())
    except (OSError, ValueError):
        return False
    return any(s.get("path", "").endswith("stereo.ipynb") and (s.get("kernel") or {}).get("execution_state") == "idle"
               for s in sessions)


@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=MISSING)
def test_the_stereo_notebook_runs_in_jupyterlab_in_a_real_browser(student):
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    tree, bin_, env = student
    config = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    config.mkdir(parents=True, exist_ok=True)     # no news pop-up over the notebook
    (config / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tree.parent / "jupyter-lab.log", "w")
    # the README's second command, `jupyter lab assignments/`, headless and on a port of its own
    server = subprocess.Popen([str(bin_ / "jupyter"), "lab", "assignments/", "--no-browser", f"--port={port}",
                               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
                              + (["--allow-root"] if os.geteuid() == 0 else []),
                              cwd=tree, env=dict(env, ELVKIT_SMOKE="1"), stdout=log, stderr=subprocess.STDOUT)
    driver = None
    try:
        wait_for_server(f"http://127.0.0.1:{port}/api/status?token={token}", server, name="jupyter lab")
        driver = headless_chromium()
        wait = WebDriverWait(driver, 180)
        driver.get(f"http://127.0.0.1:{port}/lab/tree/01_stereo/stereo.ipynb?token={token}")
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")))
        base = f"http://127.0.0.1:{port}"
        wait.until(lambda d: _answer_dialogs(d) or _kernel_idle(base, token))
        # Run > Run All Cells: JupyterLab stops at the first cell that fails
        driver.find_element(By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Run']").click()
        wait.until(ec.element_to_be_clickable(
            (By.CSS_SELECTOR, "li.lm-Menu-item[data-command='runmenu:run-all']"))).click()
        failing = (By.XPATH, "//div[contains(@class,'jp-OutputArea-output') and contains(., 'is not written yet')]")
        error = wait.until(lambda d: _answer_dialogs(d) or ec.presence_of_element_located(failing)(d))
        text = error.text
        assert "NotImplementedError" in text and "`disparity_to_depth` is not written yet" in text, text
        prompts = [p.text for p in driver.find_elements(By.CSS_SELECTOR, ".jp-InputArea-prompt")]
        assert "[1]:" in prompts and "[2]:" in prompts, prompts
        outputs = " ".join(o.text for o in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))
        assert "Motorcycle" in outputs, "the cell that loads the Motorcycle pair printed nothing"
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", error)
        time.sleep(1.0)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "stereo-notebook.png"))
    except Exception:
        if driver is not None:          # what the browser showed when it went wrong, for whoever reads the failure
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / "stereo-notebook-failure.png"))
        log.flush()
        print("jupyter lab's log:\n" + (tree.parent / "jupyter-lab.log").read_text()[-4000:])
        raise
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
