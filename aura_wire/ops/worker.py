"""Continuous template discovery: train, evaluate, adopt and store dictionary versions.

:class:`TemplateDiscoveryWorker` is sans-I/O at its core: :meth:`run_once`
takes the current sample of traffic (from a :class:`SampleBuffer` fed by the
middleware, or from the audit log), trains a candidate with
:meth:`Dictionary.train`, and compares candidate and current dictionary on
held-back samples by the total frame bytes an :class:`Encoder` in context
mode produces (fresh encoder per simulated connection of
``messages_per_connection`` messages, since new connections are where a
dictionary matters most).  The candidate is adopted only when it is smaller
by ``min_improvement``; then it is written to the :class:`DictionaryStore`
(:class:`~aura_wire.ops.storage.FolderStore`: atomic writes, last ``keep_versions`` kept) and handed to
``on_new_dictionary``.  :meth:`run` is the thin asyncio wrapper that calls
:meth:`run_once` every ``discovery_interval`` seconds in a thread.

The store's files are named ``<id>.aura`` where ``id`` is the SHA-256 of the
content, so a corrupted file is detected on load, logged as an error and
ignored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from aura_wire.codec.dictionary import Dictionary
from aura_wire.codec.encoder import Encoder
from aura_wire.errors import AuraError, ConfigError
from aura_wire.ops.storage import FolderStore
from aura_wire.training import train_dictionary

__all__ = ["DictionaryStore", "SampleBuffer", "DiscoveryResult", "TemplateDiscoveryWorker", "evaluate_round",
           "frame_bytes"]

log = logging.getLogger("aura_wire.ops.worker")

#: The folder store's name before the store protocol (kept: it is public API).
DictionaryStore = FolderStore


class SampleBuffer:
    """A bounded, uniform sample of messages (reservoir sampling, Vitter's algorithm R).

    ``add`` is cheap and thread-safe; memory is at most ``capacity`` messages
    of at most ``max_message_bytes`` each (longer ones are not sampled).
    """

    def __init__(self, capacity: int = 5000, *, max_message_bytes: int = 64 * 1024, seed: int | None = None) -> None:
        if capacity < 1:
            raise ConfigError("capacity must be >= 1", field="sample_capacity")
        self.capacity = capacity
        self.max_message_bytes = max_message_bytes
        self._items: list[str | bytes] = []
        self._seen = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def add(self, message: str | bytes) -> None:
        if len(message) > self.max_message_bytes:
            return
        with self._lock:
            self._seen += 1
            if len(self._items) < self.capacity:
                self._items.append(message)
            else:
                j = self._rng.randrange(self._seen)
                if j < self.capacity:
                    self._items[j] = message

    @property
    def seen(self) -> int:
        """Messages offered since the last :meth:`clear`."""
        return self._seen

    def snapshot(self) -> list[str | bytes]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items = []
            self._seen = 0

    def __len__(self) -> int:
        return len(self._items)


def frame_bytes(dictionary: Dictionary | None, messages: Sequence[str | bytes], *,
                messages_per_connection: int = 50, codec: dict[str, Any] | None = None) -> int:
    """Total frame bytes for ``messages`` coded in context mode, a fresh Encoder per connection."""
    total = 0
    enc: Encoder | None = None
    for i, m in enumerate(messages):
        if enc is None or i % messages_per_connection == 0:
            enc = Encoder(dictionary, context=True, **(codec or {}))
        total += len(enc.encode(m))
    return total


@dataclass
class DiscoveryResult:
    """What one :meth:`TemplateDiscoveryWorker.run_once` did."""

    adopted: bool
    reason: str
    samples: int = 0
    holdout: int = 0
    current_bytes: int = 0
    candidate_bytes: int = 0
    candidate_id: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def improvement(self) -> float:
        """1 - candidate / current (positive when the candidate is smaller)."""
        return 1.0 - self.candidate_bytes / self.current_bytes if self.current_bytes else 0.0


def evaluate_round(
    data: list[str | bytes],
    current: bytes | None,
    *,
    min_message_count: int,
    holdout_fraction: float,
    min_improvement: float,
    messages_per_connection: int,
    train_options: dict[str, Any],
    codec: dict[str, Any],
    seed: int,
) -> tuple[DiscoveryResult, bytes | None]:
    """One discovery round on plain values (picklable, so it can run in another process).

    ``current`` is the serialized current dictionary (None: no dictionary).
    Returns the result and, when it should be adopted, the serialized candidate.
    """
    t0 = time.perf_counter()
    if len(data) < min_message_count:
        return DiscoveryResult(False, f"not enough samples ({len(data)} < {min_message_count})",
                               samples=len(data)), None
    cur = Dictionary.from_bytes(current) if current is not None else None
    rng = random.Random(seed)
    order = list(range(len(data)))
    rng.shuffle(order)
    n_hold = max(1, int(len(data) * holdout_fraction))
    hold_set = set(order[:n_hold])
    holdout = [data[i] for i in sorted(hold_set)]
    train = [data[i] for i in range(len(data)) if i not in hold_set]
    try:
        candidate = train_dictionary(train, **train_options)
    except (ValueError, AuraError) as exc:
        return DiscoveryResult(False, f"training failed: {exc}", samples=len(data), holdout=len(holdout)), None
    mpc = messages_per_connection
    cur_bytes = frame_bytes(cur, holdout, messages_per_connection=mpc, codec=codec)
    cand_bytes = frame_bytes(candidate, holdout, messages_per_connection=mpc, codec=codec)
    res = DiscoveryResult(False, "", samples=len(data), holdout=len(holdout), current_bytes=cur_bytes,
                          candidate_bytes=cand_bytes, candidate_id=candidate.id)
    chosen: bytes | None = None
    if cur is not None and candidate.id == cur.id:
        res.reason = "candidate is identical to the current dictionary"
    elif cand_bytes > cur_bytes * (1.0 - min_improvement):
        res.reason = (f"candidate not better by {min_improvement:.1%}: {cand_bytes} vs {cur_bytes} "
                      f"bytes on {len(holdout)} held-back messages")
    else:
        res.adopted = True
        res.reason = f"candidate {res.improvement:.1%} smaller on {len(holdout)} held-back messages"
        chosen = candidate.to_bytes()
    res.seconds = time.perf_counter() - t0
    log.info("template discovery: %s", res.reason)
    return res, chosen


class TemplateDiscoveryWorker:

    """Mine new dictionary versions from traffic and adopt them when they are clearly better.

    Parameters (defaults): ``discovery_interval`` (3600 s) between runs;
    ``min_message_count`` (100) samples needed to try; ``current``: the
    dictionary in use (None: compare against no dictionary); ``samples``: a
    :class:`SampleBuffer` (one is created when neither it nor ``audit_path``
    is given); ``audit_path``: read samples from an audit log instead;
    ``store``: a :class:`DictionaryStore` (None: keep versions in memory
    only); ``on_new_dictionary``: called with each adopted dictionary;
    ``holdout_fraction`` (0.2) of the samples is kept out of training for the
    evaluation; ``min_improvement`` (0.02): the candidate must make the
    held-back frames at least 2 % smaller; ``keep_versions`` (5);
    ``messages_per_connection`` (50); ``train_options``: keyword arguments of
    :meth:`Dictionary.train`; ``codec``: :class:`CodecConfig` keywords for the
    evaluation encoders; ``max_samples`` (5000) read from the audit log;
    ``executor`` for the asyncio wrapper's training (None: the loop's default
    thread pool; a ``ProcessPoolExecutor`` keeps pure-Python training off the
    event loop's GIL).
    """

    def __init__(
        self,
        discovery_interval: float = 3600,
        min_message_count: int = 100,
        *,
        current: Dictionary | None = None,
        samples: SampleBuffer | None = None,
        audit_path: str | os.PathLike[str] | None = None,
        store: DictionaryStore | None = None,
        on_new_dictionary: Callable[[Dictionary], None] | None = None,
        holdout_fraction: float = 0.2,
        min_improvement: float = 0.02,
        keep_versions: int = 5,
        messages_per_connection: int = 50,
        train_options: dict[str, Any] | None = None,
        codec: dict[str, Any] | None = None,
        max_samples: int = 5000,
        seed: int = 0,
        executor: concurrent.futures.Executor | None = None,
    ) -> None:
        if discovery_interval <= 0:
            raise ConfigError("discovery_interval must be > 0", field="discovery_interval")
        if min_message_count < 2:
            raise ConfigError("min_message_count must be >= 2", field="min_message_count")
        if not 0.0 < holdout_fraction < 1.0:
            raise ConfigError("holdout_fraction must be in (0, 1)", field="holdout_fraction")
        if not 0.0 <= min_improvement < 1.0:
            raise ConfigError("min_improvement must be in [0, 1)", field="min_improvement")
        if keep_versions < 1:
            raise ConfigError("keep_versions must be >= 1", field="keep_versions")
        if messages_per_connection < 1:
            raise ConfigError("messages_per_connection must be >= 1", field="messages_per_connection")
        if codec is not None:
            from aura_wire.codec.config import CodecConfig

            CodecConfig.from_mapping(codec)
        self.discovery_interval = float(discovery_interval)
        self.min_message_count = min_message_count
        self.samples = samples if samples is not None or audit_path is not None else SampleBuffer(seed=seed)
        self.audit_path = os.fspath(audit_path) if audit_path is not None else None
        self.store = store
        self.on_new_dictionary = on_new_dictionary
        self.holdout_fraction = holdout_fraction
        self.min_improvement = min_improvement
        self.keep_versions = keep_versions
        self.messages_per_connection = messages_per_connection
        self.train_options = dict(train_options or {})
        self.codec = dict(codec or {})
        self.max_samples = max_samples
        self.seed = seed
        self.executor = executor
        self.history: list[DiscoveryResult] = []
        self.versions: list[Dictionary] = []
        if current is None and store is not None:
            current = store.latest()
        self.current = current
        if current is not None:
            self.versions.append(current)

    # -- sans-I/O core ------------------------------------------------------
    def _collect(self) -> list[str | bytes]:
        if self.samples is not None:
            return self.samples.snapshot()
        if self.audit_path is not None:
            from aura_wire.ops.audit import read_audit_messages

            got: list[str | bytes] = list(read_audit_messages(self.audit_path, limit=self.max_samples))
            return got
        return []

    def run_once(self, messages: Sequence[str | bytes] | None = None) -> DiscoveryResult:
        """One discovery round over ``messages`` (default: the configured sample source).

        Trains, evaluates, and when the candidate wins, stores it, makes it
        current and calls ``on_new_dictionary`` (all in the calling thread).
        """
        data = list(messages) if messages is not None else self._collect()
        res, candidate = self._evaluate(data)
        if candidate is not None:
            if self.store is not None:
                self.store.save(candidate)
            self._adopt(candidate)
        self.history.append(res)
        return res

    def _evaluate(self, data: list[str | bytes]) -> tuple[DiscoveryResult, Dictionary | None]:
        """Train and compare; the candidate is returned only when it should be adopted.  No side effects."""
        res, blob = evaluate_round(data, self.current.to_bytes() if self.current is not None else None,
                                   **self._round_options())
        return res, (Dictionary.from_bytes(blob) if blob is not None else None)

    def _round_options(self) -> dict[str, Any]:
        return {"min_message_count": self.min_message_count, "holdout_fraction": self.holdout_fraction,
                "min_improvement": self.min_improvement, "messages_per_connection": self.messages_per_connection,
                "train_options": self.train_options, "codec": self.codec, "seed": self.seed + len(self.history)}

    def _adopt(self, candidate: Dictionary) -> None:
        self.current = candidate
        self.versions.append(candidate)
        del self.versions[: -self.keep_versions]
        if self.on_new_dictionary is not None:
            self.on_new_dictionary(candidate)

    def version(self, dict_id: str) -> Dictionary | None:
        """A kept version by id (for connections still on an older dictionary)."""
        for d in self.versions:
            if d.id == dict_id:
                return d
        if self.store is not None and dict_id in self.store.versions():
            return self.store.load(dict_id)
        return None

    # -- asyncio wrapper ----------------------------------------------------
    async def run(self) -> None:
        """Run a round every ``discovery_interval`` seconds, until cancelled.

        Training and evaluation run in ``executor``, the store write in a
        thread; the adoption and ``on_new_dictionary`` run on the event loop's thread, so
        the callback may touch loop-owned state (``AuraMiddleware.set_dictionary``).
        A failing round is logged and the loop goes on: discovery is an
        optimisation and must never take the server down.
        """
        while True:
            await asyncio.sleep(self.discovery_interval)
            try:
                await self.run_round_async()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the loop alive; the traceback is logged
                log.exception("template discovery round failed")

    async def run_round_async(self) -> DiscoveryResult:
        """One round without blocking the event loop (see :meth:`run`)."""
        loop = asyncio.get_running_loop()
        data = self._collect() if self.samples is not None else await asyncio.to_thread(self._collect)
        current = self.current.to_bytes() if self.current is not None else None
        call = functools.partial(evaluate_round, data, current, **self._round_options())
        res, blob = await loop.run_in_executor(self.executor, call)
        if blob is not None:
            candidate = Dictionary.from_bytes(blob)
            if self.store is not None:
                await asyncio.to_thread(self.store.save, candidate)
            self._adopt(candidate)
        self.history.append(res)
        return res

    def start(self) -> asyncio.Task[None]:
        """Start :meth:`run` as a task of the running loop (cancel it to stop)."""
        return asyncio.get_running_loop().create_task(self.run(), name="aura-template-discovery")
