"""Arrays behind a task: MNIST-1D generation and cache, strict `.npz` checks, the validation split.

Only numpy here (no torch), so the campaign process can check a user's data
before any worker starts. Every problem is a `DataError` whose `str()` is one
line naming the file, the array and what is wrong.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
OPTIONAL = ("x_val", "y_val")
MNIST1D_CACHE_NAME = "mnist1d-default-v1.npz"  # bump the suffix if the generation changes
VAL_FRACTION = 0.1  # share of train carved out for validation when a file gives no x_val/y_val


class DataError(ValueError):
    """Unusable data; `str()` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class NpzSummary:
    """What `inspect_npz` learned about a valid file."""

    input_shape: tuple[int, ...]
    num_classes: int
    n_train: int
    n_val: int | None  # None when the file carries no validation arrays
    n_test: int
    sha256: str

    def sizes(self, val_fraction: float) -> dict[str, int]:
        """Sample counts after the validation split (`split_indices` rounds the same way)."""
        if self.n_val is not None:
            return {"train": self.n_train, "val": self.n_val, "test": self.n_test}
        n_val = _n_val(self.n_train, val_fraction)
        return {"train": self.n_train - n_val, "val": n_val, "test": self.n_test}


@dataclass(frozen=True)
class Splits:
    """The three splits as numpy arrays: x float32 with shape (N, *input_shape), y int64."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def ensure_mnist1d(cache_dir: Path) -> Path:
    """Path of the cached MNIST-1D file, generating it first if it is missing.

    Uses the `mnist1d` package's `make_dataset` with its published default
    arguments (5,000 samples, 80/20 split: 4,000 train / 1,000 test, length 40,
    seed 42): the same procedure as the paper, run locally, never downloaded.
    Sequences are stored as (N, 1, 40): one channel, so 1-D convolutions apply.
    The file is written to a temporary name and renamed, so a crash leaves no
    half-written cache.
    """
    cache_dir = Path(cache_dir).expanduser()
    path = cache_dir / MNIST1D_CACHE_NAME
    if path.exists():
        return path
    from mnist1d.data import get_dataset_args, make_dataset  # heavy (scipy): import on first build only

    raw = make_dataset(get_dataset_args())
    arrays = {
        "x_train": np.asarray(raw["x"], dtype=np.float32)[:, None, :],
        "y_train": np.asarray(raw["y"], dtype=np.int64),
        "x_test": np.asarray(raw["x_test"], dtype=np.float32)[:, None, :],
        "y_test": np.asarray(raw["y_test"], dtype=np.int64),
    }
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _atomic_savez(path, arrays)
    except OSError as exc:
        raise DataError(f"cannot write the MNIST-1D cache in {cache_dir}: {exc.strerror or exc}") from None
    return path


def inspect_npz(path: Path) -> NpzSummary:
    """Check a task file strictly and summarise it; raises `DataError` naming the problem."""
    path = Path(path)
    arrays = _read_npz(path)
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise DataError(f"{path} lacks {', '.join(missing)} (needs x_train, y_train, x_test, y_test)")
    if ("x_val" in arrays) != ("y_val" in arrays):
        raise DataError(f"{path} has only one of x_val, y_val: give both or neither")
    splits = ["train", "test"] + (["val"] if "x_val" in arrays else [])
    sample_shape = _check_x(path, "x_train", arrays["x_train"])
    for split in splits:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        shape = _check_x(path, f"x_{split}", x)
        if shape != sample_shape:
            raise DataError(f"{path}: x_{split} samples have shape {shape} but x_train samples have {sample_shape}")
        _check_y(path, f"y_{split}", y, len(x))
    num_classes = int(arrays["y_train"].max()) + 1
    if num_classes < 2:
        raise DataError(f"{path}: y_train has a single class; classification needs at least 2")
    for split in splits[1:]:
        top = int(arrays[f"y_{split}"].max())
        if top >= num_classes:
            raise DataError(f"{path}: y_{split} has label {top}, outside the classes 0..{num_classes - 1} of y_train")
    n_train = len(arrays["y_train"])
    if "x_val" not in arrays and n_train - _n_val(n_train, VAL_FRACTION) < 1:
        raise DataError(f"{path}: x_train has {n_train} sample(s), too few to carve a validation split")
    return NpzSummary(
        input_shape=sample_shape,
        num_classes=num_classes,
        n_train=n_train,
        n_val=len(arrays["y_val"]) if "y_val" in arrays else None,
        n_test=len(arrays["y_test"]),
        sha256=_sha256(path),
    )


def load_splits(path: Path, val_fraction: float, split_seed: int) -> Splits:
    """Load a checked task file; carve the validation split from train when none is given.

    The split depends only on (`split_seed`, number of train samples), so every
    worker and every campaign sees the same validation set. The test split is
    never used for selection: workers evaluate it once per candidate, for the report.
    """
    arrays = _read_npz(Path(path))
    x_train = arrays["x_train"].astype(np.float32, copy=False)
    y_train = arrays["y_train"].astype(np.int64)
    if "x_val" in arrays:
        x_val, y_val = arrays["x_val"].astype(np.float32, copy=False), arrays["y_val"].astype(np.int64)
    else:
        train_idx, val_idx = split_indices(len(y_train), val_fraction, split_seed)
        x_val, y_val = x_train[val_idx], y_train[val_idx]
        x_train, y_train = x_train[train_idx], y_train[train_idx]
    return Splits(x_train, y_train, x_val, y_val,
                  arrays["x_test"].astype(np.float32, copy=False), arrays["y_test"].astype(np.int64))


def save_label_free(splits: Splits, path: Path) -> Path:
    """Write what a sandbox may see (x_train, y_train, x_val, x_test; never y_val or y_test), read-only for all.

    The trusted parent keeps the validation and test labels; the sandbox gets
    this file, so a candidate has nothing to grade itself with.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_savez(path, {"x_train": splits.x_train, "y_train": splits.y_train,
                         "x_val": splits.x_val, "x_test": splits.x_test})
    path.chmod(0o444)
    path.parent.chmod(0o755)
    return path


def hold_out(splits: Splits, seed: int, size: int) -> Splits:
    """`splits` with `size` seeded training samples moved into the validation split.

    The result trains on the rest and is validated on the official validation
    samples followed by the held-out ones (a pooled score): what a sandbox gets
    of it (`save_label_free`) holds no label of either. The draw depends only on
    (`seed`, number of training samples), so every candidate sees the same split.
    """
    n = len(splits.y_train)
    if not 1 <= size < n:
        raise DataError(f"cannot hold out {size} of {n} training samples (needs 1 to {n - 1})")
    perm = np.random.default_rng(seed).permutation(n)
    held, kept = np.sort(perm[:size]), np.sort(perm[size:])
    return Splits(splits.x_train[kept], splits.y_train[kept],
                  np.concatenate([splits.x_val, splits.x_train[held]]),
                  np.concatenate([splits.y_val, splits.y_train[held]]), splits.x_test, splits.y_test)


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays, each sorted."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = _n_val(n, val_fraction)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def _n_val(n: int, val_fraction: float) -> int:
    return max(1, int(round(n * val_fraction)))


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an .npz file")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a readable .npz file (not a zip archive of arrays)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{path} holds object arrays; store plain numeric arrays") from None
        raise DataError(f"{path} is not a readable .npz file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({type(exc).__name__})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends: any unreadable archive
        raise DataError(f"{path} is not a readable .npz file ({type(exc).__name__})") from None


def _check_x(path: Path, name: str, x: np.ndarray) -> tuple[int, ...]:
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: {name} has dtype {x.dtype}; expected numbers")
    if x.ndim not in (2, 3, 4):
        raise DataError(f"{path}: {name} has shape {x.shape}; expected (N, F) vectors, "
                        "(N, C, L) sequences or (N, C, H, W) images")
    if len(x) == 0 or 0 in x.shape:
        raise DataError(f"{path}: {name} is empty (shape {x.shape})")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: {name} contains NaN or infinite values")
    return tuple(int(d) for d in x.shape[1:])


def _check_y(path: Path, name: str, y: np.ndarray, n: int) -> None:
    if y.ndim != 1:
        raise DataError(f"{path}: {name} has shape {y.shape}; expected (N,) integer class labels")
    if len(y) != n:
        raise DataError(f"{path}: {name} has {len(y)} labels but x_{name[2:]} has {n} samples")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.equal(np.floor(y), y).all():
            raise DataError(f"{path}: {name} has non-integer labels; expected class indices 0..K-1")
    elif y.dtype.kind not in "biu":
        raise DataError(f"{path}: {name} has dtype {y.dtype}; expected integer class labels")
    if y.min() < 0:
        raise DataError(f"{path}: {name} has label {int(y.min())}; labels must be 0..K-1")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def atomic_write(path: Path, write) -> Path:  # type: ignore[no-untyped-def]
    """Call `write(file)` on a temporary file in `path`'s folder, then rename it to `path`.

    A crash leaves no half-written file behind (the report room has its own
    copy of this for text; rooms do not import each other's helpers).
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
