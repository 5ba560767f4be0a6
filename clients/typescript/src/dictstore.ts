/**
 * Where a page keeps dictionaries between visits (spec/session.md §6.5, §6.6): the Cache API,
 * keyed by the dictionary's URL, else memory. Whatever a store returns is verified by hash before
 * use (`Dictionary.fromBytes(bytes, id)`), and a corrupt entry is deleted and fetched again.
 */

export interface DictionaryStore {
  /** Ids the store believes it holds (read synchronously: the offer is built at construction). */
  heldIds(): string[];
  get(id: string): Promise<Uint8Array | null>;
  put(id: string, bytes: Uint8Array): Promise<void>;
  delete(id: string): Promise<void>;
}

/** Process-lifetime store (Node, or a page without the Cache API). */
export class MemoryStore implements DictionaryStore {
  private readonly m = new Map<string, Uint8Array>();
  heldIds(): string[] {
    return [...this.m.keys()];
  }
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

  /** The index of held ids lives in localStorage (when there is one), most recent first. */
  heldIds(): string[] {
    try {
      const v = globalThis.localStorage?.getItem(`${this.name}:ids`);
      const ids = v ? (JSON.parse(v) as unknown) : [];
      return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && /^[0-9a-f]{64}$/.test(x)) : [];
    } catch {
      return [];
    }
  }

  private setIds(ids: string[]): void {
    try {
      globalThis.localStorage?.setItem(`${this.name}:ids`, JSON.stringify(ids.slice(0, 16)));
    } catch {
      // no localStorage (a worker): held dictionaries are then only found after HELLO
    }
  }

  async get(id: string): Promise<Uint8Array | null> {
    const cache = await caches.open(this.name);
    const res = await cache.match(this.urlOf(id));
    return res === undefined ? null : new Uint8Array(await res.arrayBuffer());
  }

  async put(id: string, bytes: Uint8Array): Promise<void> {
    const cache = await caches.open(this.name);
    await cache.put(this.urlOf(id), new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/vnd.aura-wire.dictionary" } }));
    this.setIds([id, ...this.heldIds().filter((x) => x !== id)]);
  }

  async delete(id: string): Promise<void> {
    const cache = await caches.open(this.name);
    await cache.delete(this.urlOf(id));
    this.setIds(this.heldIds().filter((x) => x !== id));
  }
}

export function defaultStore(urlOf: (id: string) => string): DictionaryStore {
  return typeof caches !== "undefined" ? new CacheStore(urlOf) : new MemoryStore();
}
