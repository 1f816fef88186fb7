"""Issue 17: `archlab export` writes a trained model that stands on its own.

A real (tiny) MNIST-1D campaign confirms its best candidate, which keeps that
run's checked safetensors weights; the exported file then runs in a fresh Python
where `import archlab` fails, loads its weights with `build_model(pretrained=True)`
and scores the task's test split (rebuilt here, outside the export) to within
0.5 points of the accuracy the campaign recorded for that run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import campaign_fakes as fakes
from archlab.campaign import export_model, load_records, run_campaign, summarize
from archlab.campaign.workspace import Workspace
from archlab.records import ConfirmSpec
from archlab.sandbox import load_task
from archlab.sandbox.data import load_splits

pytestmark = pytest.mark.slow

STANDALONE = textwrap.dedent("""
    import importlib.util, json, sys
    sys.modules["archlab"] = None  # any `import archlab` in the exported file now raises ImportError
    import numpy as np, torch
    spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build_model(pretrained=True)
    data = np.load(sys.argv[2])
    with torch.no_grad():
        logits = model(torch.from_numpy(data["x_test"]).reshape(-1, *module.INPUT_SHAPE))
    accuracy = float((logits.argmax(1).numpy() == data["y_test"]).mean())
    print(json.dumps({"accuracy": accuracy, "training": model.training, "archlab": "archlab" in sys.modules
                      and sys.modules["archlab"] is not None, "shape": list(module.INPUT_SHAPE),
                      "classes": module.NUM_CLASSES}))
""")


def test_exported_model_loads_its_weights_without_archlab_and_reproduces_its_test_accuracy(tmp_path, settings,
                                                                                         cache_dir):
    settings = settings.model_copy(update={"recipe_overrides": {"steps": 150, "eval_every": 50}})
    spec = fakes.make_spec(evals=3, seeds=("mlp",)).model_copy(update={"confirm": ConfirmSpec(top_k=1, seeds=1)})
    summary = run_campaign(spec, tmp_path / "c", settings)
    best = summary.best
    assert best is not None and best.confirmed and best.weights_id is not None
    weights_run = next(r for r in load_records(Workspace(tmp_path / "c")) if r["id"] == best.weights_id)
    assert (tmp_path / "c" / weights_run["result"]["weights_file"]).is_file()  # the campaign kept them

    lines = export_model(tmp_path / "c", None, tmp_path / "out" / "model.py")
    assert (tmp_path / "out" / "model.safetensors").is_file(), lines
    source = (tmp_path / "out" / "model.py").read_text()
    assert f"Experiment {best.id}" in source and "input 1x40" in source and "10 classes" in source
    assert "pickle" not in source.replace("(unlike pickle)", "")

    task = load_task("mnist1d", cache_dir)  # the test split, rebuilt from the task, not from the campaign
    splits = load_splits(Path(task.data_file), task.val_fraction, task.split_seed)
    np.savez(tmp_path / "test.npz", x_test=splits.x_test.astype(np.float32), y_test=splits.y_test)
    done = subprocess.run([sys.executable, "-I", "-c", STANDALONE, str(tmp_path / "out" / "model.py"),
                           str(tmp_path / "test.npz")], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["archlab"] is False and out["training"] is False
    assert out["shape"] == [1, 40] and out["classes"] == 10
    recorded = weights_run["result"]["test_accuracy"]
    assert abs(out["accuracy"] - recorded) <= 0.005, (out["accuracy"], recorded)
    assert summarize(tmp_path / "c").best.id == best.id
