/**
 * Where a page keeps dictionaries between visits (spec/session.md §6.5, §6.6): the Cache API,
 * keyed by the dictionary's URL, else memory. Whatever a store returns is verified by hash before
 * use (`Dictionary.fromBytes(bytes, id)`), and a corrupt entry is deleted and fetched again.
 */

export interface DictionaryStore {
  get(id: string): Promise<Uint8Array | null>;
  put(id: string, bytes: Uint8Array): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Process-lifetime store (Node, or a page without the Cache API). */
export class MemoryStore implements DictionaryStore {
  private readonly m = new Map<string, Uint8Array>();
  async get(id: string): Promise<Uint8Array | null> {
    return this.m.get(id) ?? null;
  }
  async put(id: string, bytes: Uint8Array): Promise<void> {
    this.m.set(id, bytes);
  }
  async delete(id: string): Promise<void> {
    this.m.delete(id);
  }
}

/** The Cache API (secure contexts: https, or http on localhost/127.0.0.1). */
export class CacheStore implements DictionaryStore {
  constructor(
    private readonly urlOf: (id: string) => string,
    private readonly name = "aura-wire-dictionaries",
  ) {}

  async get(id: string): Promise<Uint8Array | null> {
    const cache = await caches.open(this.name);
    const res = await cache.match(this.urlOf(id));
    return res === undefined ? null : new Uint8Array(await res.arrayBuffer());
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    const cache = await caches.open(this.name);
    await cache.put(this.urlOf(id), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/vnd.aura-wire.dictionary" } }));
  }

  async delete(id: string): Promise<void> {
    const cache = await caches.open(this.name);
    await cache.delete(this.urlOf(id));
  }
}

export function defaultStore(urlOf: (id: string) => string): DictionaryStore {
  return typeof caches !== "undefined" ? new CacheStore(urlOf) : new MemoryStore();
}
