// A tiny static HTTP server on 127.0.0.1 for the browser tests: /dist/* (the bundles),
// /test/* (the shared test code), /vectors/* (spec/vectors, with /vectors/index.json listing it).
import { readFile, readdir } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { VECTORS } from "./node-io.mjs";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json", ".wasm": "application/wasm", ".html": "text/html" };

export async function serveStatic(pages = {}) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const path = decodeURIComponent(url.pathname);
    try {
      if (pages[path] !== undefined) {
        res.writeHead(200, { "content-type": "text/html" });
        res.end(pages[path]);
        return;
      }
      let file;
      if (path === "/vectors/index.json") {
        const index = {};
        for (const d of ["wire", "brio", "templates", "dictionaries", "session"]) index[d] = (await readdir(VECTORS + d)).filter((n) => n.endsWith(".json")).sort();
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(index));
        return;
      }
      if (path.startsWith("/vectors/")) file = VECTORS + path.slice(9);
      else if (path.startsWith("/dist/") || path.startsWith("/test/")) file = ROOT + path.slice(1);
      if (file === undefined || path.includes("..")) throw new Error("not found");
      const body = await readFile(file);
      const ext = path.slice(path.lastIndexOf("."));
      res.writeHead(200, { "content-type": TYPES[ext] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}
