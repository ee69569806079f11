"""The shape the code keeps (the design issue's acceptance, held by a test so that it stays): no function
over 80 lines, one output channel (no print outside the command line's and the kit runner's own
reporting), nothing cited from outside the repository, the search module's constructor small, and no
Lightning plumbing that imports a stage."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "hwnas"
STAGES = ("profile", "search", "derive", "select", "front", "retrain", "export")
# The command line reports to the user; the kit's runner is a program of its own, run on a phone.
PRINTS = {"cli.py", "profile/kit_runner.py", "measuring/timing.py"}


def modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(PACKAGE)), ast.parse(path.read_text())) for path in sorted(PACKAGE.rglob("*.py"))]


def test_no_function_is_over_80_lines():
    long = [f"{name}:{node.name} ({node.end_lineno - node.lineno + 1} lines)" for name, tree in modules()
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > 80]
    assert long == []


def test_the_library_logs_and_only_the_command_line_prints():
    printing = [f"{name}:{node.lineno}" for name, tree in modules() if name not in PRINTS for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "print"]
    assert printing == []


def test_the_code_cites_nothing_outside_the_repository():
    assert [name for name, _ in modules() if "DESIGN" in (PACKAGE / name).read_text()] == []


def test_the_search_module_takes_at_most_8_parameters():
    from hwnas.search.module import SearchModule

    assert len(inspect.signature(SearchModule.__init__).parameters) - 1 <= 8


def test_training_plumbing_imports_no_stage():
    imported = [(name, node.module) for name, tree in modules() if name.startswith("training/")
                for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    assert [(name, module) for name, module in imported if module.split(".")[1:2] and module.split(".")[1] in STAGES] == []
