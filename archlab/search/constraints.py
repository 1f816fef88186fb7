"""Hard constraints, checked before a candidate is ever trained.

A candidate that breaks one gets a one-line reason and is counted, never
trained. Parameters and FLOPs are exact; latency is a CPU measurement and so
the only constraint whose verdict can differ between two machines.
"""

from __future__ import annotations

from typing import Any

from archlab.records import Constraints


def check_constraints(arch: Any, input_shape: tuple[int, ...], num_classes: int,
                      constraints: Constraints) -> str | None:
    """None when `arch` meets every limit, else one line naming the first broken one."""
    if constraints.max_params is None and constraints.max_flops is None and constraints.max_latency_ms is None:
        return None
    # Imported here: building torch modules is only needed when a limit is set.
    from archlab import tools

    problems = tools.validate(arch, input_shape)
    if problems:
        return f"invalid tree: {problems[0]}"
    module = tools.build(arch, input_shape, num_classes)
    if constraints.max_params is not None:
        params = tools.count_params(module)
        if params > constraints.max_params:
            return f"{params:,} parameters > max {constraints.max_params:,}"
    if constraints.max_flops is not None:
        flops = tools.count_flops(module, input_shape)
        if flops > constraints.max_flops:
            return f"{flops:,} FLOPs > max {constraints.max_flops:,}"
    if constraints.max_latency_ms is not None:
        latency = tools.measure_latency(module, input_shape)
        if latency > constraints.max_latency_ms:
            return f"latency {latency:.2f} ms > max {constraints.max_latency_ms:g} ms"
    return None
