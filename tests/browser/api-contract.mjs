// The person's page's fetch layer (web-client/api.js) held against the
// relay's OpenAPI document (built by the ozvi-api crate; the Rust test
// tests/tests/api_contract.rs passes its path). Every function api.js
// exports is called with a fake `fetch` that records the request and
// answers with a response the document allows; each request must be a
// route of the document, with exactly its query parameters and headers
// (in their stated formats) and a body valid against its schema. Error
// answers of every documented status must become a RelayError with a key
// the page can show. No network, no browser: Node only.
//
// Usage: node api-contract.mjs <openapi.json> <web-client/api.js>

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [docPath, apiPath] = process.argv.slice(2);
if (!docPath || !apiPath) {
  console.error('usage: node api-contract.mjs <openapi.json> <api.js>');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(docPath, 'utf8'));
const failures = new Set();
const fail = (message) => failures.add(message);

// ---- A small JSON Schema reader for the subset the document uses. ----
function resolve(schema) {
  let s = schema;
  while (s && s.$ref) {
    const name = s.$ref.replace('#/components/schemas/', '');
    s = doc.components.schemas[name];
    if (!s) throw new Error(`unknown schema ${name}`);
  }
  return s;
}

function typeOf(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** Problems of `value` against `schema`, at `where`. */
function validate(value, schema, where) {
  const s = resolve(schema);
  if (!s) return [];
  for (const key of ['oneOf', 'anyOf']) {
    if (s[key]) {
      const fits = s[key].filter((alt) => validate(value, alt, where).length === 0).length;
      return fits >= 1 ? [] : [`${where}: fits none of ${key}`];
    }
  }
  if (s.allOf) return s.allOf.flatMap((alt) => validate(value, alt, where));
  const problems = [];
  const types = s.type === undefined ? [] : [].concat(s.type);
  const actual = typeOf(value);
  const typeFits = types.length === 0 || types.includes(actual)
    || (actual === 'integer' && types.includes('number'));
  if (!typeFits) return [`${where}: ${actual}, not ${types.join('|')}`];
  if (s.enum && !s.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of the values`);
  if (actual === 'string' && s.pattern && !new RegExp(s.pattern, 'u').test(value)) {
    problems.push(`${where}: ${JSON.stringify(value)} does not match ${s.pattern}`);
  }
  if (actual === 'integer' && s.minimum !== undefined && value < s.minimum) {
    problems.push(`${where}: below ${s.minimum}`);
  }
  if (actual === 'array' && s.items) {
    value.forEach((item, i) => problems.push(...validate(item, s.items, `${where}[${i}]`)));
  }
  if (actual === 'object') {
    const properties = s.properties ?? {};
    for (const name of s.required ?? []) {
      if (!(name in value)) problems.push(`${where}: required member \`${name}\` is missing`);
    }
    for (const [name, member] of Object.entries(value)) {
      if (properties[name]) problems.push(...validate(member, properties[name], `${where}.${name}`));
      else if (s.additionalProperties === false) problems.push(`${where}: unknown member \`${name}\``);
    }
  }
  return problems;
}

// ---- The fake fetch. ----
const person = {
  mailboxId: 'AAECAwQFBgcICQoLDA0ODw',
  authSecret: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8',
  verifier: 'HxwdHhscGRoXGBUWExQREg8QDQ4LDAkKBwgFBgMEAQI',
};
const envelope = 'AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA';

/** A success body the document allows for `route` (checked, too). */
function sample(path, method) {
  switch (`${method} ${path}`) {
    case 'GET /api/v1/config': return { root_key: person.authSecret };
    case 'POST /api/v1/pow': return { challenge: 'AAEC', difficulty: 4 };
    case 'POST /api/v1/threads':
    case 'POST /api/v1/mailbox/messages': return { seq: 2 };
    case 'GET /api/v1/mailbox/messages':
      return { centre: 'ic-zlin', last_seq: 2, read_through: 1, messages: [{ seq: 1, stored_at: 1800000000, envelope }, { seq: 2, stored_at: 1800000060, envelope }] };
    default: return undefined;
  }
}

const seen = new Set();
let answerWith = null; // { status, code } to answer every request with an error

function operationFor(method, path) {
  const item = doc.paths[path];
  return item ? item[method.toLowerCase()] : undefined;
}

function checkRequest(url, init) {
  const method = (init.method ?? 'GET').toUpperCase();
  const parsed = new URL(url, 'http://relay.invalid');
  if (parsed.origin !== 'http://relay.invalid') fail(`${url}: the page must only call its own origin`);
  const path = parsed.pathname;
  const op = operationFor(method, path);
  if (!op) {
    fail(`${method} ${path} is not a route of the document`);
    return { method, path, op: undefined };
  }
  seen.add(`${method} ${path}`);
  const params = op.parameters ?? [];
  // Query: only declared parameters, each valid.
  for (const [name, value] of parsed.searchParams) {
    const p = params.find((q) => q.in === 'query' && q.name === name);
    if (!p) { fail(`${method} ${path}: undeclared query parameter \`${name}\``); continue; }
    const v = /^-?\d+$/.test(value) ? Number(value) : value;
    validate(v, p.schema, `${method} ${path}?${name}`).forEach(fail);
  }
  // Headers: every required header present and well formed; no undeclared Ozvi-* header.
  const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  for (const p of params.filter((q) => q.in === 'header')) {
    const value = headers[p.name.toLowerCase()];
    if (value === undefined) { if (p.required) fail(`${method} ${path}: header ${p.name} missing`); continue; }
    validate(value, p.schema, `${method} ${path} ${p.name}`).forEach(fail);
  }
  for (const name of Object.keys(headers).filter((h) => h.startsWith('ozvi-'))) {
    if (!params.some((q) => q.in === 'header' && q.name.toLowerCase() === name)) {
      fail(`${method} ${path}: header ${name} is not one the route takes`);
    }
  }
  // Body.
  const declared = op.requestBody?.content?.['application/json']?.schema;
  if (init.body instanceof Uint8Array) {
    // A file's bytes (PUT /api/v1/mailbox/file): the route must take them.
    if (!op.requestBody?.content?.['application/octet-stream']) fail(`${method} ${path}: sends bytes the route does not take`);
    if (headers['content-type'] !== 'application/octet-stream') fail(`${method} ${path}: bytes without Content-Type: application/octet-stream`);
  } else if (init.body === undefined || init.body === null) {
    if (op.requestBody?.required) fail(`${method} ${path}: the route needs a body`);
  } else if (!declared) {
    fail(`${method} ${path}: sends a body the route does not take`);
  } else {
    if (headers['content-type'] !== 'application/json') fail(`${method} ${path}: body without Content-Type: application/json`);
    let body;
    try { body = JSON.parse(init.body); } catch { fail(`${method} ${path}: the body is not JSON`); }
    if (body !== undefined) validate(body, declared, `${method} ${path} body`).forEach(fail);
  }
  return { method, path, op };
}

globalThis.fetch = async (url, init = {}) => {
  const { method, path, op } = checkRequest(url, init);
  if (answerWith) {
    const { status, code } = answerWith;
    return new Response(JSON.stringify({ code, message: 'x' }), { status, headers: { 'Content-Type': 'application/json' } });
  }
  const success = op && Object.keys(op.responses).find((s) => s.startsWith('2'));
  if (path === '/api/v1/mailbox/events') {
    return new Response(': connected\n\nevent: change\ndata: 2\n\n', { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
  }
  if (path === '/api/v1/directory' && method === 'GET') return new Response('{"directory":"","signature":""}', { status: 200 });
  const body = sample(path, method);
  if (body !== undefined) {
    const schema = op?.responses?.[success]?.content?.['application/json']?.schema;
    if (!schema) fail(`${method} ${path}: the document gives no JSON body for ${success}`);
    else validate(body, schema, `${method} ${path} sample answer`).forEach(fail);
  }
  return new Response(body === undefined ? null : JSON.stringify(body), { status: Number(success ?? 200) });
};

const api = await import(pathToFileURL(apiPath).href);
const pow = { challenge: 'AAEC', nonce: 12345 };

async function every() {
  await api.config();
  await api.directory();
  await api.challenge('create');
  await api.challenge('post');
  await api.createThread(person, 'ic-zlin', envelope, pow);
  await api.createThread(person, 'ic-zlin', envelope, undefined);
  await api.postMessage(person, envelope, pow);
  // Her photos' ids, claimed by the message (the upload itself is photos.js's).
  await api.createThread(person, 'ic-zlin', envelope, undefined, ['AAAAAAAAAAAAAAAAAAAAAA']);
  await api.postMessage(person, envelope, pow, ['AAAAAAAAAAAAAAAAAAAAAA', 'AQAAAAAAAAAAAAAAAAAAAA']);
  const listing = await api.listMessages(person, 0);
  if (listing.messages.length !== 2) fail(`listMessages read ${listing.messages.length} of 2 messages`);
  await api.deleteThread(person);
  // The file requests photos.js (XMLHttpRequest, for its progress events)
  // and the worker send with the descriptions api.js gives them.
  const fileId = 'AAAAAAAAAAAAAAAAAAAAAA';
  for (const request of [api.fileUpload(person, fileId, pow), api.fileUpload(person, fileId, undefined)]) {
    checkRequest(request.path, { ...request, body: new Uint8Array(65572) });
  }
  const download = api.fileDownload(person, fileId);
  checkRequest(download.path, download);
  await new Promise((done) => {
    const stop = api.follow(person, () => { stop(); done(); }, 60_000);
  });
}

await every();

// Every route the page is meant to call is called.
for (const route of ['GET /api/v1/config', 'GET /api/v1/directory', 'POST /api/v1/pow',
  'POST /api/v1/threads', 'POST /api/v1/mailbox/messages', 'GET /api/v1/mailbox/messages',
  'DELETE /api/v1/mailbox', 'GET /api/v1/mailbox/events', 'PUT /api/v1/mailbox/file',
  'GET /api/v1/mailbox/file']) {
  if (!seen.has(route)) fail(`api.js never calls ${route}`);
}

// Error answers: every status a called route documents becomes a RelayError
// whose key the page can show; every error code api.js names exists.
const codes = doc.components.schemas.ErrorBody.properties.code.enum;
const source = readFileSync(apiPath, 'utf8');
for (const [, code] of source.matchAll(/code === '([a-z_]+)'/g)) {
  if (!codes.includes(code)) fail(`api.js names the error code \`${code}\`, which the relay does not have`);
}
const calls = {
  'POST /api/v1/threads': () => api.createThread(person, 'ic-zlin', envelope, pow),
  'POST /api/v1/mailbox/messages': () => api.postMessage(person, envelope, pow),
  'GET /api/v1/mailbox/messages': () => api.listMessages(person, 0),
  'DELETE /api/v1/mailbox': () => api.deleteThread(person),
  'POST /api/v1/pow': () => api.challenge('post'),
};
let errorCases = 0;
for (const [route, call] of Object.entries(calls)) {
  const [method, path] = route.split(' ');
  const op = operationFor(method, path);
  for (const [status, response] of Object.entries(op.responses)) {
    if (status.startsWith('2')) continue;
    for (const [, code] of response.description.matchAll(/`([a-z_]+)`/g)) {
      answerWith = { status: Number(status), code };
      try {
        await call();
        fail(`${route}: ${status} ${code} did not throw`);
      } catch (e) {
        if (e?.constructor?.name !== 'RelayError' || !/^err\.[a-z_]+$/.test(e.key)) {
          fail(`${route}: ${status} ${code} threw ${e}`);
        }
        if (e.status !== Number(status) || e.code !== code) fail(`${route}: ${status} ${code} reported as ${e.status} ${e.code}`);
      }
      errorCases += 1;
    }
  }
}
answerWith = null;

if (failures.size) {
  console.error(`api.js does not keep the contract (${failures.size}):`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`api.js keeps the contract: ${seen.size} routes called, every request valid; ${errorCases} error answers explained`);
