// A Switchboard connector in JavaScript, for the fictional chat provider "Chatline".
//
// It is built into a WebAssembly component by `jco componentize` (StarlingMonkey, a
// SpiderMonkey build for WASI) against the contract in ../../sdk/wit, world `plugin`.
//
// - Webhook: Chatline POSTs one message as JSON,
//     {"id": "m-1", "from": {"id": 9007199254740993123, "name": "Ann Lee"},
//      "text": "Hello", "timestamp": 1795570000}
//   signed with `X-Chatline-Signature: sha256=<hex HMAC-SHA256 of the raw body>` under the
//   config value `webhook_secret`. The timestamp must be within `tolerance_secs` (default 300)
//   of when the host received the request (`received-at`, which a replay keeps).
// - Send: `POST {api_base}/v1/messages` with `{"to": "<user id>", "text": "..."}` and
//   `Authorization: Bearer <api_token>`; Chatline answers `{"id": "..."}`.
//
// Config: `webhook_secret`, `api_token`, `api_base` (default https://api.chatline.example),
// `tolerance_secs` (default 300).
//
// How the bindings map the WIT (componentize-js 0.23):
// - an interface export is an exported object named after the interface (`connector`),
//   its functions in camelCase (`handle-webhook` -> `handleWebhook`); records are plain
//   objects with camelCase fields; variants are `{ tag: 'kebab-name', val }`; enums are
//   strings; flags are objects of booleans; `option<T>` is the value or `undefined`;
//   `list<u8>` is a Uint8Array; `s64` (our `timestamp`) is a BigInt, both ways.
// - `result<T, E>`: return T for `ok`. Throwing gives `err`: a thrown value with an own
//   `payload` property is lowered from that payload (see `ChatlineError`), any other non-Error
//   value is lowered as it is, and a plain `Error` traps the call.
// - An export may be `async` (the runtime runs the event loop until the promise settles): that
//   is how `fetch` and `crypto.subtle` are used below.
// - Imported functions that return `result` return the `ok` value and throw a
//   `ComponentError` whose `payload` is the `err` value (a `host-error` here).

import { log as hostLog, config } from 'switchboard:connector/host@0.3.0';

const NAMESPACE = 'chatline:user';
const CHANNEL = 'chat';
const DEFAULT_API_BASE = 'https://api.chatline.example';
const DEFAULT_TOLERANCE_SECS = 300n;

// ---------------------------------------------------------------------------------------------
// Errors

/** A `connector-error`: thrown from an export, it becomes `err({ tag, val: message })`. */
class ChatlineError extends Error {
  constructor(tag, message) {
    super(message);
    // The bindings lower the own property `payload` of a thrown value as the `err` value.
    Object.defineProperty(this, 'payload', { value: { tag, val: message }, enumerable: true });
  }
}
const badRequest = (m) => new ChatlineError('bad-request', m);
const unauthorized = (m) => new ChatlineError('unauthorized', m);
const transient = (m) => new ChatlineError('transient', m);
const configError = (m) => new ChatlineError('config', m);
const unsupported = (m) => new ChatlineError('unsupported', m);

/** Logs through the host; a refused log line (quota) must not fail the call. */
function log(level, message) {
  try {
    hostLog(level, message);
  } catch {
    // `host-error` (e.g. quota-exceeded): the line is dropped.
  }
}

// ---------------------------------------------------------------------------------------------
// JSON with exact 64-bit integers
//
// JSON.parse reads every number as an IEEE double, exact only up to 2^53: Chatline's user id
// 9007199254740993123 would come back as 9007199254740993000, and two users whose ids differ
// past the 16th digit would merge into one customer. So numbers are read from the raw JSON
// text instead: the reviver's third argument (`context.source`, the "JSON.parse source text
// access" proposal, shipped in SpiderMonkey and so in StarlingMonkey) is the number's literal
// as it appears in the body. An integer literal that a double cannot hold exactly becomes a
// BigInt built from that text; `integerText` below then turns whatever the field holds
// (number, BigInt or string) into the exact decimal text, and refuses a rounded number.

// Module top-level code runs while the component is built (Wizer pre-initialization), so an
// engine without source text access fails the build here instead of rounding ids later.
if (JSON.parse('[9007199254740993]', (_k, v, ctx) => (_k === '0' ? ctx?.source : v))[0] !== '9007199254740993') {
  throw new Error('this JavaScript engine does not give JSON.parse revivers the source text');
}

function parseJsonExact(text) {
  return JSON.parse(text, (_key, value, context) => {
    if (typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context.source)) {
      return BigInt(context.source);
    }
    return value;
  });
}

/** The exact decimal text of an integer field (number, BigInt or digits in a string). */
function integerText(value, what) {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  throw badRequest(`${what} is not an integer`);
}

// ---------------------------------------------------------------------------------------------
// Signature

const encoder = new TextEncoder();

function hexToBytes(hex) {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** Compares two byte strings in a time that does not depend on where they first differ. */
function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** HMAC-SHA256 through the runtime's Web Crypto (StarlingMonkey implements it natively). */
async function hmacSha256(secret, message) {
  const key = await crypto.subtle.importKey(
    'raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
}

function header(request, name) {
  const wanted = name.toLowerCase();
  return request.headers.find((h) => h.name.toLowerCase() === wanted)?.value;
}

function requireConfig(key) {
  const value = config(key);
  if (value === undefined || value === '') throw configError(`config value \`${key}\` is not set`);
  return value;
}

function toleranceSecs() {
  const text = config('tolerance_secs');
  if (text === undefined) return DEFAULT_TOLERANCE_SECS;
  if (!/^\d+$/.test(text.trim()) || BigInt(text.trim()) <= 0n) {
    throw configError(`tolerance_secs must be a positive number of seconds, not \`${text}\``);
  }
  return BigInt(text.trim());
}

async function verifySignature(request) {
  const secret = requireConfig('webhook_secret');
  const value = header(request, 'X-Chatline-Signature');
  if (value === undefined) throw unauthorized('missing X-Chatline-Signature');
  const given = value.trim().startsWith('sha256=') ? hexToBytes(value.trim().slice(7)) : undefined;
  if (given === undefined) throw unauthorized('X-Chatline-Signature is not `sha256=<hex>`');
  const expected = await hmacSha256(secret, request.body);
  if (!bytesEqual(given, expected)) {
    throw unauthorized('X-Chatline-Signature does not match the body under webhook_secret');
  }
}

// ---------------------------------------------------------------------------------------------
// The connector

function parseMessage(body) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw badRequest('the body is not UTF-8');
  }
  let json;
  try {
    json = parseJsonExact(text);
  } catch (e) {
    throw badRequest(`the body is not JSON: ${e.message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw badRequest('the body is not a JSON object');
  }
  const { id, from, text: messageText, timestamp } = json;
  if (typeof id !== 'string' || id === '') throw badRequest('`id` is not a non-empty string');
  if (from === null || typeof from !== 'object') throw badRequest('`from` is not an object');
  if (from.name !== undefined && from.name !== null && typeof from.name !== 'string') {
    throw badRequest('`from.name` is not a string');
  }
  if (typeof messageText !== 'string') throw badRequest('`text` is not a string');
  return {
    id,
    fromId: integerText(from.id, '`from.id`'),
    fromName: from.name || undefined,
    text: messageText,
    timestampSecs: BigInt(integerText(timestamp, '`timestamp`')),
  };
}

/** Refuses a message whose timestamp is outside the window around when the host received it. */
function checkWindow(request, timestampSecs) {
  const tolerance = toleranceSecs();
  // `received-at` (ms, BigInt) is when the host first received the request; a replay of a
  // dead letter keeps it, so the check does not depend on when the replay runs.
  const receivedAt = request.receivedAt > 0n ? request.receivedAt : BigInt(Date.now());
  const age = receivedAt / 1000n - timestampSecs;
  // A timestamp far in the future is refused too: it would let a captured request be
  // replayed until then.
  if (age > tolerance || -age > tolerance) {
    throw unauthorized(`the message timestamp is ${age} s from when it was received, outside the ${tolerance} s tolerance`);
  }
}

function recipient(message) {
  for (const identifier of message.to) {
    if (identifier.tag === 'external' && identifier.val.namespace === NAMESPACE) {
      return identifier.val.value;
    }
  }
  throw badRequest(`the customer has no ${NAMESPACE} id`);
}

function errorForStatus(status, detail) {
  const message = `Chatline answered ${status}: ${detail.slice(0, 300)}`;
  if (status === 429 || status >= 500) return transient(message);
  if (status === 401 || status === 403) return configError(message);
  return badRequest(message);
}

export const connector = {
  manifest() {
    return {
      id: 'js-hello',
      version: '0.1.0',
      displayName: 'Chatline (JavaScript example)',
      channels: [CHANNEL],
      capabilities: { webhook: true, poll: false, send: true, geocode: false },
      namespaces: [NAMESPACE],
    };
  },

  async handleWebhook(request) {
    if (request.method !== "POST") throw badRequest(`unexpected method ${request.method}`);
    // The signature first: nothing of an unauthenticated body is looked at.
    await verifySignature(request);
    const message = parseMessage(request.body);
    checkWindow(request, message.timestampSecs);
    log('debug', `message ${message.id} from ${NAMESPACE}:${message.fromId}`);
    const contact = {
      identifiers: [{
        identifier: { tag: 'external', val: { namespace: NAMESPACE, value: message.fromId } },
        provenance: 'verified',
      }],
      displayName: message.fromName,
      givenName: undefined,
      familyName: undefined,
      locale: undefined,
      attributes: [],
    };
    const interaction = {
      providerId: message.id,
      kind: 'message',
      direction: 'inbound',
      contact,
      channel: CHANNEL,
      threadId: undefined,
      subject: undefined,
      text: message.text,
      occurredAt: message.timestampSecs * 1000n,
      status: undefined,
      attachments: [],
      attributes: [],
    };
    return {
      response: { status: 200, headers: [], body: new Uint8Array() },
      events: [{ tag: 'interaction', val: interaction }],
    };
  },

  poll(_cursor) {
    throw unsupported('Chatline pushes messages by webhook; there is nothing to poll');
  },

  async send(message) {
    const to = recipient(message);
    const token = requireConfig('api_token');
    const base = (config('api_base') || DEFAULT_API_BASE).replace(/\/+$/, '');
    let response;
    try {
      // `fetch` goes out through wasi:http/outgoing-handler: the host lets it reach only the
      // hosts the operator allowed for this connector.
      response = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        // `to` stays the exact text of the id: never a Number.
        body: JSON.stringify({ to, text: message.text }),
      });
    } catch (e) {
      // StarlingMonkey's fetch reports every failure as `TypeError: NetworkError when
      // attempting to fetch resource`, without the wasi:http error code: a destination the
      // host refused (not in `allowed_hosts`, which the Rust SDK reports as `config`) cannot be
      // told from a network failure here. The host logs the refused destination.
      throw transient(`Chatline could not be reached: ${e?.message ?? e}`);
    }
    const body = await response.text();
    if (response.status < 200 || response.status > 299) throw errorForStatus(response.status, body);
    let id;
    try {
      id = parseJsonExact(body).id;
    } catch {
      id = undefined;
    }
    if (typeof id === 'bigint' || typeof id === 'number') id = integerText(id, '`id`');
    if (typeof id !== 'string' || id === '') {
      throw badRequest(`Chatline accepted the message but answered no id: ${body.slice(0, 300)}`);
    }
    return { providerId: id, threadId: undefined, status: 'sent', sentAt: BigInt(Date.now()) };
  },

  geocode(_address) {
    throw unsupported('Chatline does not geocode');
  },
};
