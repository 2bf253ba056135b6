/** Turns a response body into JSON, refusing invalid UTF-8 and malformed JSON with a clear reason. */
import { PayloadError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeJson(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new PayloadError('invalid UTF-8 in the body');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PayloadError(`malformed JSON (${(error as Error).message.slice(0, 120)})`);
  }
}
