"""A TA grades a written answer in nbgrader's formgrader, in a real browser (headless Chromium, the harness of
the student distribution's test), on a copy of the graded demo class; the next `elv grade` run counts it in
grades.csv, the feedback page and Gradescope's results, and still names the answers that wait."""

import contextlib
import csv
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from browser import CHROMEDRIVER, CHROMIUM, MISSING, headless_chromium
from browser import free_port as _free_port
from browser import wait_for_server as _wait_for_server
from test_student_distribution import ARTIFACTS

ASSIGNMENT = "02_optical_flow"


def _submissions(base: str, token: str, a) -> dict:
    url = f"{base}/formgrader/api/submitted_notebooks/{a.id}/{a.notebook}?token={token}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return {s["student"]: s for s in json.loads(reply.read())}


needs_chromium = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=MISSING)


@contextlib.contextmanager
def _formgrader(results: Path, tmp_path: Path, failure: str):
    """`elv formgrade RESULTS` and a headless Chromium: yields (the server, its first two printed lines, its base
    address, its token, the driver); on a failure saves a screenshot (``failure``) and prints the server's log;
    always stops both."""
    port = _free_port()
    log = open(tmp_path / "formgrade.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "elv"), "formgrade", str(results), "--no-browser",
                               "--port", str(port)], stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ))
    driver = None
    try:
        printed = (server.stdout.readline(), server.stdout.readline().strip())
        token = printed[1].rsplit("token=", 1)[-1]
        base = f"http://localhost:{port}"
        _wait_for_server(f"{base}/api/status?token={token}", server)
        driver = headless_chromium()
        yield server, printed, base, token, driver
    except Exception:
        if driver is not None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / failure))
        log.flush()
        print("formgrader's log:\n" + (tmp_path / "formgrade.log").read_text()[-4000:])
        raise
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@needs_chromium
def test_a_ta_grades_a_written_answer_in_formgrader_and_the_grades_include_it(tmp_path_factory, tmp_path):
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from autograder.cli import main
    from autograder.course.notebooks import manual_cells, read_source
    from autograder.outputs.formgrade import RUBRIC_MARK, login_url
    from conftest import graded_class

    batch = graded_class(ASSIGNMENT, tmp_path_factory)
    a = batch["assignment"]
    written = [gid for gid, _ in manual_cells(read_source(a.source))]
    results = tmp_path / "results"
    shutil.copytree(batch["out"], results)              # the shared batch stays as the other tests read it
    before = {r["student"]: r for r in csv.DictReader(open(results / "grades.csv", newline="", encoding="utf-8"))}
    assert before["reference"]["written_pending"].split() == written      # every answer waits for a TA
    assert before["blank"]["written_pending"] == "" and float(before["blank"]["written"]) == 0

    with _formgrader(results, tmp_path, "formgrade-failure.png") as (server, (first, address), base, token, driver):
        assert first.startswith(f"Formgrader for {a.id}:") and "/login?next=" in address, (first, address)
        listed = _submissions(base, token, a)
        assert {"reference", "blank"} <= set(listed)
        assert listed["reference"]["needs_manual_grade"] and not listed["blank"]["needs_manual_grade"]
        copy = results / "nbgrader" / "autograded" / "reference" / a.id / f"{a.notebook}.ipynb"
        assert sum(1 for c in json.loads(copy.read_text())["cells"] if c["metadata"].get(RUBRIC_MARK)) == len(written)
        wait = WebDriverWait(driver, 60)
        driver.get(login_url(base, token, f"/formgrader/gradebook/{a.id}/{a.notebook}"))     # the printed page
        wait.until(ec.presence_of_element_located((By.XPATH, "//td[contains(., 'Submission #')]")))
        ref = listed["reference"]
        driver.get(f"{base}/formgrader/submissions/{ref['id']}/?index={ref['index']}")
        gid = written[0]
        box = wait.until(ec.presence_of_element_located((By.ID, gid)))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        assert "Model answer" in driver.find_element(By.TAG_NAME, "body").text       # the rubric beside the answer
        box.clear()
        box.send_keys("1.5", Keys.TAB)
        comment = driver.find_element(By.ID, f"{gid}-comment")
        comment.clear()
        comment.send_keys("Both regimes explained; the window's cost is missing.", Keys.TAB)
        deadline = time.monotonic() + 30
        while _submissions(base, token, a)["reference"]["written_score"] != 1.5:
            assert time.monotonic() < deadline, "formgrader did not save the score"
            time.sleep(0.5)
        time.sleep(1.0)                                  # the comment's own request
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "formgrade.png"))

    # stopped by a kill rather than Ctrl-C, `elv formgrade` stops its Jupyter server too: the port is free again
    port = int(base.rsplit(":", 1)[1])
    deadline = time.monotonic() + 15
    while _listening(port):
        assert time.monotonic() < deadline, f"formgrader's server outlived `elv formgrade` (port {port} still open)"
        time.sleep(0.3)

    # the same `elv grade` again: nothing is graded anew, the TA's score and comment are counted
    assert main(["grade", a.id, str(batch["submissions"]), "--out", str(results), "--jobs", "2", "--no-progress",
                 "--gradescope"]) == 0
    rows = {r["student"]: r for r in csv.DictReader(open(results / "grades.csv", newline="", encoding="utf-8"))}
    ref = rows["reference"]
    assert float(ref["score"]) == pytest.approx(float(before["reference"]["score"]) + 1.5)
    assert float(ref["written"]) == 1.5 and ref["written_pending"].split() == written[1:]
    assert ref["sha256"] == before["reference"]["sha256"] and ref["seconds"] == before["reference"]["seconds"]
    page = (results / ref["feedback"]).read_text(encoding="utf-8")
    assert f"{gid}: 1.5 / 2 from a TA — Both regimes explained; the window&#x27;s cost is missing." in page
    assert f"{len(written) - 1} written answer(s) still to be graded by a TA" in page
    res = json.loads((results / "gradescope" / "reference" / "results.json").read_text())
    graded = next(t for t in res["tests"] if t["name"].endswith(gid))
    assert graded["score"] == 1.5 and "Both regimes explained" in graded["output"]
    assert res["score"] == pytest.approx(float(ref["score"]))
    waiting = [r for r in rows.values() if r.get("written_pending")]
    summary = (results / "summary.txt").read_text()
    assert (f"Written answers waiting for a TA: {sum(len(r['written_pending'].split()) for r in waiting)} answer(s) "
            f"of {len(waiting)} submission(s)") in summary


def _ran(driver) -> list:
    """The payloads that ran in the page (each one marks the page when it runs)."""
    marks = driver.execute_script("return window.__elvxss || []")
    return marks + (["title"] if "ELV-XSS" in driver.title else [])


@pytest.mark.slow
@needs_chromium
def test_nothing_a_student_wrote_runs_in_formgrader_or_the_feedback_page(tmp_path_factory, tmp_path):
    """Every payload of tests/xss_payloads.py planted in a graded notebook (a markdown cell the student added, a
    written answer, HTML/Markdown/SVG/LaTeX/picture outputs with their metadata, cell ids and tags, attachments,
    a raw cell, the notebook's title), as a TA meets it: in the feedback page opened from disk and in formgrader's
    signed-in page. Nothing runs, no kernel is started from the page, the text stays readable and the TA can
    still grade."""
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    import nbformat
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from autograder.course.notebooks import manual_cells, read_source
    from autograder.outputs.feedback import render_feedback
    from autograder.outputs.formgrade import login_url
    from conftest import graded_class
    from xss_payloads import poison

    batch = graded_class(ASSIGNMENT, tmp_path_factory)
    a = batch["assignment"]
    written = [gid for gid, _ in manual_cells(read_source(a.source))]
    results = tmp_path / "results"
    shutil.copytree(batch["out"], results)
    graded = results / "autograded" / "reference" / f"{a.notebook}.ipynb"
    poisoned = poison(nbformat.read(graded, as_version=4), written[0])
    nbformat.write(poisoned, graded)

    page = tmp_path / "feedback.html"
    page.write_text(render_feedback(poisoned, notebook=a.notebook, scores={}, max_scores={}, title="reference"),
                    encoding="utf-8")
    assert "Content-Security-Policy" in page.read_text()
    with _formgrader(results, tmp_path, "formgrade-xss-failure.png") as (server, _, base, token, driver):
        driver.get(page.as_uri())
        WebDriverWait(driver, 30).until(lambda d: "My written answer, with the reasons." in d.page_source)
        time.sleep(1.0)
        assert _ran(driver) == [], "a payload ran in the feedback page"
        assert "&lt;svg/onload=" in driver.page_source or "svg/onload" in driver.find_element(By.TAG_NAME, "body").text

        driver.get(login_url(base, token, f"/formgrader/gradebook/{a.id}/{a.notebook}"))
        WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.XPATH, "//td[contains(., 'Submission #')]")))
        ref = _submissions(base, token, a)["reference"]
        with urllib.request.urlopen(f"{base}/formgrader/submissions/{ref['id']}/?token={token}", timeout=30) as reply:
            policy = reply.headers.get("Content-Security-Policy", "")
        assert "script-src 'nonce-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        driver.get(f"{base}/formgrader/submissions/{ref['id']}/?index={ref['index']}")
        box = WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.ID, written[0])))
        for element in driver.find_elements(By.CSS_SELECTOR, "#notebook-container a, #notebook-container img"):
            driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))", element)
        time.sleep(1.5)
        assert _ran(driver) == [], "a payload ran in formgrader's signed-in page"
        assert "My written answer, with the reasons." in driver.find_element(By.TAG_NAME, "body").text
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as reply:
            assert json.loads(reply.read()) == [], "the page started a kernel"
        with pytest.raises(urllib.error.HTTPError, match="403"):   # nor can anyone: formgrader's server runs no code
            urllib.request.urlopen(urllib.request.Request(f"{base}/api/kernels?token={token}", data=b"{}",
                                                          method="POST"), timeout=30)
        box.clear()                                              # formgrader's own scripts still work
        box.send_keys("1")
        box.send_keys("\t")
        deadline = time.monotonic() + 30
        while _submissions(base, token, a)["reference"]["written_score"] != 1:
            assert time.monotonic() < deadline, "formgrader did not save the TA's score"
            time.sleep(0.5)


@needs_chromium
def test_the_submission_page_policy_runs_formgrader_s_scripts_and_nothing_else(tmp_path):
    """The policy alone, without the sanitiser: on a page laid out as formgrader's (scripts in its head and
    navigation bar, then the notebook), formgrader's scripts run and a script, an event handler or a
    javascript: link in the notebook does not."""
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    import asyncio
    import threading

    import tornado.web

    from autograder.outputs.formgrade_csp import SubmissionPagePolicy
    from xss_payloads import markup_payloads

    page = ("<html><head><script>window.own = 1;</script></head><body><nav><script>window.own += 1;</script></nav>"
            '<div class="panel"><div id="notebook"><div id="notebook-container">'
            + "".join(markup_payloads()) + "</div></div></div></body></html>")

    class Page(tornado.web.RequestHandler):
        def get(self, _):
            self.set_header("Content-Type", "text/html; charset=UTF-8")
            self.write(page)

    port = _free_port()
    ready, stop = threading.Event(), {}

    def serve():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = tornado.web.Application([(r"/formgrader/submissions/([^/]+)/", Page)], transforms=[SubmissionPagePolicy])
        app.listen(port, "127.0.0.1")
        stop["loop"] = loop
        ready.set()
        loop.run_forever()

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(10)
    driver = headless_chromium()
    try:
        driver.get(f"http://127.0.0.1:{port}/formgrader/submissions/abc/")
        time.sleep(1.5)
        assert driver.execute_script("return window.own") == 2, "formgrader's own scripts did not run"
        assert _ran(driver) == [], "a script of the notebook ran despite the policy"
    finally:
        driver.quit()
        stop["loop"].call_soon_threadsafe(stop["loop"].stop)
