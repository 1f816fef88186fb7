"""archlab: neural-architecture discovery with language-model agents.

Rooms (see DESIGN.md): tools/ (the architecture tree), sandbox/ (training),
knowledge/ (memory), llm/ (model client), prompts/ (templates), agents/,
search/ (the deterministic backbone), campaign/ (orchestration), report/, cli.
"""

__version__ = "0.1.0"
