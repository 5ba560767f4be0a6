"""The codec: pure functions and small classes over bytes (no I/O, no asyncio)."""
