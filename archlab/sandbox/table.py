"""Lookup tasks (`table:PATH`): evaluation reads a row of a benchmark table.

A table is a CSV with one row per architecture: a key column (the NAS-Bench-201
cell string), a *signal* column the search may read (it becomes
`Result.val_accuracy`) and a *report* column the search must never read (it
becomes `Result.test_accuracy`, shown in reports only). Optional `params_M` /
`flops_M` columns fill `params` / `flops`.

Columns are found by name: the key is `arch` (else the first column), the
signal the first column starting with `valid`/`val_`, the report the first
starting with `test`. Accuracy columns whose values exceed 1 are percent and
are divided by 100, so every Result holds fractions in [0, 1].

A malformed table (missing column, duplicate key, a key that is not a valid
cell, a value that is not a number) is refused with one line naming the row.
"""

from __future__ import annotations

import csv
import hashlib
import time
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from archlab.records import Result
from archlab.sandbox.requests import EvalRequest
from archlab.sandbox.tasks import Task, TaskError, TrainRecipe
from archlab.tools.errors import ArchError
from archlab.tools.ops.nb201 import validate_cell_string

CELL_OP = "nb201_cell"
# The NAS-Bench-201 networks classify 32x32 RGB CIFAR-10 images.
NB201_INPUT_SHAPE = (3, 32, 32)
NB201_CLASSES = 10


class TableColumns(BaseModel):
    """Which CSV column plays which role."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    signal: str
    report: str
    params_m: str | None = None
    flops_m: str | None = None


class TableRow(NamedTuple):
    """One architecture's numbers, accuracies already as fractions."""

    signal: float
    report: float
    params: int | None
    flops: int | None


class LookupTable:
    """A parsed, checked table: cell string -> TableRow. Read-only after loading."""

    def __init__(self, path: Path, columns: TableColumns, rows: dict[str, TableRow], sha256: str) -> None:
        self.path = path
        self.columns = columns
        self.rows = rows
        self.sha256 = sha256

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, cell: str) -> TableRow | None:
        return self.rows.get(cell)


def read_table(path: str | Path) -> LookupTable:
    """Parse and check a table CSV; raises TaskError (one line naming the row) if malformed.

    A campaign opens its task several times (checks, rooms, executor) and a benchmark runs
    hundreds of campaigns in one process; parsing 15,625 rows costs ~0.5 s, so the parse of
    an unchanged file (same path, size and modification time) is reused. Never mutate it."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise TaskError(f"table {path}: cannot read ({exc.strerror or exc})") from None
    return _read_table(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _read_table(resolved: str, size: int, mtime_ns: int) -> LookupTable:
    path = Path(resolved)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaskError(f"table {path}: cannot read ({exc.strerror or exc})") from None
    text = raw.decode("utf-8", errors="replace")
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header:
        raise TaskError(f"table {path}: empty file, expected a CSV header in row 1")
    header = [h.strip() for h in header]
    columns = _find_columns(path, header)
    index = {name: i for i, name in enumerate(header)}
    parsed: dict[str, tuple[float, float, float | None, float | None]] = {}
    first_row: dict[str, int] = {}
    for row_number, fields in enumerate(reader, start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise TaskError(f"table {path}: row {row_number} has {len(fields)} fields, header has {len(header)}")
        try:
            key = validate_cell_string(fields[index[columns.key]].strip())
        except ArchError as exc:
            raise TaskError(f"table {path}: row {row_number}: key is not a valid cell: {exc}") from None
        if key in first_row:
            raise TaskError(f"table {path}: row {row_number}: duplicate key {key} (first in row {first_row[key]})")
        first_row[key] = row_number
        parsed[key] = (
            _number(path, row_number, columns.signal, fields[index[columns.signal]]),
            _number(path, row_number, columns.report, fields[index[columns.report]]),
            _optional_number(path, row_number, columns.params_m, fields, index),
            _optional_number(path, row_number, columns.flops_m, fields, index),
        )
    if not parsed:
        raise TaskError(f"table {path}: no data rows after the header")
    signal_scale = _percent_scale(v[0] for v in parsed.values())
    report_scale = _percent_scale(v[1] for v in parsed.values())
    rows = {
        key: TableRow(
            signal=s * signal_scale,
            report=r * report_scale,
            params=None if p is None else round(p * 1e6),
            flops=None if f is None else round(f * 1e6),
        )
        for key, (s, r, p, f) in parsed.items()
    }
    return LookupTable(path.resolve(), columns, rows, hashlib.sha256(raw).hexdigest())


def load_table_task(path: str | Path) -> Task:
    """The `Task` for `table:PATH` (checks the whole table; TaskError names the bad row)."""
    table = read_table(path)
    return Task(
        name=f"table:{path}",
        kind="lookup",
        input_shape=NB201_INPUT_SHAPE,
        num_classes=NB201_CLASSES,
        recipe=TrainRecipe(steps=1),
        data_file=str(table.path),
        fingerprint=table.sha256,
        sizes={"rows": len(table)},
    )


def cell_of(arch: dict) -> str:
    """The table key of an architecture JSON: its root must be an `nb201_cell` node."""
    root = arch.get("root") if isinstance(arch, dict) else None
    if not isinstance(root, dict) or root.get("op") != CELL_OP:
        op = root.get("op") if isinstance(root, dict) else None
        raise ArchError(f"a table task needs an {CELL_OP} architecture, got root op {op!r}")
    return validate_cell_string((root.get("params") or {}).get("cell"))


class LookupExecutor:
    """An Executor whose futures resolve at once with the table's row.

    It follows the sandbox `Executor` protocol (`submit`, `workers`, `close`,
    context manager) and never raises from `submit`: an architecture the table
    cannot answer gives a failed Result with a one-line reason.
    """

    def __init__(self, table: LookupTable | str | Path, workers: int = 1) -> None:
        self.table = table if isinstance(table, LookupTable) else read_table(table)
        self.workers = workers
        self.queries = 0  # rows read (every submit, cached or not, is counted here)

    def evaluate(self, req: EvalRequest) -> Result:
        """The Result for one request, synchronously."""
        start = time.perf_counter()
        if req.holdout is not None:
            return Result(status="failed", failure="invalid",
                          error="a lookup table has one number per cell: there is no training data to hold out")
        try:
            cell = cell_of(req.arch)
        except ArchError as exc:
            return Result(status="failed", failure="invalid", error=str(exc))
        row = self.table.get(cell)
        if row is None:
            return Result(status="failed", failure="invalid", error=f"cell {cell} is not in table {self.table.path}")
        self.queries += 1
        return Result(
            status="ok",
            val_accuracy=row.signal,
            test_accuracy=row.report,
            params=row.params,
            flops=row.flops,
            fidelity=1.0,  # a table has one fidelity: whatever was asked, the row is the answer
            wall_s=time.perf_counter() - start,
            device="table",
        )

    def submit(self, req: EvalRequest) -> "Future[Result]":
        future: Future[Result] = Future()
        future.set_result(self.evaluate(req))
        return future

    def close(self) -> None:
        """Nothing to release: the table lives in memory."""

    def __enter__(self) -> "LookupExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _find_columns(path: Path, header: list[str]) -> TableColumns:
    def first(prefixes: tuple[str, ...]) -> str | None:
        return next((h for h in header if h.lower().startswith(prefixes)), None)

    key = "arch" if "arch" in header else header[0]
    signal = first(("valid", "val_"))
    report = first(("test",))
    for role, name in (("signal (valid*)", signal), ("report (test*)", report)):
        if name is None:
            raise TaskError(f"table {path}: row 1 (header) has no {role} column: {', '.join(header)}")
    return TableColumns(
        key=key,
        signal=signal,  # type: ignore[arg-type]
        report=report,  # type: ignore[arg-type]
        params_m="params_M" if "params_M" in header else None,
        flops_m="flops_M" if "flops_M" in header else None,
    )


def _number(path: Path, row: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TaskError(f"table {path}: row {row}: {column} is not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise TaskError(f"table {path}: row {row}: {column} is not finite: {text!r}")
    return value


def _optional_number(path: Path, row: int, column: str | None, fields: list[str], index: dict[str, int]) -> float | None:
    return None if column is None else _number(path, row, column, fields[index[column]])


def _percent_scale(values) -> float:  # type: ignore[no-untyped-def]
    """1/100 when the column is in percent (any value above 1), else 1."""
    return 0.01 if max(values) > 1.0 else 1.0


__all__ = ["LookupTable", "TableColumns", "TableRow", "read_table", "load_table_task", "cell_of", "LookupExecutor"]
