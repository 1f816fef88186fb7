"""What an evaluation child sends back: predictions and claims, never scores.

The child runs candidate code, so everything here is untrusted data. The schema
is strict (unknown fields, wrong types, non-finite numbers and oversized
strings are refused), arrays travel as raw little-endian bytes with their
dtype and shape, and the trusted parent (`grading.py`) checks every shape
against what it asked for before it computes a single metric.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from archlab.records import FailureKind

MAX_ERROR_CHARS = 8_000
MAX_ARRAY_BYTES = 64 * 2**20
ARRAY_DTYPES = {"float32": np.dtype("<f4"), "int64": np.dtype("<i8")}


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, AfterValidator(_finite)]
Seconds = Annotated[float, Field(ge=0), AfterValidator(_finite)]


class WireArray(BaseModel):
    """A numpy array as bytes: dtype from a short whitelist, shape, base64 data."""

    model_config = ConfigDict(extra="forbid", strict=True)

    dtype: Literal["float32", "int64"]
    shape: list[Annotated[int, Field(ge=0, le=2**31)]] = Field(max_length=4)
    data: str = Field(max_length=MAX_ARRAY_BYTES * 4 // 3 + 8)

    @classmethod
    def encode(cls, array: np.ndarray) -> "WireArray":
        kind = "float32" if array.dtype.kind == "f" else "int64"
        raw = np.ascontiguousarray(array, dtype=ARRAY_DTYPES[kind])
        return cls(dtype=kind, shape=list(raw.shape), data=base64.b64encode(raw.tobytes()).decode())

    def decode(self) -> np.ndarray:
        """The array; ValueError (one line) when the bytes do not match the announced dtype and shape."""
        try:
            raw = base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("array data is not base64") from None
        dtype = ARRAY_DTYPES[self.dtype]
        count = math.prod(self.shape)
        if len(raw) != count * dtype.itemsize:
            raise ValueError(f"array of shape {tuple(self.shape)} announced but {len(raw)} bytes sent")
        return np.frombuffer(raw, dtype=dtype).reshape(self.shape)


class CurveReport(BaseModel):
    """One learning-curve point as the child saw it: the training loss and its validation predictions."""

    model_config = ConfigDict(extra="forbid", strict=True)

    step: int = Field(ge=1)
    train_loss: Finite
    val_pred: WireArray  # predicted class ids of the validation inputs at this step


class ChildReport(BaseModel):
    """The child's whole answer. Claims (params, flops, latency) are checked by the parent."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: Literal["ok", "failed"]
    failure: FailureKind | None = None
    error: str = Field("", max_length=MAX_ERROR_CHARS)
    device: str = Field("cpu", pattern=r"^[a-z0-9:]{1,16}$")
    steps: int = Field(0, ge=0)
    diverged: bool = False
    train_s: Seconds = 0.0
    proxy_s: Seconds = 0.0
    latency_ms: Seconds | None = None
    params: int | None = Field(None, ge=0)
    flops: int | None = Field(None, ge=0)
    proxies: dict[Annotated[str, Field(max_length=32)], Finite] = Field(default_factory=dict, max_length=8)
    curve: list[CurveReport] = Field(default_factory=list, max_length=10_000)
    val_logits: WireArray | None = None
    test_logits: WireArray | None = None
    probe_pred: WireArray | None = None  # predicted class ids of the train-accuracy probe
    mined_ops: list[dict] = Field(default_factory=list, max_length=64)
    weights: bool = False  # a weights file was written to the scratch folder
    violations: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=100)
    peak_mem_mb: Seconds | None = None  # a non-negative finite number, like the seconds
    eval_s: Seconds = 0.0  # the child's own time from request to report (the rest is sandbox overhead)


class ZygoteConfig(BaseModel):
    """What the parent tells a zygote when it starts it (trusted direction: parent -> jail)."""

    model_config = ConfigDict(extra="forbid")

    task: dict  # sandbox.Task JSON; its data_file is the label-free copy as the zygote sees it
    device: str = "cpu"  # already resolved by the parent (never "auto")
    memory_mb: int = 4096  # hard address-space cap on top of the warm zygote
    threads: int = 1
    scratch_root: str  # per-evaluation folders are made here
    private_namespaces: bool = False  # in a jail: own pid and IPC namespaces (sweep with kill(-1), wipe IPC)
    watch: list[str] = Field(default_factory=list)  # writable folders that must hold nothing after an evaluation
    read_roots: list[str] = Field(default_factory=list)  # what an evaluation may read (audit hook)
    processes: int | None = None  # RLIMIT_NPROC (binds a non-root uid only)
    open_files: int = 256
    file_mb: int = 1024
    die_with_parent: bool = True


class ExitStatus(BaseModel):
    """How the evaluation child ended: an exit code, or the signal that killed it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    code: int | None = None
    signal: int | None = None
    oom: bool = False  # the kernel's out-of-memory killer fired while it ran


class ZygoteReply(BaseModel):
    """The zygote's header for one evaluation; the raw child report (and weights) follow as frames."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["reply"]
    id: str = Field(max_length=64)
    nonce: str = Field(max_length=64)
    exit: ExitStatus
    report_bytes: int = Field(ge=0)
    truncated: bool = False
    weights_bytes: int | None = Field(None, ge=0)
    leftovers: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=100)
    fork_ms: Seconds = 0.0


def failed_report(kind: FailureKind, message: str, **claims: object) -> ChildReport:
    """A failed report with a one-line reason (the error may carry a traceback tail after it)."""
    return ChildReport(status="failed", failure=kind, error=message[:MAX_ERROR_CHARS], **claims)
