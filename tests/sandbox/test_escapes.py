"""Hostile candidate code against the real sandbox: each attack class of issue 15, written, then blocked.

Every attack is Python a model could write: an `nn.Module` whose `__init__` or
`forward` does the damage, submitted through the executor like any mined op
(a tree carrying it, or a `mine` request with its source). Most variants use
ordinary ways around the in-process audit hook (`_posixsubprocess.fork_exec`,
`torch.save`, `torch.from_file`, raw `os.write`), so the OS jail is what must
hold. After every attack the test checks from the outside: the host canaries
do not exist or are unchanged, the jail holds exactly its init and the zygote
(nothing outlived the evaluation), no process anywhere carries the attack's
marker, and the same single-slot pool still answers an honest request with
exactly the honest metrics.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from archlab.records import Result
from archlab.sandbox import EvalRequest, Limits, make_executor
from archlab.tools import seeds
from sandbox_helpers import descendants, mined, quick_limits, request, spawn_source

pytestmark = pytest.mark.slow

MARK = f"archlab-escape-{uuid.uuid4().hex[:12]}"  # every process an attack starts carries this in its argv
SPAWN = spawn_source(MARK)


@pytest.fixture(scope="module")
def jailed(cache_dir):
    """One slot, so every honest check after an attack runs on the very zygote that was attacked."""
    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", notice=None)
    if not executor.jailed:
        executor.close()
        pytest.skip(f"no bubblewrap jail on this machine: {executor.isolation}")
    yield executor
    executor.close()
    assert marked_processes() == [], "a process started by an attack outlived the executor"


@pytest.fixture(scope="module")
def honest(jailed) -> Result:
    result = jailed.submit(_honest_request()).result(timeout=300)
    assert result.ok, result.error
    return result


@pytest.fixture()
def host(tmp_path):
    """Host things an attack goes after: canary paths, a campaign folder with a secret, a sleeping process."""
    campaign = tmp_path / "campaign"
    (campaign / "llm").mkdir(parents=True)
    (campaign / "spec.json").write_text('{"goal": "find a small accurate model"}')
    (campaign / "llm" / "cassette.jsonl").write_text('{"secret": "sk-cassette-SECRET-4711"}\n')
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", MARK + "-victim"])
    canaries = [tmp_path / "pwned", Path(f"/tmp/{MARK}-pwned")]
    yield {"canaries": canaries, "campaign": campaign, "sleeper": sleeper, "tmp": tmp_path,
           "spec_digest": _digest(campaign / "spec.json")}
    sleeper.kill()
    sleeper.wait()
    for path in canaries:
        path.unlink(missing_ok=True)


def _honest_request() -> EvalRequest:
    return request(seeds.mnist1d_cnn(), exp_id="honest", steps=20, seed=5)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def marked_processes() -> list[int]:
    """Every process on this machine whose command line carries this test run's marker (the victim aside)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if MARK in cmdline and MARK + "-victim" not in cmdline and int(name) != os.getpid():
            found.append(int(name))
    return found


def jail_processes(executor) -> list[int]:
    """Every process inside the executor's jail (its bubblewrap's descendants): an idle jail has two."""
    return descendants([executor.slots[0].zygote.proc.pid])


def assert_contained(executor, honest: Result, host: dict) -> None:
    """Nothing escaped, nothing outlived the evaluation, and the pool still answers honestly."""
    for canary in host["canaries"]:
        assert not canary.exists(), f"{canary} was written from inside the sandbox"
    assert _digest(host["campaign"] / "spec.json") == host["spec_digest"]
    assert host["sleeper"].poll() is None, "an unrelated host process was killed from inside the sandbox"
    assert marked_processes() == []
    assert len(jail_processes(executor)) == 2, "the jail holds more than its init and the zygote"
    again = executor.submit(_honest_request()).result(timeout=300)
    assert again.ok, again.error
    assert (again.val_accuracy, again.test_accuracy, again.train_accuracy, again.params, again.curve) == \
        (honest.val_accuracy, honest.test_accuracy, honest.train_accuracy, honest.params, honest.curve)


def attack(executor, forward: str = "pass", init: str = "", time_s: float = 120.0) -> Result:
    tree = mined(forward, init_body=init, module_body=SPAWN)
    return executor.submit(request(tree, exp_id="attack", steps=10, limits=quick_limits(time_s=time_s))).result(
        timeout=300)


def fill(code: str, host: dict) -> str:
    return (code.replace("CANARY", str(host["canaries"][0])).replace("TMPCANARY", str(host["canaries"][1]))
            .replace("CAMPAIGN", str(host["campaign"])).replace("VICTIM", str(host["sleeper"].pid))
            .replace("PKG", str(Path(__import__("archlab").__file__).parent)))


# ---- 1. running a shell ---------------------------------------------------------------------------

@pytest.mark.parametrize("body, kind, says", [
    ("os.system('touch CANARY TMPCANARY')", "sandbox", "sandbox refused running a shell command"),
    ("import ctypes\nctypes.pythonapi.system(b'touch CANARY TMPCANARY')", "sandbox", "native function"),
    ("import ctypes\nctypes.CDLL(None).system(b'touch CANARY TMPCANARY')", "sandbox", "native library"),
    # no audit event for fork_exec: the jail has no /bin/sh to run (ENOENT)
    ("spawn_argv(['/bin/sh', '-c', 'touch CANARY TMPCANARY', 'MARK'])", "crashed", "OSError:2"),
    # an unhooked Python inside the jail runs, but the host paths are not there and there is no shell
    ("pid = spawn(\"import os\\ntry: open('CANARY', 'w')\\nexcept OSError: pass\\nos.system('touch TMPCANARY')\")\n"
     "_, status = os.waitpid(pid, 0)\nraise RuntimeError(f'escape status {status}')", "crashed", "escape status"),
], ids=["os.system", "ctypes-pythonapi", "ctypes-libc", "fork_exec-sh", "fork_exec-python"])
def test_a_module_cannot_run_a_shell(jailed, honest, host, body, kind, says):
    result = attack(jailed, forward=fill(body, host))
    assert result.failure == kind and says in result.error, result.error
    assert_contained(jailed, honest, host)


def test_a_module_that_runs_a_shell_while_being_mined_is_refused(jailed, honest, host):
    source = fill("import os\nimport torch\nfrom torch import nn\n\nos.system('touch CANARY')\n\n"
                  "class Shell(nn.Module):\n    def forward(self, x):\n        return x\n", host)
    result = jailed.submit(EvalRequest(exp_id="m", arch={}, task="mnist1d", kind="mine", source=source,
                                       limits=Limits(time_s=60))).result(timeout=300)
    assert result.failure == "sandbox" and "running a shell command" in result.error and not result.mined_ops
    assert_contained(jailed, honest, host)


# ---- 2. writing files outside the scratch folder ----------------------------------------------------

@pytest.mark.parametrize("body, kind, says", [
    ("torch.save({'x': 1}, 'CANARY')", "crashed", "does not exist"),  # C++ writer: no audit event
    ("torch.save({'x': 1}, 'PKG/pwned.pt')", "crashed", ""),  # the package is bound read-only
    ("import sqlite3\nsqlite3.connect('CANARY').execute('create table t(x)')", "sandbox", "sqlite3.connect"),
    ("import ctypes\nlibc = ctypes.CDLL('libc.so.6')\nlibc.fopen(b'CANARY', b'w')", "sandbox", "native library"),
    ("t = torch.from_file('CAMPAIGN/spec.json', shared=True, size=8, dtype=torch.uint8)\nt.fill_(65)",
     "crashed", "No such file"),
    ("torch.save({'x': 1}, '/tmp/planted.pt')", "sandbox", "wrote outside its scratch folder: /tmp/planted.pt"),
    ("torch.save(1, '/dev/shm/planted')", "sandbox",
     "wrote outside its scratch folder: /dev/shm/planted"),
], ids=["torch.save-host", "torch.save-package", "sqlite3", "ctypes-fopen", "from_file-shared", "jail-tmp",
        "dev-shm"])
def test_a_module_cannot_write_outside_its_scratch_folder(jailed, honest, host, body, kind, says):
    package = Path(__import__("archlab").__file__).parent
    before = sorted(os.listdir(package))
    result = attack(jailed, forward=fill(body, host))
    assert result.failure == kind and says in result.error, result.error
    assert sorted(os.listdir(package)) == before
    assert_contained(jailed, honest, host)


def test_files_a_module_leaves_in_the_jail_are_gone_for_the_next_evaluation(jailed, honest, host):
    plant = attack(jailed, forward="torch.save(1, '/tmp/planted.pt')\ntorch.save(1, '/dev/shm/planted.pt')")
    assert plant.failure == "sandbox"
    look = attack(jailed, forward="raise RuntimeError('seen=' + str([p for p in ('/tmp/planted.pt', "
                                  "'/dev/shm/planted.pt') if os.path.exists(p)]))")
    assert look.failure == "crashed" and "seen=[]" in look.error, look.error
    assert_contained(jailed, honest, host)


# ---- 3. reading the host: campaign folder, /etc/passwd, host sockets ---------------------------------

@pytest.mark.parametrize("body, kind", [
    ("raise RuntimeError(open('CAMPAIGN/llm/cassette.jsonl').read())", "sandbox"),
    ("raise RuntimeError(open('/etc/passwd').read())", "sandbox"),
    ("raise RuntimeError(bytes(torch.from_file('CAMPAIGN/llm/cassette.jsonl', size=40, dtype=torch.uint8).tolist()))",
     "crashed"),  # no audit event: the campaign folder is simply not in the jail
    ("raise RuntimeError(bytes(torch.from_file('/etc/passwd', size=40, dtype=torch.uint8).tolist()))", "crashed"),
    ("pid = spawn(\"import sys; sys.stderr.write(open('/etc/passwd').read())\")\nos.waitpid(pid, 0)\n"
     "raise RuntimeError('tried')", "crashed"),
], ids=["open-cassette", "open-passwd", "from_file-cassette", "from_file-passwd", "unhooked-passwd"])
def test_a_module_cannot_read_the_host(jailed, honest, host, body, kind):
    result = attack(jailed, forward=fill(body, host))
    assert result.failure == kind, result.error
    assert "sk-cassette-SECRET" not in result.error and "root:x:0:0" not in result.error
    assert "root:x:0:0" not in jailed.slots[0].zygote.stderr_tail(200)
    assert_contained(jailed, honest, host)


@pytest.mark.parametrize("body, kind", [
    ("s = socket.socket(socket.AF_UNIX)\ns.connect('SOCK')\ns.sendall(b'leak')", "sandbox"),
    ("pid = spawn(\"import socket; s = socket.socket(socket.AF_UNIX); s.connect('SOCK'); s.sendall(b'leak')\")\n"
     "_, status = os.waitpid(pid, 0)\nraise RuntimeError(f'status {status}')", "crashed"),
    ("pid = spawn(\"import socket; socket.create_connection(('127.0.0.1', PORT), timeout=2).sendall(b'leak')\")\n"
     "_, status = os.waitpid(pid, 0)\nraise RuntimeError(f'status {status}')", "crashed"),
], ids=["af_unix-hooked", "af_unix-unhooked", "tcp-loopback-unhooked"])
def test_a_module_cannot_reach_host_sockets(jailed, honest, host, body, kind):
    path = host["tmp"] / "host.sock"
    unix, tcp = socket.socket(socket.AF_UNIX), socket.socket()
    unix.bind(str(path))
    tcp.bind(("127.0.0.1", 0))
    for server in (unix, tcp):
        server.listen()
        server.settimeout(1)
    try:
        result = attack(jailed, forward=fill(body, host).replace("SOCK", str(path))
                        .replace("PORT", str(tcp.getsockname()[1])))
        assert result.failure == kind, result.error
        for server in (unix, tcp):
            with pytest.raises(socket.timeout):
                server.accept()
    finally:
        unix.close()
        tcp.close()
    assert_contained(jailed, honest, host)


# ---- 4. signalling host processes ------------------------------------------------------------------

@pytest.mark.parametrize("body, kind", [
    ("os.kill(VICTIM, 9)", "sandbox"),
    ("import signal\nsignal.pidfd_send_signal(os.pidfd_open(VICTIM), signal.SIGKILL)", "crashed"),
    ("pid = spawn(\"import os, signal; signal.pidfd_send_signal(os.pidfd_open(VICTIM), 9)\")\nos.waitpid(pid, 0)\n"
     "raise RuntimeError('tried')", "crashed"),
    ("pid = spawn(\"import os; os.kill(-1, 9)\")\nos.waitpid(pid, 0)", "crashed"),  # kills only the jail itself
], ids=["os.kill", "pidfd", "unhooked-pidfd", "kill-all"])
def test_a_module_cannot_signal_host_processes(jailed, honest, host, body, kind):
    result = attack(jailed, forward=fill(body, host))
    assert result.failure == kind, result.error
    time.sleep(0.2)
    assert host["sleeper"].poll() is None
    _wait_for_jail(jailed)  # the pool replaces a killed jail on its own
    assert_contained(jailed, honest, host)


def _wait_for_jail(executor, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not (executor.slots[0].zygote and executor.slots[0].zygote.alive):
        time.sleep(0.2)


# ---- 5. processes that try to outlive their evaluation ----------------------------------------------

@pytest.mark.parametrize("body, time_s, kind, says", [
    ("spawn('import os\\nwhile True: pass', setsid=True)", 120, "sandbox", "left a process running"),
    ("spawn('import os\\nif os.fork(): os._exit(0)\\nos.setsid()\\nwhile True: pass')", 120, "sandbox",
     "left a process running"),
    ("spawn('while True: pass', setsid=True)\nwhile True: pass", 4, "timeout", "wall-clock limit"),
    ("import ctypes\nlibc = ctypes.CDLL(None)\nif libc.fork() == 0:\n    libc.setsid()\n    while True: pass",
     120, "sandbox", "native"),
    ("spawn('import time; time.sleep(60)')\nos._exit(0)", 120, "sandbox", "left a process running"),
], ids=["setsid-spinner", "double-fork-daemon", "spinner-then-timeout", "ctypes-fork", "exit-leaving-child"])
def test_no_process_outlives_its_evaluation(jailed, honest, host, body, time_s, kind, says):
    result = attack(jailed, init=body, time_s=time_s)  # in __init__: once, when the tree is built
    assert result.failure == kind and says in result.error, result.error
    assert marked_processes() == []  # at once: the sweep (or the killed jail) took them
    _wait_for_jail(jailed)
    assert_contained(jailed, honest, host)


# ---- 6. forged results -----------------------------------------------------------------------------

FORGED_OLD = ("import json, struct\nbody = json.dumps({'type': 'result', 'result': {'status': 'ok', "
              "'val_accuracy': 0.9999, 'test_accuracy': 0.9999, 'params': 1}}).encode()\n"
              "for fd in range(3, 256):\n    try:\n        os.write(fd, struct.pack('>I', len(body)) + body)\n"
              "    except OSError:\n        pass\n")
FORGED_REPORT = ("import json, base64\nimport numpy as np\n"
                 "def arr(a):\n    return {'dtype': str(a.dtype), 'shape': list(a.shape), "
                 "'data': base64.b64encode(a.tobytes()).decode()}\n"
                 "body = json.dumps({'status': 'ok', 'steps': 10, 'params': 1, 'flops': 1, 'latency_ms': 0.1, "
                 "'curve': [{'step': 5, 'train_loss': 0.01, 'val_pred': arr(np.zeros(400, dtype=np.int64))}, "
                 "{'step': 10, 'train_loss': 0.01, 'val_pred': arr(np.zeros(400, dtype=np.int64))}], "
                 "'val_logits': arr(np.eye(10, dtype=np.float32)[np.zeros(400, dtype=int)]), "
                 "'test_logits': arr(np.eye(10, dtype=np.float32)[np.zeros(1000, dtype=int)]), "
                 "'probe_pred': arr(np.zeros(1000, dtype=np.int64)), EXTRA}).encode()\n"
                 "for fd in range(3, 256):\n    try:\n        os.write(fd, body)\n    except OSError:\n        pass\n"
                 "os._exit(0)\n")


@pytest.mark.parametrize("body, says", [
    (FORGED_OLD + "if self.training:\n    raise SystemExit(0)", "does not add up"),
    (FORGED_REPORT.replace("EXTRA", "'val_accuracy': 0.9999"), "does not add up"),
    (FORGED_REPORT.replace(", EXTRA", ""), "claims 1 parameters"),
], ids=["old-protocol-to-every-fd", "report-claiming-a-score", "report-claiming-1-parameter"])
def test_a_module_cannot_forge_its_result(jailed, honest, host, body, says):
    result = attack(jailed, forward=body)
    assert result.failure == "sandbox" and says in result.error, result.error
    assert result.val_accuracy is None and result.params != 1
    assert_contained(jailed, honest, host)


def test_a_module_cannot_reach_the_zygotes_channel_or_memory(jailed, honest, host):
    """The zygote is not dumpable: its descriptors (the channel to the parent), memory and environment are
    out of reach through /proc, even for an unhooked process of the same uid in the same jail."""
    steal = textwrap.dedent('''
        import os
        args = open("/proc/2/cmdline", "rb").read().split(b"\\0")
        out = args[args.index(b"--out-fd") + 1].decode()
        for what, grab in [("fds", lambda: os.listdir("/proc/2/fd")),
                           ("channel", lambda: os.open(f"/proc/2/fd/{out}", os.O_WRONLY)),
                           ("memory", lambda: open("/proc/2/mem", "rb").read(1)),
                           ("environment", lambda: open("/proc/2/environ", "rb").read())]:
            try:
                grab()
                print("GOT", what)
            except OSError as exc:
                print("DENIED", what, type(exc).__name__)
    ''')
    body = (f"pid = spawn({steal!r})\n_, status = os.waitpid(pid, 0)\n"
            "raise RuntimeError('tried the zygote')")
    result = attack(jailed, forward=body)
    assert result.failure == "crashed" and "tried the zygote" in result.error, result.error
    log = jailed.slots[0].zygote.stderr_tail(400)
    assert all(f"DENIED {what}" in log for what in ("fds", "channel", "memory", "environment")), log
    assert "GOT" not in log
    assert_contained(jailed, honest, host)


def test_replies_not_bound_to_the_request_are_recorded_failures(mnist1d, tmp_path):
    """A zygote that answers with the wrong nonce (what a forged reply would look like) is never believed."""
    from archlab.sandbox.jail import Launch
    from archlab.sandbox.process import ZygoteProcess
    from archlab.sandbox.wire import ZygoteConfig

    fake = tmp_path / "fake_zygote.py"
    fake.write_text(textwrap.dedent('''
        import json, os, struct, sys
        i, o = int(sys.argv[sys.argv.index("--in-fd") + 1]), int(sys.argv[sys.argv.index("--out-fd") + 1])
        def read():
            n = struct.unpack(">I", os.read(i, 4))[0]
            return json.loads(os.read(i, n))
        def send(m):
            b = json.dumps(m).encode()
            os.write(o, struct.pack(">I", len(b)) + b)
        read()
        send({"type": "ready"})
        while True:
            req, nonce = read(), read()
            send({"type": "reply", "id": req["id"], "nonce": "0" * 32, "exit": {"code": 0},
                  "report_bytes": 0})
            os.write(o, struct.pack(">I", 0))
    '''))
    launch = Launch(prefix=[sys.executable, str(fake), "--"], env=dict(os.environ), cwd=str(tmp_path),
                    data_file="", scratch_root=str(tmp_path), read_roots=[], jailed=False)
    zygote = ZygoteProcess(launch, ZygoteConfig(task={}, scratch_root=str(tmp_path)), tmp_path / "log")
    zygote.start()
    try:
        result = zygote.exchange(_honest_request())
        assert isinstance(result, Result) and result.failure == "sandbox" and "not bound" in result.error
        assert not zygote.alive  # a channel that lied once is never read again
    finally:
        zygote.kill()


def test_the_sandbox_never_holds_validation_or_test_labels(jailed):
    body = ("import numpy as np\nwith np.load('/data/task.npz') as f:\n"
            "    raise RuntimeError('arrays=' + ','.join(sorted(f.files)))")
    result = attack(jailed, forward=body)
    assert "arrays=x_test,x_train,x_val,y_train" in result.error, result.error
