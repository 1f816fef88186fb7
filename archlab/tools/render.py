"""Render a tree to a standalone PyTorch source file (Jinja2 template).

The file pastes `runtime.py` and the source of any mined op, then constructs
the same `Call`s that `build` instantiates, one assignment per module, in the
same depth-first order: same parameter count and, for the same seed, the same
outputs. Flat assignments (not one nested expression) keep deep trees below
Python's parser nesting limit and make the file readable.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
import tempfile
import types
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from archlab.tools import runtime
from archlab.tools.canonical import arch_hash
from archlab.tools.compile import model_calls, used_mined
from archlab.tools.ir import Arch
from archlab.tools.ops.spec import Call


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("archlab.tools", "templates"),
        trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined, autoescape=False,
    )
    return env.get_template("model.py.j2")


@lru_cache(maxsize=1)
def _runtime_source() -> str:
    return Path(runtime.__file__).read_text()


class _Lines:
    """Collects `name = Ctor(...)` lines in construction order."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._used: set[str] = set()
        self._next: dict[str, int] = {}  # base name -> next suffix to try (keeps naming linear)

    def emit(self, call: Call) -> str:
        args = [self._value(a) for a in call.args]
        kwargs = [f"{k}={self._value(v)}" for k, v in call.kwargs.items()]
        target = call.target[len("mined."):] if call.target.startswith("mined.") else call.target
        name = self._name(call.label)
        self.lines.append(f"{name} = {target}({', '.join(args + kwargs)})")
        return name

    def _value(self, v: Any) -> str:
        if isinstance(v, Call):
            return self.emit(v)
        if isinstance(v, list):
            return "[" + ", ".join(self._value(x) for x in v) + "]"
        return repr(v)

    def _name(self, label: str) -> str:
        base = label.replace(".", "_") if label else "m"
        name = base if label else ""
        while not name or name in self._used:
            k = self._next.get(base, 1)
            self._next[base] = k + 1
            name = f"{base}_{k}"
        self._used.add(name)
        return name


def render(arch: Arch, input_shape: tuple[int, ...], num_classes: int, *, weights_file: str | None = None,
           about: list[str] | tuple[str, ...] = ()) -> str:
    """Source of a standalone file defining `build_model()` (raises ArchError if invalid).

    `about`: lines added to the file's docstring (what the model is, its metrics).
    `weights_file`: the name of a safetensors file of trained weights beside the file;
    `build_model(pretrained=True)` then loads it (an export; the default file, whose
    `build_model()` the coder reads, is unchanged)."""
    call, shapes = model_calls(arch, input_shape, num_classes)
    lines = _Lines()
    result = lines.emit(call)
    return _template().render(
        name=arch.name, hash=arch_hash(arch), input_shape=tuple(shapes.t_in.shape),
        num_classes=num_classes, runtime_source=_runtime_source(),
        mined=_distinct_sources([arch.mined[n] for n in used_mined(arch)]), lines=lines.lines, result=result,
        weights_file=weights_file, about=[_docstring_safe(line) for line in about],
    )


def _docstring_safe(line: str) -> str:
    """One line that cannot close the file's docstring or escape out of it."""
    return " ".join(str(line).replace('"', "'").replace("\\", "/").split())


def _distinct_sources(ops: list[Any]) -> list[Any]:
    """Ops mined from one file share its source: paste it once."""
    seen: set[str] = set()
    return [op for op in ops if not (op.source in seen or seen.add(op.source))]


def load_rendered(source: str, module_name: str = "archlab_rendered") -> types.ModuleType:
    """Import rendered source as a fresh module (for tests, export checks, the sandbox)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{module_name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    sys.modules.pop(module_name, None)
    return module


__all__ = ["render", "load_rendered", "importlib"]
