// The page's cryptography, off the main thread: ozvi-crypto in WebAssembly
// (pkg/ozvi_web.js) runs here, so the Argon2id key derivation and the proof
// of work never freeze the page and the quick exit never waits for them.
// The person's keys live only in this worker's WebAssembly memory; the quick
// exit terminates the worker, which discards that memory at once.
//
// Requests are `{id, op, args}`; answers are `{id, ok: true, value}` or
// `{id, ok: false, error}` where `error` is ozvi-web's stable error code
// (`code_typo`, `directory_signature`, …), `worker_failed` (the WebAssembly
// module cannot run in this browser) or `internal`.

import init, {
  Conversation, Deployment, Person, checkCode, newCode, solvePow,
} from './pkg/ozvi_web.js';

/** An answer whose ArrayBuffers move to the page instead of being copied. */
class Moved {
  constructor(value, buffers) {
    this.value = value;
    this.buffers = buffers;
  }
}

const ready = init();
let deployment = null;
/** Persons and conversations by handle; the page holds only the handles. */
const objects = new Map();
let nextHandle = 1;

function keep(object) {
  const handle = nextHandle;
  nextHandle += 1;
  objects.set(handle, object);
  return handle;
}

function get(handle, type) {
  const object = objects.get(handle);
  if (!(object instanceof type)) throw new Error('internal');
  return object;
}

function personView(handle, person, code) {
  return {
    handle,
    mailboxId: person.mailboxId,
    authSecret: person.authSecret,
    verifier: person.verifier,
    ...(code ? { code } : {}),
  };
}

function needDeployment() {
  if (!deployment) throw new Error('directory_invalid');
  return deployment;
}

const ops = {
  /** Answers once the WebAssembly module is ready. */
  ready() {
    return true;
  },
  /** Verifies the signed directory; returns the centres (JSON text). */
  directory(signed, rootKey) {
    const verified = new Deployment(signed, rootKey);
    deployment?.free();
    deployment = verified;
    return verified.centresJson();
  },
  centreFor(region) {
    return needDeployment().centreFor(region ?? undefined);
  },
  checkCode(input) {
    return checkCode(input);
  },
  /** A new code and her keys from it (the code goes to the page once, to show). */
  newPerson() {
    const code = newCode();
    const person = Person.derive(code, needDeployment());
    return personView(keep(person), person, code);
  },
  /** Her keys from a typed code. */
  derive(code) {
    const person = Person.derive(code, needDeployment());
    return personView(keep(person), person, null);
  },
  seal(handle, centre, body, sentAt) {
    return get(handle, Person).seal(needDeployment(), centre, body, sentAt);
  },
  newConversation() {
    return keep(new Conversation());
  },
  open(person, conversation, seq, envelope) {
    return get(person, Person).openInThread(
      needDeployment(), get(conversation, Conversation), seq, envelope,
    );
  },
  pow(challenge, difficulty) {
    return solvePow(challenge, difficulty);
  },
  /**
   * A photo operation of worker-files.js (loaded at her first photo):
   * `reencode`, `sealFile` or `download`. Its ArrayBuffers move to the page.
   */
  async file(op, ...args) {
    const files = await import('./worker-files.js');
    if (!Object.hasOwn(files.ops, op)) throw new Error('internal');
    const [value, buffers] = await files.ops[op](...args);
    return new Moved(value, buffers);
  },
  free(handle) {
    objects.get(handle)?.free();
    objects.delete(handle);
  },
  /** Forgets every person and conversation (keys are zeroized on free). */
  forget() {
    for (const object of objects.values()) object.free();
    objects.clear();
  },
};

self.onmessage = async ({ data }) => {
  const { id, op, args } = data ?? {};
  try {
    try {
      await ready;
    } catch {
      throw new Error('worker_failed');
    }
    if (!Object.hasOwn(ops, op)) throw new Error('internal');
    const value = await ops[op](...(Array.isArray(args) ? args : []));
    if (value instanceof Moved) self.postMessage({ id, ok: true, value: value.value }, value.buffers);
    else self.postMessage({ id, ok: true, value });
  } catch (error) {
    const message = String(error?.message ?? '');
    // Only ozvi-web's stable codes cross back, never an internal message.
    // `worker_failed` is kept for a module that could not load at all.
    const code = /^[a-z_]{1,40}$/.test(message) ? message : 'internal';
    self.postMessage({ id, ok: false, error: code });
  }
};
