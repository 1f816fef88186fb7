"""Narrow adapters onto the search backbone for what it does not offer (yet).

The backbone (archlab/search, another room) matches each `observe` to its own
proposals first-in first-out, so steps the campaign takes on its own (a
fidelity promotion) must not go through `observe`. What a promotion teaches the
search is a better estimate of a tree it already holds: `supersede` swaps that
entry's Result for the full-fidelity one and rebuilds the archives that rank by
score, so the search compares a promoted candidate by its full-budget accuracy.
If search/ grows a public call for this, this module shrinks to that call.
"""

from __future__ import annotations

from typing import Any

from archlab.records import Result


def supersede(backbone: Any, exp_id: str, result: Result) -> bool:
    """Give the backbone's entry `exp_id` the higher-fidelity `result`; False if it holds none."""
    entries = getattr(backbone, "entries", None)
    if not result.ok or result.val_accuracy is None or not isinstance(entries, list):
        return False
    entry = next((e for e in entries if getattr(e, "id", None) == exp_id), None)
    if entry is None or getattr(entry, "descriptor", None) is None:
        return False
    entry.result = result  # population members are the same objects: they see it too
    _rebuild(backbone, entries)
    return True


def _rebuild(backbone: Any, entries: list[Any]) -> None:
    """Elites and Pareto front again from every entry in order (both rank by score)."""
    grid, pareto = getattr(backbone, "grid", None), getattr(backbone, "pareto", None)
    if grid is not None and hasattr(grid, "elites"):
        elites: dict[Any, Any] = {}
        for entry in entries:
            if entry.score is None or entry.descriptor is None:
                continue
            current = elites.get(entry.descriptor)
            if current is None or entry.score > (current.score or 0.0):
                elites[entry.descriptor] = entry
        grid.elites = elites
    if pareto is not None and hasattr(pareto, "members"):
        pareto.members = []
        for entry in entries:
            pareto.add(entry)


def make_campaign_backbone(**kwargs: Any) -> Any:
    """The search backbone, except that a tree using a mined op always "fits" its caps there.

    Sizing such a tree means building it, which runs the coder's code: only a sandbox
    worker may do that, so the campaign sends those trees with a worker-side
    constraint check instead (`EvalRequest.constraints`). Overrides the backbone's
    private `_fits` (the one place it builds trees); ask search/ for a public hook.
    """
    from archlab.search import Backbone

    from archlab.campaign.modules import uses_mined

    class CampaignBackbone(Backbone):  # type: ignore[misc, valid-type]
        def _fits(self, arch: Any) -> bool:
            if getattr(arch, "mined", None) and uses_mined(arch.model_dump(mode="json")):
                return True
            return super()._fits(arch)

    return CampaignBackbone(**kwargs)
