// Bundle the package: one minified ESM file for the core, one per optional codec module.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const common = { bundle: true, format: "esm", minify: true, sourcemap: true, target: "es2022", platform: "neutral", logLevel: "warning" };
mkdirSync("dist", { recursive: true });
await build({ ...common, entryPoints: ["src/index.ts"], outfile: "dist/aura-wire.js" });
await build({ ...common, entryPoints: ["src/zstd.ts"], outfile: "dist/aura-wire-zstd.js", platform: "browser" });
await build({ ...common, entryPoints: ["src/brotli.ts"], outfile: "dist/aura-wire-brotli.js", platform: "browser" });
copyFileSync("node_modules/@bokuweb/zstd-wasm/dist/web/zstd.wasm", "dist/zstd.wasm");
