"""Opening Chroma: an embedded index in a folder, or a server by URL.

A deleted or corrupt embedded index is not fatal: the folder is moved aside
(kept for inspection) and a fresh index is started; the campaign folder is the
source of truth, so `reindex` fills it again.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.shared_system_client import SharedSystemClient
from chromadb.config import Settings

from archlab.errors import one_line
from archlab.knowledge.errors import IndexRebuiltWarning, KnowledgeError
from archlab.knowledge.folder_lock import LOCK_FILES

_SETTINGS = dict(anonymized_telemetry=False)


def _forget_cached_system(path: Path) -> None:
    """Drop Chroma's per-process cache entry for a folder whose files went away.

    Chroma keeps one engine per folder per process; after the folder is
    deleted that engine fails with "readonly database". Chroma has no public
    call to drop one entry (clear_system_cache drops every open index), so we
    reach into the class-level map for just this folder.
    """
    systems = SharedSystemClient._identifier_to_system
    system = systems.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # the engine's files are gone; stopping is best effort
            pass


def _check(client: ClientAPI) -> None:
    """Touch every collection so a corrupt index fails here, not mid-campaign."""
    for collection in client.list_collections():
        client.get_collection(collection.name).count()


def _move_aside(path: Path) -> Path:
    """Move the index's files to a sibling folder; the lock files stay (the lock is held on them)."""
    number = 1
    while (aside := path.with_name(f"{path.name}.corrupt-{number}")).exists():
        number += 1
    aside.mkdir()
    for child in path.iterdir():
        if child.name not in LOCK_FILES:
            shutil.move(str(child), str(aside / child.name))
    return aside


def open_persistent(path: Path) -> tuple[ClientAPI, str | None]:
    """An embedded client on `path`, and why it was started afresh (or None)."""
    path = Path(path).resolve()
    if path.exists() and not path.is_dir():
        raise KnowledgeError(f"memory path {path} is a file, not a folder")
    reason = None
    if not (path / "chroma.sqlite3").exists():
        _forget_cached_system(path)
        if path.exists() and any(child.name not in LOCK_FILES for child in path.iterdir()):
            reason = f"index at {path} had no database"
    try:
        client = chromadb.PersistentClient(path=str(path), settings=Settings(**_SETTINGS))
        _check(client)
        return client, reason
    except Exception as error:  # Chroma raises many kinds here; all mean "unusable"
        _forget_cached_system(path)
        aside = _move_aside(path)
        reason = f"index at {path} was corrupt ({one_line(error)}); moved to {aside.name}"
        warnings.warn(f"{reason}; starting a fresh index", IndexRebuiltWarning, stacklevel=3)
    client = chromadb.PersistentClient(path=str(path), settings=Settings(**_SETTINGS))
    return client, reason


def open_http(url: str) -> ClientAPI:
    """A client for a Chroma server, e.g. http://127.0.0.1:8000."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    if not parsed.hostname:
        raise KnowledgeError(f"chroma url {url!r} has no host (expected http://HOST:PORT)")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    try:
        client = chromadb.HttpClient(
            host=parsed.hostname,
            port=port,
            ssl=parsed.scheme == "https",
            settings=Settings(**_SETTINGS),
        )
        client.heartbeat()
    except Exception as error:
        raise KnowledgeError(f"cannot reach chroma server at {url}: {one_line(error)}") from None
    return client


def max_batch(client: ClientAPI) -> int:
    """How many rows one add/upsert may carry."""
    try:
        return max(1, min(int(client.get_max_batch_size()), 4096))
    except Exception:  # older servers do not say; this size is always accepted
        return 1000
