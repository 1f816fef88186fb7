"""The campaign folder: the source of truth, written atomically, one git commit
per finished experiment (layout in docs/CONTRACTS.md).

Every write goes to a temporary name first and is then renamed, so a `kill -9`
at any moment leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import git

from archlab.campaign.errors import UsageError
from archlab.campaign.state import CampaignState
from archlab.knowledge.record_log import RecordLog, log_path, read_log
from archlab.records import CampaignSpec

_ACTOR = git.Actor("archlab", "archlab@localhost")
_IDENTITY = {"GIT_AUTHOR_NAME": _ACTOR.name, "GIT_AUTHOR_EMAIL": _ACTOR.email,
             "GIT_COMMITTER_NAME": _ACTOR.name, "GIT_COMMITTER_EMAIL": _ACTOR.email}
_GITIGNORE = "index/\n*.tmp\n.tmp-*\n__pycache__/\n"


def exp_id(number: int) -> str:
    """Experiment ids are e0001, e0002, ... in proposal order."""
    return f"e{number:04d}"


def exp_number(exp: str) -> int:
    return int(exp.lstrip("e"))


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a sibling temp file, fsync, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


class Workspace:
    """Paths, atomic writes and git lineage of one campaign folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.experiments = self.root / "experiments"
        self.spec_path = self.root / "spec.json"
        self.state_path = self.root / "state.json"
        self.insights_path = self.root / "insights.json"
        self.llm_dir = self.root / "llm"
        self.cassette_path = self.llm_dir / "cassette.jsonl"
        self.usage_path = self.llm_dir / "usage.json"
        self.index_dir = self.root / "index"
        self.log = RecordLog(log_path(self.root))  # a lightweight campaign's records (record_log.py)
        self._logged: tuple[tuple[int, int], dict[str, dict[str, Any]]] | None = None  # (size, mtime): records
        self._repo: git.Repo | None = None
        self._state_lock = threading.Lock()  # the loop and the heartbeat both save the state

    # ---- creation and opening -------------------------------------------------

    @classmethod
    def create(cls, root: Path, spec: CampaignSpec, state: CampaignState) -> Workspace:
        """Make a new campaign folder (the caller has validated everything)."""
        root = Path(root)
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} already exists and is not empty: choose another --out")
        root.mkdir(parents=True, exist_ok=True)
        ws = cls(root)
        ws.experiments.mkdir()
        ws.llm_dir.mkdir()
        write_text_atomic(root / ".gitignore", _GITIGNORE)
        write_text_atomic(ws.spec_path, spec.model_dump_json(indent=2) + "\n")
        ws.save_state(state)
        repo = git.Repo.init(root)
        with repo.config_writer() as config:  # works on machines with no git identity
            config.set_value("user", "name", _ACTOR.name)
            config.set_value("user", "email", _ACTOR.email)
        ws._repo = repo
        ws.commit(["spec.json", "state.json", ".gitignore"], f"Start campaign: {spec.goal}")
        return ws

    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing campaign folder; a folder that is not one is a usage error."""
        root = Path(root)
        if not root.is_dir():
            raise UsageError(f"{root} does not exist or is not a folder")
        ws = cls(root)
        if not ws.spec_path.is_file() or not ws.state_path.is_file():
            raise UsageError(f"{root} is not an archlab campaign folder (no spec.json/state.json)")
        try:
            ws.load_spec()
            ws.load_state()
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            raise UsageError(f"{root} has a corrupt spec.json or state.json: {first}") from None
        return ws

    # ---- small files ------------------------------------------------------------

    def load_spec(self) -> CampaignSpec:
        return CampaignSpec.model_validate_json(self.spec_path.read_text(encoding="utf-8"))

    def load_state(self) -> CampaignState:
        return CampaignState.model_validate_json(self.state_path.read_text(encoding="utf-8"))

    def save_state(self, state: CampaignState) -> None:
        """Serialise and write under one lock, so the newest snapshot is always the last written."""
        with self._state_lock:
            write_text_atomic(self.state_path, state.model_dump_json(indent=2) + "\n")

    def load_usage(self) -> dict[str, Any]:
        if not self.usage_path.is_file():
            return {}
        try:
            return json.loads(self.usage_path.read_text(encoding="utf-8"))
        except ValueError:
            return {}

    # ---- experiments --------------------------------------------------------------

    def experiment_dir(self, exp: str) -> Path:
        return self.experiments / exp

    def write_experiment(self, exp: str, files: dict[str, str], moves: dict[str, Path] | None = None) -> Path:
        """Write all files of one experiment into a temp folder, then rename it in.

        `moves` (name -> a file already on disk, e.g. trained weights) are moved into the
        temp folder first, so the experiment appears with them or not at all."""
        final = self.experiment_dir(exp)
        tmp = Path(tempfile.mkdtemp(dir=self.experiments, prefix=f".tmp-{exp}-"))
        try:
            for name, source in (moves or {}).items():
                os.replace(source, tmp / name)
            for name, text in files.items():
                (tmp / name).write_text(text, encoding="utf-8")
            if final.exists():  # a leftover of a killed run that never got committed
                shutil.rmtree(final)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def log_record(self, record_json: str) -> None:
        """Append one finished record to the records log (a lightweight campaign's experiments)."""
        self.log.append(record_json)

    def logged_records(self) -> dict[str, dict[str, Any]]:
        """The records log by id, read again only when the file changed."""
        try:
            stat = self.log.path.stat()
        except FileNotFoundError:
            return {}
        signature = (stat.st_size, stat.st_mtime_ns)
        if self._logged is None or self._logged[0] != signature:
            self._logged = (signature, {record["id"]: record for record in read_log(self.log.path)})
        return self._logged[1]

    def finished_ids(self) -> list[str]:
        """Ids of complete experiments: folders with a record.json (temp folders are not
        experiments) and records in the log."""
        ids = set(self.logged_records())
        if self.experiments.is_dir():
            ids.update(p.name for p in self.experiments.iterdir()
                       if p.is_dir() and p.name.startswith("e") and p.name[1:].isdigit()
                       and (p / "record.json").is_file())
        return sorted(ids, key=exp_number)

    def read_record_json(self, exp: str) -> dict[str, Any]:
        path = self.experiment_dir(exp) / "record.json"
        logged = self.logged_records().get(exp)
        if logged is not None and not path.is_file():
            return logged
        return json.loads(path.read_text(encoding="utf-8"))

    def clean_leftovers(self, keep_before: int) -> list[str]:
        """Remove temp folders and experiments past a gap (lost in-flight work)."""
        removed: list[str] = []
        for path in list(self.experiments.glob(".tmp-*")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        for exp in self.finished_ids():
            if exp_number(exp) >= keep_before and self.experiment_dir(exp).is_dir():
                shutil.rmtree(self.experiment_dir(exp), ignore_errors=True)
                removed.append(exp)
        removed += self.log.keep({exp for exp in self.logged_records() if exp_number(exp) < keep_before})
        self._logged = None
        return removed

    # ---- git ------------------------------------------------------------------------

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            lock = self.root / ".git" / "index.lock"
            lock.unlink(missing_ok=True)  # a kill -9 during a commit leaves it behind
            self._repo = git.Repo(self.root)
        return self._repo

    def commit(self, paths: list[str], message: str) -> str:
        """Stage exactly `paths` (relative to the folder) and commit them."""
        existing = [p for p in paths if (self.root / p).exists()]
        if existing:
            # git's own `add`: GitPython's index.add hashes file by file in Python, which
            # takes seconds for the thousands of files of a lightweight campaign's one commit.
            self.repo.git.add("--", *existing)
        # git's own commit too: GitPython's writes the tree object by object in Python (a second
        # for the one commit of a lightweight campaign's hundreds of experiment folders).
        self.repo.git(c="commit.gpgsign=false").commit("--quiet", "--allow-empty", "--no-verify", "-m", message,
                                                       env=_IDENTITY)
        return self.repo.head.commit.hexsha

    def committed_experiments(self) -> set[str]:
        """Experiment ids present in the last commit's tree."""
        try:
            tree = self.repo.head.commit.tree
        except ValueError:
            return set()
        if "experiments" not in tree:
            return set()
        return {item.name for item in tree["experiments"].trees}

    def tag_best(self, exp: str, message: str) -> None:
        """Move the `best` tag to the commit that added experiment `exp` (a logged one: the
        newest commit of the records log, which holds it)."""
        held_in = self.experiment_dir(exp) if self.experiment_dir(exp).is_dir() else self.log.path
        commits = list(self.repo.iter_commits(paths=held_in.relative_to(self.root).as_posix(), max_count=1))
        if not commits:
            return
        self.repo.create_tag("best", ref=commits[0], message=message, force=True)

    def close(self) -> None:
        self.log.close()
        if self._repo is not None:
            self._repo.close()
            self._repo = None
