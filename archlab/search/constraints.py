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


class CapCheck:
    """The default "fits" judge of a strategy: does a tree meet the parameter and FLOP caps?

    Latency is left to the campaign's check (it is a measurement). Without `num_classes`
    the head is counted for 2 classes, a lower bound. A tree carrying mined ops is never
    sized here: building it runs the coder's code, which only a sandbox may do, so the
    campaign passes its own judge for those (see `make_strategy(fits=...)`).
    """

    def __init__(self, constraints: Constraints, input_shape: tuple[int, ...], num_classes: int | None) -> None:
        self.limits = Constraints(max_params=constraints.max_params, max_flops=constraints.max_flops)
        self.input_shape = tuple(input_shape)
        self.num_classes = num_classes or 2
        self._memo: dict[str, bool] = {}

    def __call__(self, arch: Any) -> bool:
        if self.limits.max_params is None and self.limits.max_flops is None:
            return True
        if arch.mined:
            return False
        from archlab import tools

        key = tools.arch_hash(arch)
        if key not in self._memo:
            self._memo[key] = check_constraints(arch, self.input_shape, self.num_classes, self.limits) is None
        return self._memo[key]
