"""End to end in headless Chromium: uvicorn + AuraMiddleware serve a page running AuraSocket.

The server streams a corpus slice; the page checks every message byte for byte and echoes it;
the server checks every echo. The same page with a plain WebSocket gets Chromium's
permessage-deflate. The AURA connection carries no permessage-deflate (nothing coded twice),
the dictionary is cached between the two AURA pages, and the socket carries fewer bytes than
permessage-deflate. Needs `npm ci && npm run build` in clients/typescript and Debian chromium.
"""

from __future__ import annotations



from aura_wire import train_dictionary
from _browser import need_browser
from conftest import load_corpus

async def test_chromium_aura_socket_round_trip_exact_and_smaller() -> None:
    need_browser()
    from benchmarks.browser_e2e import MODES, run_corpus

    train = load_corpus("logs_openssh", 600)
    stream = load_corpus("logs_openssh", 300, skip=600)
    r = await run_corpus(stream, train_dictionary(train, name="openssh"))
    for mode in MODES:
        page, server = r[mode]["page"], r[mode]["server"]
        assert page["pageErrors"] == [], page["pageErrors"]
        assert page["received"] == len(stream) and page["nMismatches"] == 0, page["mismatches"]
        assert server["echoed"] == len(stream) and server["echo_mismatches"] == 0
        assert page["code"] == 1000
    aura, plain = r["aura"]["page"], r["plain"]["page"]
    # the first AURA page fetched the dictionary over HTTP and cached it; this one named it (aura.have)
    assert aura["stats"]["dictionaryState"] == "in use"
    assert aura["extensions"] == ""  # nothing coded twice
    assert "permessage-deflate" in plain["extensions"]
    assert aura["stats"]["receivedMethods"].get("raw", 0) < len(stream)  # frames were actually coded
    # the echo went upstream in context mode (the server runs it): every frame decoded by the server's
    # context decoder and checked above against the corpus
    assert aura["stats"]["sentContextFrames"] == aura["stats"]["sentMessages"] == len(stream)
    assert r["aura"]["up"] < r["plain"]["up"], (r["aura"]["up"], r["plain"]["up"])
    assert r["aura"]["down"] < r["plain"]["down"], (r["aura"]["down"], r["plain"]["down"])
