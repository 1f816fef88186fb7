"""The local pool end to end: real sandboxed workers, every failure kind produced on purpose.

All tests share one two-worker pool (conftest `pool`), so they also prove that
the pool keeps working after each kind of failure.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from archlab.records import Result
from archlab.sandbox.requests import EvalRequest
from archlab.tools import seeds
from sandbox_helpers import SECRET_NAME, cnn, mined, quick_limits, request


def _still_works(pool) -> None:
    result = pool.submit(request(seeds.mlp(), steps=5)).result(timeout=300)
    assert result.ok, result.error


def test_seed_trains_and_reports_everything(pool):
    result = pool.submit(request(cnn(), steps=30, fidelity=0.5, proxies=True)).result(timeout=300)
    assert isinstance(result, Result) and result.ok, result.error
    assert result.steps == 15 and result.fidelity == 0.5
    assert result.params == 5210 and result.flops > 0 and result.latency_ms > 0
    assert 0 <= result.val_accuracy <= 1 and result.test_accuracy is not None and result.train_accuracy is not None
    assert result.curve[-1].step == 15 and result.train_s > 0 and result.wall_s >= result.train_s
    assert set(result.proxies) == {"synflow", "naswot", "grad_norm"} and result.proxy_s > 0
    assert result.peak_mem_mb > 50 and result.device == "cpu"


def test_evaluation_is_deterministic_across_workers(pool):
    reqs = [request(cnn(), exp_id=f"d{i}", steps=25, seed=3) for i in range(2)]
    first, second = [f.result(timeout=300) for f in [pool.submit(r) for r in reqs]]
    assert first.ok and second.ok
    assert first.val_accuracy == second.val_accuracy and first.curve == second.curve


def test_fidelity_zero_screens_with_proxies_only(pool):
    result = pool.submit(request(cnn(), fidelity=0.0)).result(timeout=300)
    assert result.ok and result.steps == 0 and result.val_accuracy is None
    assert {"synflow", "naswot", "grad_norm"} <= set(result.proxies)


@pytest.mark.parametrize("change, expected", [
    (lambda r: r.model_copy(update={"arch": {"root": {"op": "conv", "params": {"kernel": 99, "padding": "valid"}}}}),
     "kernel 99"),
    (lambda r: r.model_copy(update={"arch": {"root": {"op": "no_such_op"}}}), "no_such_op"),
    (lambda r: r.model_copy(update={"task": "npz:/elsewhere.npz"}), "this executor serves 'mnist1d'"),
    (lambda r: r.model_copy(update={"recipe_overrides": {"lr": -1}}), "bad recipe override lr"),
])
def test_invalid_requests_are_reported_as_invalid(pool, change, expected):
    result = pool.submit(change(request(cnn()))).result(timeout=300)
    assert result.failure == "invalid" and expected in result.error


def test_malformed_request_dict_resolves_to_invalid_instead_of_raising(pool):
    result = pool.submit({"exp_id": "x", "arch": "not a dict"}).result(timeout=5)
    assert result.failure == "invalid" and "malformed request" in result.error


def test_code_that_fails_to_compile_is_compile(pool):
    result = pool.submit(request(mined("pass", init_body="raise ValueError('bad init arg')"))).result(timeout=300)
    assert result.failure == "compile" and "bad init arg" in result.error
    syntax = mined("pass", module_body="def broken(:\n    pass")
    assert pool.submit(request(syntax)).result(timeout=300).failure == "compile"


def test_infinite_loop_hits_the_time_limit_and_the_worker_is_replaced(pool):
    before = pool.restarts
    start = time.monotonic()
    result = pool.submit(request(mined("while True:\n    pass"), limits=quick_limits(time_s=3))).result(timeout=300)
    assert result.failure == "timeout" and "wall-clock limit of 3 s" in result.error
    assert time.monotonic() - start < 60
    _still_works(pool)
    deadline = time.monotonic() + 240
    while pool.restarts == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pool.restarts >= before + 1
    _still_works(pool)


@pytest.mark.parametrize("body", [
    "torch.empty(4_000_000_000, dtype=torch.float32).fill_(1.0)",  # 16 GB tensor
    "bytearray(8 * 1024**3)",  # 8 GB of Python bytes
])
def test_huge_allocation_hits_the_memory_limit(pool, body):
    result = pool.submit(request(mined(body), limits=quick_limits(memory_mb=512))).result(timeout=300)
    assert result.failure == "memory", result.error
    _still_works(pool)


def test_os_system_from_candidate_code_is_refused(pool, tmp_path):
    marker = tmp_path / "pwned"
    result = pool.submit(request(mined(f"os.system('touch {marker}')"))).result(timeout=300)
    assert result.failure == "sandbox" and "sandbox refused running a shell command" in result.error
    assert not marker.exists()
    _still_works(pool)


def test_socket_from_candidate_code_is_refused_and_never_connects(pool):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    try:
        body = f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')"
        result = pool.submit(request(mined(body))).result(timeout=300)
        assert result.failure == "sandbox" and "sandbox refused" in result.error
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_writes_outside_scratch_are_refused_but_scratch_is_writable(pool, tmp_path):
    outside = tmp_path / "escape.txt"
    result = pool.submit(request(mined(f"open({str(outside)!r}, 'w').write('x')"))).result(timeout=300)
    assert result.failure == "sandbox" and "outside the scratch folder" in result.error and not outside.exists()
    inside = pool.submit(request(mined("open('notes.txt', 'w').write('scratch is fine')"), steps=2)).result(timeout=300)
    assert inside.ok, inside.error


def test_candidate_code_sees_no_secrets(pool):
    body = f"raise RuntimeError('env=' + ','.join(sorted(os.environ)) + ' secret=' + str(os.environ.get({SECRET_NAME!r})))"
    result = pool.submit(request(mined(body))).result(timeout=300)
    assert result.failure == "crashed" and "secret=None" in result.error and "env=" in result.error


def test_nan_producing_model_is_diverged(pool):
    result = pool.submit(request(mined("if self.training:\n    x = x * float('nan')"), steps=20)).result(timeout=300)
    assert result.failure == "diverged" and result.steps == 0 and "NaN" in result.error
    _still_works(pool)


def test_exception_in_forward_is_crashed_with_traceback_tail(pool):
    body = "if self.training:\n    raise ValueError('shape trouble in forward')"
    result = pool.submit(request(mined(body))).result(timeout=300)
    assert result.failure == "crashed"
    first, *tail = result.error.splitlines()
    assert first == "ValueError: shape trouble in forward" and any("forward" in line for line in tail)


def test_worker_that_exits_is_crashed_and_replaced(pool):
    result = pool.submit(request(mined("os._exit(3)"))).result(timeout=300)
    assert result.failure == "crashed" and "exit code 3" in result.error
    _still_works(pool)


def test_futures_are_safe_to_submit_and_wait_from_many_threads(pool):
    def one(i: int) -> Result:
        return pool.submit(request(seeds.mlp(), exp_id=f"c{i}", steps=3, seed=i)).result(timeout=300)

    with ThreadPoolExecutor(max_workers=4) as threads:
        results = list(threads.map(one, range(8)))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]


def test_closed_pool_resolves_queued_and_new_work_without_raising(cache_dir):
    from archlab.sandbox.executor import make_executor

    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir)
    slow = [executor.submit(request(cnn(), exp_id=f"q{i}", steps=200)) for i in range(3)]
    executor.close(wait=False)
    assert all(isinstance(f.result(timeout=60), Result) for f in slow)
    assert not slow[-1].result().ok and "closed" in slow[-1].result().error
    late = executor.submit(request(cnn()))
    assert late.result(timeout=5).failure == "crashed" and "closed" in late.result().error


def test_successive_halving_promotes_by_validation_through_a_real_pool(pool):
    from archlab.sandbox.halving import successive_halving

    candidates = {"cnn": cnn().model_dump(mode="json"), "mlp": seeds.mlp().model_dump(mode="json"),
                  "narrow": seeds.mnist1d_cnn(channels=2).model_dump(mode="json")}
    outcome = successive_halving(pool, candidates, "mnist1d", min_fidelity=1 / 3, eta=3,
                                 recipe_overrides={"steps": 60, "eval_every": 20})
    assert [r.fidelity for r in outcome.rungs] == [pytest.approx(1 / 3), 1.0]
    assert len(outcome.rungs[0].results) == 3 and list(outcome.rungs[1].results) == outcome.rungs[0].promoted
    assert outcome.best is not None and outcome.best.steps == 60
    _still_works(pool)


def test_requests_are_plain_records():
    req = request(cnn())
    assert EvalRequest.model_validate_json(req.model_dump_json()) == req


def test_workers_live_in_an_empty_network_namespace(pool):
    if not pool.isolate_network:
        pytest.skip("user namespaces are not available here (unshare -rn failed)")
    body = ("names = [l.split(':')[0].strip() for l in open('/proc/self/net/dev').read().splitlines()[2:]]\n"
            "raise RuntimeError('interfaces=' + ','.join(sorted(names)))")
    result = pool.submit(request(mined(body))).result(timeout=300)
    assert "interfaces=lo" in result.error.splitlines()[0]
    assert result.error.splitlines()[0].endswith("interfaces=lo")
