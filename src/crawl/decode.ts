/**
 * Turns a response body into JSON. Valid UTF-8 takes one strict decode and JSON.parse, as cheap
 * as it gets. Invalid UTF-8 is not a reason to lose a list: the bad bytes become U+FFFD (as any
 * browser would show them) and every string that held one is named by its JSON pointer, so the
 * caller can say which items were repaired. A body that is not JSON at all is an
 * UnparseableBodyError: a cut-short body or a proxy's error page, worth fetching again.
 */
import { PayloadError, UnparseableBodyError, describeError } from '../errors.js';
import { isObject } from '../record.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export interface DecodedBody {
  readonly value: unknown;
  /** JSON pointers of the strings (values or keys) in which bad bytes were replaced; usually empty. */
  readonly repaired: readonly string[];
}

/** Strict: invalid UTF-8 and malformed JSON are PayloadErrors (the canary reports them as drift). */
export function decodeJson(body: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new PayloadError('invalid UTF-8 in the body');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PayloadError(`malformed JSON (${describeError(error).slice(0, 120)})`);
  }
}

/** The crawler's decode: repairs bad bytes, throws UnparseableBodyError for a body that is not JSON. */
export function decodeBody(body: Buffer): DecodedBody {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    return decodeRepairing(body);
  }
  return { value: parseOrExplain(text, body.length), repaired: [] };
}

/** `marker`: what stands for each invalid byte sequence in `text` (decodeRepairing), shown as U+FFFD. */
function parseOrExplain(text: string, bytes: number, marker?: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!text.trim())
      throw new UnparseableBodyError(bytes ? `body is blank (${bytes} bytes of whitespace)` : 'body is empty');
    const start = text.trimStart().slice(0, 40).replace(/\s+/g, ' ');
    const shown = marker === undefined ? start : start.replaceAll(marker, '\ufffd');
    throw new UnparseableBodyError(
      `body is not JSON (${describeError(error).slice(0, 120)}; ${bytes} bytes starting ${JSON.stringify(shown)})`,
    );
  }
}

/**
 * The slow path. Each bad sequence is first decoded as a lone surrogate, a code unit that valid
 * UTF-8 can never produce, so after parsing the strings that hold one are exactly the repaired
 * ones (a genuine U+FFFD sent as valid bytes is left alone and not reported). The marker then
 * becomes U+FFFD. Only if the JSON text itself spells that surrogate as an escape is another one
 * picked.
 */
function decodeRepairing(body: Buffer): DecodedBody {
  const marker = pickMarker(body);
  const parts: string[] = [];
  let from = 0;
  for (const [start, end] of invalidRanges(body)) {
    parts.push(strictUtf8.decode(body.subarray(from, start)), marker);
    from = end;
  }
  parts.push(strictUtf8.decode(body.subarray(from)));
  const repaired: string[] = [];
  const value = replaceMarkers(parseOrExplain(parts.join(''), body.length, marker), marker, '', repaired);
  return { value, repaired };
}

function pickMarker(body: Buffer): string {
  const text = body.toString('latin1').toLowerCase();
  for (let unit = 0xdfff; unit >= 0xdc00; unit--) {
    if (!text.includes(`\\u${unit.toString(16)}`)) return String.fromCharCode(unit);
  }
  return '\udfff'; // unreachable: a body escaping all 1024 low surrogates
}

/** Walks the parsed value, swapping markers for U+FFFD and noting each repaired string's pointer. */
function replaceMarkers(node: unknown, marker: string, pointer: string, repaired: string[]): unknown {
  if (typeof node === 'string') {
    if (!node.includes(marker)) return node;
    repaired.push(pointer);
    return node.replaceAll(marker, '\ufffd');
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) node[i] = replaceMarkers(node[i], marker, `${pointer}/${i}`, repaired);
    return node;
  }
  if (isObject(node)) {
    const object = node;
    if (!Object.keys(object).some((key) => key.includes(marker))) {
      for (const key of Object.keys(object))
        object[key] = replaceMarkers(object[key], marker, `${pointer}/${escapePointer(key)}`, repaired);
      return object;
    }
    // A repaired key: rebuild the object in order with the repaired names.
    const rebuilt: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(object)) {
      const name = key.includes(marker) ? key.replaceAll(marker, '\ufffd') : key;
      if (name !== key) repaired.push(`${pointer}/${escapePointer(name)}`);
      rebuilt[name] = replaceMarkers(child, marker, `${pointer}/${escapePointer(name)}`, repaired);
    }
    return rebuilt;
  }
  return node;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * The byte ranges [start, end) a WHATWG UTF-8 decoder replaces with one U+FFFD each (maximal
 * subparts of ill-formed sequences, the same count of replacements TextDecoder would make).
 */
export function* invalidRanges(bytes: Uint8Array): Generator<[number, number]> {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let needed: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) needed = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      needed = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      needed = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      yield [i, i + 1];
      i++;
      continue;
    }
    let j = i + 1;
    let seen = 0;
    while (seen < needed && j < bytes.length && bytes[j]! >= lower && bytes[j]! <= upper) {
      lower = 0x80;
      upper = 0xbf;
      seen++;
      j++;
    }
    if (seen < needed) yield [i, j];
    i = j;
  }
}

/**
 * Groups repaired string pointers by the list item holding them (`/events/3`), given the
 * endpoint's item lists; a string outside every item belongs to the payload, pointer ''.
 */
export function repairedItems(pointers: readonly string[], itemLists: readonly string[]): Map<string, string[]> {
  const byItem = new Map<string, string[]>();
  for (const pointer of pointers) {
    const item =
      itemLists
        .map((list) => new RegExp(`^${list}/\\d+(?=/|$)`).exec(pointer)?.[0])
        .find((match) => match !== undefined) ?? '';
    byItem.set(item, [...(byItem.get(item) ?? []), pointer]);
  }
  return byItem;
}
