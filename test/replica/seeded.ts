import { createHash } from 'node:crypto';

// Everything random in the replica is derived from (seed, key) rather than from one running
// stream, so any single payload or fault decision can be produced on its own, in any order, and
// still come out the same.

function digest(seed: number, key: string): Buffer {
  return createHash('sha256').update(`${seed}\u0000${key}`).digest();
}

/** A lowercase, version-4-shaped UUID that is a pure function of seed and key. */
export function uuidFor(seed: number, key: string): string {
  const bytes = digest(seed, `uuid:${key}`);
  bytes.writeUInt8((bytes.readUInt8(6) & 0x0f) | 0x40, 6);
  bytes.writeUInt8((bytes.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** sfc32: small, fast and good enough for test data; seeded from sha256(seed, key). */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number, key: string) {
    const bytes = digest(seed, `rng:${key}`);
    this.#a = bytes.readUInt32LE(0);
    this.#b = bytes.readUInt32LE(4);
    this.#c = bytes.readUInt32LE(8);
    this.#d = bytes.readUInt32LE(12);
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (((this.#c << 21) | (this.#c >>> 11)) + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Fisher–Yates over a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}
