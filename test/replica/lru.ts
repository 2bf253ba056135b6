/**
 * Least-recently-used cache bounded by bytes, so big synthetic trees keep their hot bodies
 * without holding every generated body. `null` values (cached misses) cost only their key.
 */
export class ByteLru {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Buffer | null>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): Buffer | null | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      // Map iteration follows insertion order: re-inserting marks the entry most recent.
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: Buffer | null): void {
    this.#drop(key);
    this.#entries.set(key, value);
    this.#bytes += ByteLru.#cost(key, value);
    for (const oldest of this.#entries.keys()) {
      if (this.#bytes <= this.#maxBytes || this.#entries.size <= 1) break;
      this.#drop(oldest);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #drop(key: string): void {
    const value = this.#entries.get(key);
    if (value === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= ByteLru.#cost(key, value);
  }

  static #cost(key: string, value: Buffer | null): number {
    return key.length + (value?.length ?? 0);
  }
}
