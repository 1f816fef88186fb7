"""The Ray executor: a local Ray instance on loopback runs real sandboxed evaluations."""

from __future__ import annotations

import pytest

from archlab.sandbox.executor import make_executor
from archlab.tools import seeds
from sandbox_helpers import mined, request

ray = pytest.importorskip("ray")


@pytest.mark.slow
def test_ray_executor_runs_real_evaluations_and_reports_failures(cache_dir, tmp_path):
    ray.init(num_cpus=1, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
             configure_logging=False)
    try:
        with make_executor("mnist1d", kind="ray", workers=1, cache_dir=cache_dir) as executor:
            assert executor.workers == 1
            ok = executor.submit(request(seeds.mnist1d_cnn(), steps=20)).result(timeout=600)
            assert ok.ok, ok.error
            assert ok.params == 5210 and ok.steps == 20 and 0 <= ok.val_accuracy <= 1
            nan = executor.submit(request(mined("if self.training:\n    x = x * float('nan')"))).result(timeout=600)
            assert nan.failure == "diverged"
            refused = executor.submit(request(mined("os.system('true')"))).result(timeout=600)
            assert refused.failure == "sandbox" and "sandbox refused" in refused.error
            weights = tmp_path / "driver-side" / "mlp.safetensors"
            again = executor.submit(request(seeds.mlp(), steps=20, seed=1, weights_path=str(weights))).result(timeout=600)
            assert again.ok and again.params == 15210
            assert again.weights_file == str(weights) and weights.stat().st_size > 4 * 15210  # shipped by the actor
        assert ray.is_initialized()  # an executor never shuts down a Ray instance it did not start
    finally:
        ray.shutdown()
