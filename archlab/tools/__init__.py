"""archlab.tools: architecture trees that always compile.

The public API (other rooms and outside scripts use only these names):

- `Arch`, `Node`, `MinedOp`: the tree (pydantic; `model_validate_json` /
  `model_dump_json` round-trip exactly, malformed input raises ArchError).
- `validate(arch, input_shape) -> list[str]`: empty when valid.
- `build(arch, input_shape, num_classes, allow_code=False) -> nn.Module`.
- `render(arch, input_shape, num_classes) -> str`: standalone source with `build_model()`.
- `legal_edits(arch, input_shape, donor=None, kinds=None, path=None, macros=False,
  budget=None) -> list[Edit]`, `Edit`, `Domain`, `SizeBudget`, `EDIT_KINDS` (plain),
  `MACRO_KINDS` (stem, downsample, deepen, widen, make_room), `ALL_KINDS`,
  `apply(arch, edit, input_shape=None) -> Arch`.
- `tree_params(arch, input_shape, num_classes) -> int | None`: parameters without building.
- `arch_hash(arch) -> str`, `canonical(arch)`.
- `cell_space(arch) -> CellSpace | None`, `cell_spaces()`: closed cell spaces (a benchmark's
  cell as one op), described by data so search and campaign name no benchmark.
- `count_params`, `count_flops`, `measure_latency`.
- `seeds.mlp()`, `seeds.mnist1d_cnn()`, `seeds.by_name(name)`.
- `mine(path_or_module, source=None) -> MiningReport`, `with_mined(arch, *ops)`:
  code mining (executes the source: sandbox only; see mining.py).
- `ArchError`, `EditError`, `MiningError`: one-line messages.

Nothing here knows about agents, search or language models.
"""

from archlab.tools import seeds
from archlab.tools.canonical import arch_hash, canonical
from archlab.tools.compile import build
from archlab.tools.edits import ALL_KINDS, EDIT_KINDS, MACRO_KINDS, Domain, Edit, SizeBudget, apply, legal_edits
from archlab.tools.errors import ArchError, EditError, MiningError
from archlab.tools.ir import Arch, MinedOp, MinedParam, Node
from archlab.tools.metrics import count_flops, count_params, measure_latency
from archlab.tools.mining import MiningReport, mine, with_mined
from archlab.tools.params import tree_params
from archlab.tools.render import load_rendered, render
from archlab.tools.shapes import validate
from archlab.tools.ops.registry import cell_space, cell_spaces
from archlab.tools.ops.spec import CellSpace

__all__ = [
    "Arch", "Node", "MinedOp", "MinedParam", "validate", "build", "render", "load_rendered",
    "legal_edits", "apply", "Edit", "Domain", "EDIT_KINDS", "MACRO_KINDS", "ALL_KINDS", "SizeBudget",
    "arch_hash", "canonical", "count_params", "count_flops", "measure_latency", "tree_params", "seeds",
    "ArchError", "EditError", "MiningError", "mine", "with_mined", "MiningReport",
    "CellSpace", "cell_space", "cell_spaces",
]
