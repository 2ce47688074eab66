"""pyproject.toml is the pip truth; environment.yml must ask for the same packages and versions."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch", "psycopg2-binary": "psycopg2"}


def _pip_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("grader", "test"):
        reqs += project["optional-dependencies"][extra]
    return dict(_split(r) for r in reqs)


def _split(req):
    m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$", req)
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _conda_requirements():
    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                if not pip_dep.startswith("-"):
                    name, spec = _split(pip_dep)
                    out[name] = spec
        else:
            name, spec = _split(dep)
            out[name] = spec
    return out


@pytest.mark.parametrize("name, spec", sorted(_pip_requirements().items()))
def test_environment_yml_agrees_with_pyproject(name, spec):
    conda = _conda_requirements()
    key = CONDA_NAMES.get(name, name)
    assert key in conda, f"environment.yml lacks {key} (pyproject.toml: {name}{spec})"
    assert conda[key] == spec, f"{key}: environment.yml says {conda[key]!r}, pyproject.toml says {spec!r}"


def test_environment_yml_installs_the_project_and_python():
    text = (ROOT / "environment.yml").read_text()
    assert "--editable ." in text
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"python{requires}" in text.replace(" ", "")


def test_constraints_pin_the_cpu_torch_used_by_make():
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()
    assert '"torch>=2.3"' in (ROOT / "pyproject.toml").read_text()
