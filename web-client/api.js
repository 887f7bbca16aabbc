// The relay's HTTP API (docs/API.md) as the person's page uses it. Only the
// page's own origin is ever contacted; the mailbox id and auth secret travel
// in headers, never in a URL.

/** A failure the page can explain: `key` is an i18n key (err.*). */
export class RelayError extends Error {
  constructor(key, status = 0, code = '') {
    super(key);
    this.key = key;
    this.status = status;
    this.code = code;
  }
}

function explain(status, code) {
  if (status === 429) return 'err.rate_limited';
  if (code === 'unknown_mailbox' || code === 'wrong_auth') return 'err.not_found';
  if (code === 'quota_exceeded') return 'err.thread_full';
  if (code === 'payload_too_large') return 'err.quota';
  if (code === 'unknown_file') return 'err.upload';
  if (status >= 500 || status === 0) return 'err.relay_down';
  return 'err.generic';
}

async function request(path, { method = 'GET', headers = {}, body } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    throw new RelayError(navigator.onLine === false ? 'err.offline' : 'err.relay_down');
  }
  if (response.ok) return response;
  let code = '';
  try {
    code = (await response.json()).code ?? '';
  } catch { /* a proxy's page, not the relay's JSON */ }
  throw new RelayError(explain(response.status, code), response.status, code);
}

function mailboxHeaders(person) {
  return { 'Ozvi-Mailbox': person.mailboxId, 'Ozvi-Auth': person.authSecret };
}

/** Where her thread's files go and come from (docs/API.md, "Files"). */
const MAILBOX_FILE = '/api/v1/mailbox/file';

/**
 * The request that uploads one sealed file of hers, with the proof of work
 * of her first contact: photos.js sends it with XMLHttpRequest, whose
 * upload progress events fetch lacks.
 */
export function fileUpload(person, id, pow) {
  const headers = { ...mailboxHeaders(person), 'Ozvi-File': id, 'Content-Type': 'application/octet-stream' };
  if (pow) headers['Ozvi-Pow'] = `${pow.challenge}.${pow.nonce}`;
  return { method: 'PUT', path: MAILBOX_FILE, headers };
}

/** The request that downloads one file of her thread (the worker sends it). */
export function fileDownload(person, id) {
  return { method: 'GET', path: MAILBOX_FILE, headers: { ...mailboxHeaders(person), 'Ozvi-File': id } };
}

export async function config() {
  return (await request('/api/v1/config')).json();
}

export async function directory() {
  return (await request('/api/v1/directory')).text();
}

export async function challenge(purpose) {
  return (await request('/api/v1/pow', { method: 'POST', body: { purpose } })).json();
}

/**
 * Creates her thread. `pow` is left out when her photos' first upload
 * carried it; `files` are the ids of her uploaded photos the message claims.
 */
export async function createThread(person, centre, envelope, pow, files = []) {
  await request('/api/v1/threads', {
    method: 'POST',
    body: {
      mailbox_id: person.mailboxId, verifier: person.verifier, centre, envelope, pow,
      ...(files.length ? { files } : {}),
    },
  });
}

export async function postMessage(person, envelope, pow, files = []) {
  return (await request('/api/v1/mailbox/messages', {
    method: 'POST',
    headers: mailboxHeaders(person),
    body: { envelope, pow, ...(files.length ? { files } : {}) },
  })).json();
}

/** Most pages one listing follows (100 messages each). */
const MAX_PAGES = 200;

/** Every message after `after`, following the relay's pages. */
export async function listMessages(person, after = 0) {
  const messages = [];
  let cursor = after;
  let listing;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    listing = await (await request(`/api/v1/mailbox/messages?after=${cursor}`, {
      headers: mailboxHeaders(person),
    })).json();
    if (!listing || !Array.isArray(listing.messages) || !Number.isInteger(listing.last_seq)) {
      throw new RelayError('err.relay_down');
    }
    // Keep only well-formed entries in strictly increasing order.
    const fresh = listing.messages.filter((m) => m && Number.isInteger(m.seq) && m.seq > cursor
      && typeof m.envelope === 'string');
    for (const m of fresh) {
      if (m.seq <= cursor) break;
      messages.push(m);
      cursor = m.seq;
    }
    if (!fresh.length || cursor >= listing.last_seq) break;
  }
  // How far the centre has read (its read mark), when the relay says.
  const readThrough = Number.isInteger(listing.read_through) ? listing.read_through : null;
  return {
    centre: String(listing.centre ?? ''), lastSeq: listing.last_seq, readThrough, messages,
  };
}

export async function deleteThread(person) {
  await request('/api/v1/mailbox', { method: 'DELETE', headers: mailboxHeaders(person) });
}

/**
 * Follows the thread's event stream (server-sent events read through fetch,
 * so the auth headers can be sent) and calls `onChange` for every change.
 * Returns a function that stops it. When the stream cannot be kept open the
 * page falls back to polling every `pollMs`.
 */
export function follow(person, onChange, pollMs = 5000) {
  const controller = new AbortController();
  let timer = null;
  const poll = () => {
    if (controller.signal.aborted) return;
    onChange();
    timer = setTimeout(poll, pollMs);
  };
  (async () => {
    try {
      const response = await fetch('/api/v1/mailbox/events', {
        headers: mailboxHeaders(person), cache: 'no-store', credentials: 'omit',
        signal: controller.signal,
      });
      if (!response.ok || !response.body) throw new Error('no stream');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (event.split('\n').includes('event: change')) onChange();
        }
      }
    } catch {
      if (!controller.signal.aborted) timer = setTimeout(poll, pollMs);
    }
  })();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
