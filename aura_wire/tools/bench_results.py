"""The benchmark's results as values: per peer, per corpus, the report, the thresholds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


@dataclass
class PeerResult:
    """One peer on one corpus."""

    peer: str
    label: str
    original_bytes: int
    wire_bytes: int
    ratio: float
    encode_us_median: float
    decode_us_median: float
    encode_us_p99: float
    memory_bytes: int
    memory_method: str
    traced_memory_bytes: int | None
    stateful: bool
    fanout_encodes: int
    fanout_ms: float
    method_counts: dict[str, int] = field(default_factory=dict)
    template_hit_rate: float | None = None


@dataclass
class CorpusResult:
    corpus: str
    path: str
    messages_total: int
    train_messages: int
    measured_messages: int
    original_bytes: int
    train_seconds: float
    dictionary_bytes: int
    zstd_dictionary: str
    peers: dict[str, PeerResult]


@dataclass
class TargetResult:
    name: str
    passed: bool
    value: float
    threshold: float
    detail: str


@dataclass
class BenchReport:
    version: str
    compiled: bool
    python: str
    platform: str
    cpus: int
    features: dict[str, bool]
    limit: int | None
    settings: dict[str, Any]
    corpora: list[CorpusResult]
    geomean: dict[str, float]
    encode_us_median: dict[str, float]
    decode_us_median: dict[str, float]
    memory_bytes: dict[str, int]
    fanout_ms: dict[str, float]
    targets: list[TargetResult]
    seconds: float
    compiled_vs_pure: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def geomean(values: Sequence[float]) -> float:
    vals = [v for v in values if v > 0]
    if not vals:
        return 0.0
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
