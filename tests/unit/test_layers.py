"""The packages import only downward (README, "Layout"): a lower layer that imports a higher
one, or a package that imports a sibling of its own layer, fails here with the file and line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: package -> layer; a package may import its own package and any package of a lower layer
LAYERS = {"core": 0, "training": 1, "udf_server": 1, "infra": 1, "fraudctl": 2}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a project package in `path`, lazy ones
    inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names
                  if name.split(".")[0] in LAYERS]
    return found


def violations(package: str) -> list[str]:
    problems = []
    for path in sorted((REPO / package).rglob("*.py")):
        for line, imported in project_imports(path):
            if imported != package and LAYERS[imported] >= LAYERS[package]:
                problems.append(f"{path.relative_to(REPO)}:{line}: {package} (layer "
                                f"{LAYERS[package]}) imports {imported} (layer "
                                f"{LAYERS[imported]})")
    return problems


def test_every_package_imports_only_lower_layers():
    problems = [p for package in LAYERS for p in violations(package)]
    assert not problems, "\n".join(problems)


def test_the_check_sees_lazy_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from fraudctl.options import whole\n"
                      "    import core.errors\n")
    assert project_imports(module) == [(4, "fraudctl"), (5, "core")]


def test_every_project_package_has_a_layer():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages == set(LAYERS), "give a new package its layer here and in the README"


def test_the_sidecar_image_holds_every_package_the_sidecar_imports():
    copied = set(re.findall(r"^COPY (\w+) ", (REPO / "infra/Dockerfile.sidecar").read_text(),
                            re.M))
    needed = {"udf_server"} | {imported for path in (REPO / "udf_server").rglob("*.py")
                               for _line, imported in project_imports(path)}
    assert needed <= copied, f"the image lacks {sorted(needed - copied)}"
