/**
 * The optional ZSTD module (`aura-wire/zstd`): libzstd compiled to WebAssembly
 * (@bokuweb/zstd-wasm), the only well-kept npm decoder found with dictionary support
 * (`ZSTD_decompress_usingDict`, which also takes raw-content dictionaries as spec/wire-format.md
 * §4.2.1 needs). Load it once with `await loadZstd()` and pass it as `codecs.zstd`.
 */
import { createDCtx, decompress, decompressUsingDict, init } from "@bokuweb/zstd-wasm";
import type { ZstdModule } from "./codecs.js";

let ready: Promise<ZstdModule> | null = null;

/** Initialise the WebAssembly module. `wasm`: the URL where zstd.wasm is served (default: beside
 * this file) or its bytes. */
export function loadZstd(wasm?: string | Uint8Array): Promise<ZstdModule> {
  // the web build of init() takes the wasm URL or bytes; the node typings omit the argument
  ready ??= (init as (p?: string) => Promise<void>)(wasm as string | undefined).then(() => {
    const dctx = createDCtx();
    const mod: ZstdModule = {
      decompress(frame: Uint8Array, dict: Uint8Array | null, size: number): Uint8Array {
        const opts = { defaultHeapSize: Math.max(size, 1) };
        return dict === null ? decompress(frame, opts) : decompressUsingDict(dctx, frame, dict, opts);
      },
    };
    return mod;
  });
  return ready;
}
