"""`elv publish`: the students' distribution holds the notebooks and elvkit and nothing of the instructor's
side; its leak check finds a reference body however it is renamed; `--check` shows what would change."""

import tomllib

import pytest
import yaml

from autograder.cli import main
from autograder.course import assignments
from autograder.course.publish import STUDENT_EXTRA, build, leaks


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("students") / "course"
    assert main(["publish", str(out)]) == 0
    return out


def test_the_distribution_holds_the_notebooks_and_the_library_only(published):
    tops = {p.name for p in published.iterdir()}
    assert tops == {"README.md", "pyproject.toml", "environment.yml", "elvkit", "assignments", "data", "docs",
                    ".gitignore"}
    for a in assignments():
        assert (published / "assignments" / a.id / f"{a.notebook}.ipynb").read_bytes() == a.release_notebook.read_bytes()
    files = [p.relative_to(published).as_posix() for p in published.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".nb.py", "spec.py")) or "mistakes" in f or "autograder" in f]
    assert leaks(build()) == []


def test_students_install_jupyter_with_pip_or_conda_alike(published):
    project = tomllib.loads((published / "pyproject.toml").read_text())
    assert project["project"]["optional-dependencies"]["student"] == STUDENT_EXTRA
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["elvkit*"]
    assert project["project"]["scripts"] == {"elv": "elvkit.validate:main"}, "the grader's command is not the students'"
    env = yaml.safe_load((published / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
    for dep in project["project"]["dependencies"] + STUDENT_EXTRA:
        name = dep.split(">")[0]
        expected = dep.replace("torch", "pytorch") if name == "torch" else dep
        assert expected in conda or dep in pip, f"environment.yml lacks {dep}"
    readme = (published / "README.md").read_text()
    assert "pip install -e '.[student]'" in readme and "jupyter lab" in readme
    for a in assignments():
        assert f"assignments/{a.id}/{a.notebook}.ipynb" in readme


def test_a_planted_solution_is_found_under_any_name(published):
    """A graded function's reference body, pasted into the library under another name and with its variables
    renamed, is found; so is a line of a hidden test; the publish refuses to write either."""
    import re

    from autograder.course import get_assignment
    from autograder.course.notebooks import read_source

    stereo = get_assignment("01_stereo")
    source = "\n".join(c.source for c in read_source(stereo.source).cells)
    body = re.search(r"^def census_cost\(.*?(?=^# %%|^def |\Z)", source, re.S | re.M).group(0)
    for marker in ("    ### BEGIN SOLUTION\n", "    ### END SOLUTION\n"):
        body = body.replace(marker, "")
    disguised = body.replace("def census_cost(left, right", "def helper_cost(a_img, b_img").replace(
        "left", "a_img").replace("right", "b_img")
    files = build()
    files["elvkit/helpers.py"] = ("import numpy as np\n\n" + disguised).encode()
    found = leaks(files)
    assert any("elvkit/helpers.py" in f and "helper_cost" in f and "census_cost" in f for f in found), found
    files = build()
    files["elvkit/notes.py"] = b'# check("01_stereo", "census_cost", census_cost)\nimport numpy\n'
    assert any("elvkit/notes.py" in f and "hidden test" in f for f in leaks(files))


def test_check_shows_what_a_publish_would_change(published, capsys):
    assert main(["publish", str(published), "--check"]) == 0
    readme = published / "README.md"
    readme.write_text(readme.read_text().replace("Submitting", "Submiting"))
    (published / "stray.txt").write_text("x")
    capsys.readouterr()
    assert main(["publish", str(published), "--check"]) == 1
    out = capsys.readouterr().out
    assert "changed: README.md" in out and "-## Submiting" in out and "+## Submitting" in out
    assert "removed: stray.txt" in out
    assert main(["publish", str(published)]) == 0 and not (published / "stray.txt").exists()
