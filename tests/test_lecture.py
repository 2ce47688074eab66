"""The instructors' lecture demos (``elv lecture``, ``elv slides``): every assignment has 3-5 demos drawn by its
reference solution; each answers its controls with a new picture; the slides are one self-contained file; and,
in headless Chromium, every topic's app loads with no console error and moving one control of each demo changes
its picture (screenshots before and after). The TAs' report and feedback pages are opened in the same browser.

The demos run in the smoke budget (``ELVKIT_SMOKE=1``) with their cache in a temporary folder.
"""

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import CHROMEDRIVER, CHROMIUM, MISSING, console_errors, free_port, headless_chromium, start_lecture

from autograder.course import assignments, root
from autograder.course.notebooks import read_source, solution_code

ARTIFACTS = Path(os.environ.get("ELVKIT_TEST_ARTIFACTS", root() / "test-artifacts"))
needs_chromium = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=MISSING)


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    """``autograder.lecture`` with the demos in the smoke budget and their cache in a fresh folder."""
    cache = tmp_path_factory.mktemp("lecture-cache")
    saved = {k: os.environ.get(k) for k in ("ELVKIT_SMOKE", "ELVKIT_LECTURE_CACHE")}
    os.environ.update(ELVKIT_SMOKE="1", ELVKIT_LECTURE_CACHE=str(cache))
    from autograder import lecture as module

    yield module
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _all_demos():
    from autograder.lecture import topics

    return [(t.assignment.id, i) for t in topics() for i in range(_count(t))]


def _count(topic):
    tree = ast.parse(topic.module_path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DEMOS" for t in node.targets):
            return len(node.value.elts)
    return 0


TAUGHT = ("01_stereo", "02_optical_flow", "03_self_supervised", "04_normalized_cuts", "05_slot_attention")


def test_every_assignment_has_lecture_demos(lecture):
    """Each assignment has its demos (`elv new` writes a first one); the topics taught so far have 3 to 5."""
    found = {t.assignment.id: t for t in lecture.topics()}
    missing = [a.id for a in assignments() if a.id not in found]
    assert not missing, f"assignments without lecture demos (solutions/<id>/lecture.py): {missing}"
    for t in found.values():
        demos = lecture.load_demos(t).DEMOS
        assert (3 if t.assignment.id in TAUGHT else 1) <= len(demos) <= 5, \
            f"{t.name} has {len(demos)} demos; a topic has 3 to 5 (one idea per view)"
        assert len({d.slug for d in demos}) == len(demos), f"{t.name}: two demos share a title"
        for d in demos:
            assert d.text.strip() and d.controls, d.title


@pytest.mark.parametrize("name, expected", [("stereo", "01_stereo"), ("flow", "02_optical_flow"),
                                            ("ssl", "03_self_supervised"), ("ncut", "04_normalized_cuts"),
                                            ("slots", "05_slot_attention"), ("02_optical_flow", "02_optical_flow"),
                                            ("Slot-Attention", "05_slot_attention")])
def test_topics_are_found_by_name_alias_or_id(lecture, name, expected):
    assert lecture.find_topic(name).assignment.id == expected


def test_an_unknown_topic_is_refused_with_the_list(lecture):
    with pytest.raises(KeyError) as err:
        lecture.find_topic("quantum")
    assert "'quantum' is not a topic" in str(err.value) and "stereo (01_stereo" in str(err.value)
    code = subprocess.run([sys.executable, "-m", "autograder.cli", "lecture", "quantum", "--no-browser"],
                          capture_output=True, text=True, timeout=120)
    assert code.returncode == 2 and "elv: 'quantum' is not a topic" in code.stderr, code.stderr


def test_the_demos_compute_with_the_reference_and_hold_no_solution():
    """One source of truth: each lecture module loads its assignment's reference and defines none of the graded
    functions itself; nothing of the lecture reaches the student release."""
    for a in assignments():
        path = a.solution_dir / "lecture.py"
        source = path.read_text(encoding="utf-8")
        assert f'load("{a.id}")' in source, f"{path} does not compute with the reference solution"
        graded = {n.name for n in ast.parse(solution_code(read_source(a.source))).body
                  if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        own = {n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        assert not graded & own, f"{path} defines its own {sorted(graded & own)}: use the reference's"
        assert not list(a.release_dir.rglob("lecture*")), f"a lecture file in {a.release_dir}"


@pytest.mark.parametrize("assignment_id, index", _all_demos())
def test_each_demo_answers_every_control_with_a_new_picture(lecture, assignment_id, index):
    demo = lecture.load_demos(assignment_id).DEMOS[index]
    png, caption = demo.render()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, demo.title
    assert len(caption) > 40, f"{demo.title}: the caption should say what the numbers in the picture are"
    for name, control in demo.controls.items():
        values = control.values()
        at = values.index(control.value)
        other = values[at + 1] if at + 1 < len(values) else values[at - 1]
        moved, _ = demo.render(**{name: other})
        assert moved != png, f"{demo.title}: moving {name} from {control.value} to {other} changed nothing"
    with pytest.raises(TypeError, match="has no control"):
        demo.render(nonsense=1)


def test_captions_claim_only_what_the_picture_shows(lecture):
    """A caption counts what the picture holds: the objects that won a slot of their own (not "each slot won an
    object" beside a negative FG-ARI), the MaskCut masks that kept a patch (not "3 masks" over one)."""
    import re

    import numpy as np

    won = lecture.load_demos("05_slot_attention")._objects_won
    truth = np.array([[0, 1, 1, 2], [0, 1, 2, 2], [3, 3, 0, 0]])
    assert won(truth, np.array([[0, 1, 1, 2], [0, 1, 2, 2], [3, 3, 0, 0]])) == (3, 3)
    assert won(truth, np.array([[0, 1, 1, 1], [0, 1, 1, 1], [2, 2, 0, 0]])) == (1, 3)      # 1 and 2 share a slot
    for masks in (1, 4):
        demo = lecture.load_demos("04_normalized_cuts").DEMOS[2]
        _, caption = demo.render(masks=masks)
        kept = int(re.search(r"\((\d+) of the (\d+) masks asked for kept a patch", caption).group(1))
        assert 1 <= kept <= masks, caption
    demo = lecture.load_demos("05_slot_attention").DEMOS[0]
    _, caption = demo.render()
    ari = float(re.search(r"FG-ARI (-?[0-9.]+)", caption).group(1))
    assert "won a slot" in caption and (ari > 0.5 or "each of them has won" not in caption), caption


def test_the_attention_and_maskcut_demos_show_dino_when_an_instructor_has_it(fake_dino, monkeypatch):
    """With DINO's published ViTs on the machine (checkpoints in DINO's layout made on the fly, their hashes
    committed in a registry), the attention demo shows ViT-S/16 and the MaskCut demo ViT-S/8 on the offline
    photographs, every control and a click answered; without them, the course's ViT on scenes (the other tests)."""
    import importlib.util

    from autograder.course import get_assignment

    monkeypatch.setenv("ELVKIT_REGISTRY", str(fake_dino / "registry.toml"))
    for assignment_id, index, model in (("03_self_supervised", 3, "DINO's ViT-S/16"),
                                        ("04_normalized_cuts", 2, "DINO's ViT-S/8")):
        path = get_assignment(assignment_id).solution_dir / "lecture.py"
        spec = importlib.util.spec_from_file_location(f"lecture_with_dino_{assignment_id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)                        # the model is chosen when the lecture loads
        demo = module.DEMOS[index]
        png, caption = demo.render()
        assert png[:4] == b"\x89PNG" and model in caption and "photograph" in caption, caption
        assert demo.controls["scene"].values()[-1] == 4                   # the five photographs
        for name, control in demo.controls.items():
            values = control.values()
            other = values[values.index(control.value) - 1]
            assert demo.render(**{name: other})[0] != png, f"{demo.title}: {name} changed nothing"
        if demo.click is not None:
            assert demo.click(100.0, 40.0) == {"row": 2.0, "col": 6.0}       # 16 x 16-pixel patches


def test_the_widget_redraws_when_a_control_moves(lecture):
    demo = lecture.load_demos("stereo").DEMOS[2]
    box = demo.widget()
    before = box.image.value
    box.controls["P2"].value = 150
    assert box.image.value != before and "bad-2.0" in box.caption.value


def test_a_click_on_the_picture_chooses_the_pixel(lecture):
    """The depth demo: a click on the left image at pixel (100, 200) sets the column and row sliders to it and
    draws the picture once; a click outside the image changes nothing."""
    demo = lecture.load_demos("stereo").DEMOS[0]
    _, _, pixels = demo._render({})
    px, py = pixels.to_pixels(100, 200)
    assert demo.click_values({}, px, py) == {"x": 100, "y": 200}
    assert demo.click_values({}, 2, 2) is None                  # the figure's margin
    box = demo.widget()
    before = box.image.value
    box.click({"type": "click", "dataX": px, "dataY": py})
    assert (box.controls["x"].value, box.controls["y"].value) == (100, 200) and box.image.value != before
    assert "(x, y) = (100, 200)" in box.caption.value
    box.click({"type": "click", "dataX": 2, "dataY": 2})
    assert (box.controls["x"].value, box.controls["y"].value) == (100, 200)
    vit = lecture.load_demos("ssl").DEMOS[3]                    # the query patch of the ViT's attention
    px, py = vit._render({})[2].to_pixels(43, 9)
    assert vit.click_values({}, px, py) == {"row": 1, "col": 5}


@pytest.mark.slow
def test_elv_slides_writes_one_self_contained_deck(lecture, tmp_path):
    out = tmp_path / "slots.html"
    env = dict(os.environ, ELVKIT_SMOKE="1")
    run = subprocess.run([sys.executable, "-m", "autograder.cli", "slides", "slots", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    html = out.read_text(encoding="utf-8")
    n = len(lecture.load_demos("slots").DEMOS)
    assert html.count("<section") >= n + 1
    assert html.count("data:image/png;base64") >= n
    for external in ('src="http', "src='http", 'href="http', "@import url(http"):
        assert external not in html, f"the deck fetches {external}...: it must open without a network"
    assert "Reveal.initialize" in html and "print(" not in html.split("<body")[1].split("<script")[0]
    if CHROMIUM and CHROMEDRIVER:
        driver = headless_chromium()
        try:
            driver.get(out.as_uri())
            time.sleep(1.0)
            assert driver.execute_script("return Reveal.getTotalSlides()") == n + 1
            driver.execute_script("Reveal.slide(1)")
            time.sleep(0.5)
            assert driver.execute_script("return document.querySelector('section.present img').naturalWidth") > 100
            assert console_errors(driver) == []
        finally:
            driver.quit()


def _move(driver, box):
    """Move the first control of a demo's box one step: a slider by the keyboard, a dropdown to its next
    option. Returns a description for the failure message."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    control = box.find_elements(By.CSS_SELECTOR, ".widget-hbox > .jupyter-widgets, .widget-hbox > .widget-inline-hbox")[0]
    selects = control.find_elements(By.TAG_NAME, "select")
    if selects:
        choice = Select(selects[0])
        index = [o.get_attribute("value") for o in choice.options].index(choice.first_selected_option.get_attribute("value"))
        choice.select_by_index((index + 1) % len(choice.options))
        return f"dropdown -> option {(index + 1) % len(choice.options)}"
    handle = control.find_element(By.CSS_SELECTOR, ".noUi-handle")
    now, top = float(handle.get_attribute("aria-valuenow")), float(handle.get_attribute("aria-valuemax"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
    handle.click()
    handle.send_keys(Keys.ARROW_LEFT if now >= top else Keys.ARROW_RIGHT)
    return f"slider from {now:g} {'down' if now >= top else 'up'} one step"


@pytest.mark.slow
def test_the_lecture_server_needs_its_token_checks_the_host_and_xsrf_and_caps_its_kernels(tmp_path):
    """`elv lecture` as another local account or a DNS-rebinding page would reach it: no page without the printed
    token, no page for a Host that is not this machine, no POST without the XSRF cookie's value, and at most
    --max-pages kernels alive; the page's own shutdown request (the XSRF cookie sent back) is honoured."""
    import http.cookiejar
    import re
    import urllib.error
    import urllib.parse
    import urllib.request

    env = dict(os.environ, ELVKIT_SMOKE="1")
    server, base, token = start_lecture(["optical_flow", "--port", str(free_port()), "--max-pages", "2"],
                                        tmp_path / "voila.log", env=env, cwd=tmp_path)

    def status(request, opener=None):
        try:
            with (opener.open if opener else urllib.request.urlopen)(request, timeout=300) as reply:
                return reply.status, reply.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        assert status(urllib.request.Request(base), urllib.request.build_opener(NoRedirect))[0] == 302   # to login
        assert status(urllib.request.Request(f"{base}?token=wrong" + "x" * 20),
                      urllib.request.build_opener(NoRedirect))[0] == 302
        rebound = urllib.request.Request(f"{base}?token={token}", headers={"Host": "attacker.example"})
        assert status(rebound)[0] == 403
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        code, page = status(urllib.request.Request(f"{base}?token={token}"), browser)
        assert code == 200
        cookies = {c.name: c.value for c in jar}
        assert "_xsrf" in cookies, "the signed-in page has no XSRF cookie: its shutdown request would be refused"
        kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page).group(1)
        # a POST with the login cookie but without the XSRF value (a cross-site form, a script): refused
        assert status(urllib.request.Request(f"{base}api/kernels", data=b"{}", method="POST"), browser)[0] == 403
        assert status(urllib.request.Request(f"{base}voila/api/shutdown/{kernel}", data=b"", method="POST"),
                      browser)[0] == 403
        # the page's own shutdown request, as Voila's front end sends it on closing
        shutdown = urllib.request.Request(f"{base}voila/api/shutdown/{kernel}", method="POST",
                                          data=urllib.parse.urlencode({"_xsrf": cookies["_xsrf"]}).encode())
        assert status(shutdown, browser)[0] == 204
        # two pages at once at most (the one the start-up check opened may still hold one): then refused, with a
        # message, while the pages are fresh
        codes = [status(urllib.request.Request(base), browser)[0] for _ in range(3)]
        assert codes[0] == 200 and codes[-1] == 503 and codes == sorted(codes), codes
        assert "at most 2 demo pages" in (tmp_path / "voila.log").read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
@needs_chromium
def test_every_topic_serves_in_a_real_browser_and_answers_its_controls(lecture, tmp_path):
    """`elv lecture` (every topic) in headless Chromium: each topic's page loads with no console error, and moving
    the first control of each demo changes its picture."""
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    env = dict(os.environ, ELVKIT_SMOKE="1")
    server, base, token = start_lecture(["--port", str(free_port())], tmp_path / "voila.log", env=env, cwd=tmp_path)
    driver = None
    try:
        driver = headless_chromium(1400, 1000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for k, topic in enumerate(lecture.topics()):
            n = len(lecture.load_demos(topic).DEMOS)
            # the first page with the token elv printed: the browser signs in, the later pages need no token
            driver.get(f"{base}voila/render/{topic.name}.ipynb" + ("" if k else f"?token={token}"))
            WebDriverWait(driver, 300).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".elv-demo img")) == n)
            time.sleep(0.5)
            assert console_errors(driver) == [], f"{topic.name}: the console has errors"
            boxes = driver.find_elements(By.CSS_SELECTOR, ".elv-demo")
            for i, box in enumerate(boxes):
                image = box.find_element(By.TAG_NAME, "img")
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", image)
                before = image.screenshot_as_png
                if topic.name == "stereo" and i == 2:
                    driver.save_screenshot(str(ARTIFACTS / "lecture-stereo.png"))
                how = _move(driver, box)
                WebDriverWait(driver, 60).until(lambda d: box.find_element(By.TAG_NAME, "img").screenshot_as_png != before,
                                                message=f"{topic.name}, demo {i + 1}: {how} did not change the picture")
                clickable = lecture.load_demos(topic).DEMOS[i].click is not None
                assert bool(box.find_elements(By.CSS_SELECTOR, "img.elv-clickable")) == clickable, \
                    f"{topic.name}, demo {i + 1}: the picture should {'' if clickable else 'not '}listen to clicks"
                if clickable:                                                      # a click in the picture, too
                    time.sleep(0.3)
                    image = box.find_element(By.TAG_NAME, "img")
                    before = image.screenshot_as_png
                    ActionChains(driver).move_to_element_with_offset(image, -image.size["width"] // 3,
                                                                     -image.size["height"] // 5).click().perform()
                    WebDriverWait(driver, 60).until(
                        lambda d: box.find_element(By.TAG_NAME, "img").screenshot_as_png != before,
                        message=f"{topic.name}, demo {i + 1}: a click in the picture did not change it")
            assert console_errors(driver) == [], f"{topic.name}: moving the controls logged errors"
    except Exception:
        if driver is not None:
            driver.save_screenshot(str(ARTIFACTS / "lecture-failure.png"))
        print("elv lecture's log:\n" + (tmp_path / "voila.log").read_text()[-6000:])
        raise
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.mark.slow
@needs_chromium
def test_the_report_and_a_feedback_page_render_with_their_images(tmp_path_factory):
    """A graded class's report.html and a feedback page, opened from disk as a TA would: every image loads and the
    console stays clean."""
    from conftest import graded_class

    batch = graded_class("05_slot_attention", tmp_path_factory)
    out = batch["out"]
    pages = [out / "report.html", out / "feedback" / "reference.html"]
    driver = headless_chromium()
    try:
        for page in pages:
            assert page.is_file(), page
            driver.get(page.as_uri())
            time.sleep(1.0)
            images = driver.execute_script(
                "return Array.from(document.images).map(i => [i.complete && i.naturalWidth > 0, i.src.slice(0, 60)])")
            assert images, f"{page.name} has no image"
            broken = [src for ok, src in images if not ok]
            assert not broken, f"{page.name}: images that did not load: {broken}"
            # the feedback template takes MathJax from its CDN (offline, as here, the equations stay in TeX)
            errors = [e for e in console_errors(driver) if "mathjax" not in e.lower()]
            assert errors == [], f"{page.name}: the console has errors"
    finally:
        driver.quit()


_CAPTIONS = """
import json, os, sys
from autograder.lecture import load_demos, topics
out = {}
for t in topics():
    for i, demo in enumerate(load_demos(t).DEMOS):
        out[f"{t.name} {i}"] = demo.render()[1]
json.dump(out, sys.stdout)
"""


@pytest.mark.gpu
@pytest.mark.slow
def test_the_demos_draw_the_same_numbers_on_the_gpu(tmp_path):
    """Every demo drawn with ELVKIT_DEVICE=cuda (as `elv lecture --device cuda` runs it) says what it says on the
    CPU: the numbers of each caption agree within the rounding of the caption, or 2 %. The SimCLR model the
    self-supervised demos train on the device is only required to be drawn (its training's numbers differ between
    devices as any training's do)."""
    import json
    import re

    captions = {}
    for device in ("cpu", "cuda"):
        env = dict(os.environ, ELVKIT_SMOKE="1", ELVKIT_DEVICE=device, ELVKIT_LECTURE_CACHE=str(tmp_path / device))
        run = subprocess.run([sys.executable, "-c", _CAPTIONS], capture_output=True, text=True, env=env, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
        captions[device] = json.loads(run.stdout)
    number = re.compile(r"[-+]?\d+(?:\.\d+)?")
    trained = {"self_supervised 1", "self_supervised 2"}
    assert set(captions["cpu"]) == set(captions["cuda"])
    for key, cpu in captions["cpu"].items():
        if key in trained:
            continue
        a, b = number.findall(cpu), number.findall(captions["cuda"][key])
        assert len(a) == len(b), f"{key}: {cpu!r} vs {captions['cuda'][key]!r}"
        for x, y in zip(a, b):
            step = 10.0 ** -len(x.split(".")[1]) if "." in x else 1.0
            assert abs(float(x) - float(y)) <= max(step, 0.02 * abs(float(x))), f"{key}: {x} vs {y} in {cpu!r}"


def test_a_locked_cell_runs_over_the_reference():
    """The notebook's evaluation-part functions (stereo's edge-aware SGM) come from their one copy in the notebook,
    running over the reference's sgm_step; an unknown cell is refused by name."""
    import numpy as np

    from autograder.integrity.reference import load, locked_cell

    ns = locked_cell("01_stereo", "q6-edge-aware-sgm", P1=20)
    assert ns["sgm_step"] is load("01_stereo").sgm_step
    cost = np.random.default_rng(0).integers(0, 24, size=(8, 12, 16))
    S = ns["edge_aware_sgm"](cost, np.zeros((12, 16), np.float32), 20, 20, 0.1)
    fixed = np.asarray(load("01_stereo").aggregate_sgm(cost.astype(np.int16), 20, 20, 4))
    np.testing.assert_array_equal(S, fixed)      # on a flat image with P2 = P1 it is the reference's 4-path SGM
    with pytest.raises(KeyError, match="no cell with grade id 'q9-nothing'"):
        locked_cell("01_stereo", "q9-nothing")
