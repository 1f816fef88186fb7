"""Jinja2 environment, number formats, images and atomic writes shared by the reports.

Markdown links its images as PNG files next to it; HTML inlines the same bytes as
base64 data URIs, so report.html is one self-contained file that opens from disk.
"""

from __future__ import annotations

import base64
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

CODE_STYLE = "friendly"


class Image(BaseModel):
    """A figure written once to disk (for Markdown) and inlined (for HTML)."""

    relpath: str  # from the report's folder, with forward slashes
    png: bytes
    alt: str

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_image(folder: Path, files_dir: str, name: str, png: bytes | None, alt: str) -> Image | None:
    """Store a figure under `folder/files_dir/name` and describe it for the templates."""
    if png is None:
        return None
    atomic_write(folder / files_dir / name, png)
    return Image(relpath=f"{files_dir}/{name}", png=png, alt=alt)


def pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def spread(value: float | None) -> str:
    """A standard deviation of accuracies in points: "± 0.41"; empty when there is none (one run)."""
    return "" if value is None else f"± {value * 100:.2f}"


def signed_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pp"


def count(value: int | float | None) -> str:
    """12,345 → "12,345"; FLOPs and params in full so a reader can compare digits."""
    return "–" if value is None else f"{int(value):,}"


def short_count(value: int | float | None) -> str:
    """1_234_567 → "1.23M": for tight table columns."""
    if value is None:
        return "–"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return str(int(value))


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ms"


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def usd(value: float | None) -> str:
    return "–" if value is None else f"${value:.4f}"


def md_cell(value: Any) -> str:
    """Make text safe inside a Markdown table cell (no pipes, no line breaks)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def python_html(code: str) -> Markup:
    """Syntax-highlighted Python as HTML (classes styled by `code_css`)."""
    return Markup(highlight(code, PythonLexer(), HtmlFormatter(style=CODE_STYLE, cssclass="code")))


def code_css() -> Markup:
    return Markup(HtmlFormatter(style=CODE_STYLE, cssclass="code").get_style_defs(".code"))


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The templates under archlab/report/templates with the report's filters.

    Built once per process (its settings never change) so that periodic refreshes
    do not recompile the templates.
    """
    env = Environment(
        loader=PackageLoader("archlab.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=pct, spread=spread, signed_pct=signed_pct, count=count, short_count=short_count,
                       ms=ms, seconds=seconds, usd=usd, md_cell=md_cell, python_html=python_html)
    env.globals["code_css"] = code_css
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
