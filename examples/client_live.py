"""An AURA client that prints the bandwidth it saves, live.

    python examples/client_live.py ws://127.0.0.1:8000/chat/general            # chat: sends corpus lines
    python examples/client_live.py ws://127.0.0.1:8001/generate --prompt "hi"  # LLM stream: reads tokens

Bytes are counted per direction: application bytes (raw) vs AURA frame bytes
(wire), plus CONTROL frames (dictionary sync).  ``--cache DIR`` picks the
dictionary cache (default: the per-user cache directory).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from _common import sample_messages
from aura_wire.client import Connection, connect


_last = [0.0]


def line(conn: Connection, *, force: bool = False) -> str:
    """The status line; empty when the last one was printed less than 0.2 s ago."""
    now = time.monotonic()
    if not force and now - _last[0] < 0.2:
        return ""
    _last[0] = now
    s = conn.stats
    raw = s.sent_raw_bytes + s.received_raw_bytes
    frames = s.sent_wire_bytes + s.received_wire_bytes
    saved = 100.0 * (raw - frames) / raw if raw else 0.0
    overall = 100.0 * (raw - frames - s.control_bytes) / raw if raw else 0.0
    dictionary = conn.dictionary_id[:12] if conn.dictionary_id else "none yet"
    return (f"\rsent {s.sent_messages} msgs {s.sent_raw_bytes}->{s.sent_wire_bytes} B | "
            f"received {s.received_messages} msgs {s.received_raw_bytes}->{s.received_wire_bytes} B | "
            f"saved {saved:5.1f}% ({overall:6.1f}% counting {s.control_bytes} B of dictionary sync) | "
            f"dictionary {dictionary}  ")


async def run(args: argparse.Namespace) -> None:
    async with connect(args.uri, dictionary_cache=args.cache, fetch=args.fetch) as conn:
        print(f"connected: AURA {'on' if conn.aura else 'off (plain WebSocket)'}")
        if args.prompt is not None:
            for _ in range(args.turns):
                await conn.send(args.prompt)
                async for msg in conn:
                    sys.stdout.write(line(conn))
                    sys.stdout.flush()
                    if isinstance(msg, str) and '"finish"' in msg:
                        break
        else:
            async def reader() -> None:
                async for _ in conn:
                    sys.stdout.write(line(conn))
                    sys.stdout.flush()

            task = asyncio.ensure_future(reader())
            for msg in sample_messages(args.corpus, args.count, skip=1000):
                await conn.send(msg)
                await asyncio.sleep(args.interval)
            await asyncio.sleep(0.5)
            task.cancel()
        sys.stdout.write(line(conn, force=True) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("uri")
    p.add_argument("--prompt", help="LLM mode: send this prompt and read the streamed answer")
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--corpus", default="chat_ubuntu_irc", help="chat mode: messages to send")
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--cache", default=None, help="dictionary cache directory")
    p.add_argument("--fetch", default="inband", choices=["inband", "http", "auto", "none"])
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
