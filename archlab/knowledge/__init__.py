"""archlab.knowledge: the experiment memory.

Every experiment is written by the campaign into its folder as an
`ExperimentRecord`; `Memory` indexes records in Chroma (embedded folder or
server) with locally computed embeddings, answers the agents' questions with
compact prompt-ready dicts, and lets the campaign skip structures it has
already trained (`lookup`). `reindex` rebuilds an index from a campaign folder.
An embedded folder is held by one process at a time (`MemoryBusy` when another
does not let go in time); a Chroma server takes many writers.
"""

from archlab.knowledge.embedders import HashingEmbedder, MiniLMEmbedder, TextEmbedder, make_embedder
from archlab.knowledge.errors import CorruptRecordWarning, IndexRebuiltWarning, KnowledgeError
from archlab.knowledge.experiment import Decision, ExperimentRecord, read_record
from archlab.knowledge.folder_lock import MemoryBusy, MemoryBusyWarning
from archlab.knowledge.memory import Memory
from archlab.knowledge.principles import Principle, load_principles
from archlab.knowledge.reindex import ReindexReport, open_memory, reindex
from archlab.knowledge.structure import arch_family, arch_summary, edit_summary, structural_vector

__all__ = [
    "CorruptRecordWarning",
    "Decision",
    "ExperimentRecord",
    "HashingEmbedder",
    "IndexRebuiltWarning",
    "KnowledgeError",
    "Memory",
    "MemoryBusy",
    "MemoryBusyWarning",
    "MiniLMEmbedder",
    "Principle",
    "ReindexReport",
    "TextEmbedder",
    "arch_family",
    "arch_summary",
    "edit_summary",
    "load_principles",
    "make_embedder",
    "open_memory",
    "read_record",
    "reindex",
    "structural_vector",
]
