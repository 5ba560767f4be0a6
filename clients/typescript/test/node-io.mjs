// File access for the vector runner under Node: spec/vectors/ of this repository.
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";

// AURA_VECTORS: another vectors folder (for example a checkout with regenerated vectors)
export const VECTORS = process.env.AURA_VECTORS ?? fileURLToPath(new URL("../../../spec/vectors/", import.meta.url));

export const nodeIo = {
  async list(dir) {
    return (await readdir(VECTORS + dir)).filter((n) => n.endsWith(".json")).sort();
  },
  async json(path) {
    return JSON.parse(await readFile(VECTORS + path, "utf8"));
  },
  async bytes(path) {
    return new Uint8Array(await readFile(VECTORS + path));
  },
};
