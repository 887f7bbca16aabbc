// The person's page: first contact, the code, returning, the conversation.
// Every cryptographic step is ozvi-crypto in WebAssembly (pkg/ozvi_web.js);
// this file only moves text between the screen, the WebAssembly module and
// the relay. Nothing is stored on the device and screens change without
// touching the browser's history.

import init, { Conversation, Deployment, Person, checkCode, newCode, solvePow } from './pkg/ozvi_web.js';
import * as api from './api.js';
import { onExit } from './exit.js';
import { REGIONS, language, setLanguage, t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** What the page holds in memory, and nowhere else. */
const state = {
  deployment: null,
  centres: [],
  person: null,
  centre: null,
  code: null, // only while the code screen shows it
  pending: null, // a first message sent without a confirmation: {code, person, centre, envelope, text}
  seen: new Set(), // sequence numbers rendered
  conversation: null, // ozvi-crypto's checks across the thread (replays, order)
  stopFollowing: null,
};

function clearInputs() {
  $('contact-form').reset();
  $('danger-alert').hidden = true;
  $('write-text').value = '';
  $('code-input').value = '';
}

function forget() {
  state.stopFollowing?.();
  state.stopFollowing = null;
  if (state.pending && state.pending.person !== state.person) state.pending.person.free();
  state.pending = null;
  state.person?.free();
  state.person = null;
  state.code = null;
  state.centre = null;
  state.seen.clear();
  state.conversation?.free();
  state.conversation = null;
  $('code').textContent = '';
  $('messages').replaceChildren();
  $('delete-confirm').hidden = true;
  clearInputs();
}
onExit(forget);

// --- Screens ---------------------------------------------------------------

function show(name) {
  for (const section of document.querySelectorAll('[data-screen]')) {
    section.hidden = section.id !== `screen-${name}`;
  }
  const heading = $(`screen-${name}`).querySelector('h1');
  heading.tabIndex = -1;
  heading.focus();
}

function setError(id, key) {
  const el = $(id);
  el.textContent = key ? t(key) : '';
  el.hidden = !key;
}

function progress(id, key) {
  $(id).textContent = key ? t(key) : '';
}

/**
 * Lets the browser paint (a progress line) before a blocking step. A hidden
 * tab gets no animation frames, so a timer finishes the wait there.
 */
const paint = () => new Promise((resolve) => {
  const done = () => setTimeout(resolve, 0);
  requestAnimationFrame(done);
  setTimeout(resolve, 50);
});

/** Proof of work above this many bits would freeze a phone for too long. */
const MAX_POW_BITS = 20;

async function solveChallenge(purpose) {
  const c = await api.challenge(purpose);
  if (!(Number.isInteger(c.difficulty) && c.difficulty <= MAX_POW_BITS)) {
    throw new api.RelayError('err.pow_too_hard');
  }
  return { challenge: c.challenge, nonce: solvePow(c.challenge, c.difficulty) };
}

/** The error key for anything thrown: the relay's, the module's, or generic. */
function errorKey(error) {
  if (error instanceof api.RelayError) return error.key;
  const message = String(error?.message ?? '');
  if (message.startsWith('code_')) return `err.${message}`;
  if (message.startsWith('directory_')) return 'err.directory';
  return 'err.generic';
}

// --- The deployment ----------------------------------------------------------

let loading = null;

/** The verified directory; fetched once, again after a failure. */
function deployment() {
  loading ??= (async () => {
    const [{ root_key: rootKey }, signed] = await Promise.all([api.config(), api.directory()]);
    const verified = new Deployment(signed, rootKey);
    state.deployment = verified;
    state.centres = JSON.parse(verified.centresJson());
    return verified;
  })().catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

function centreName(id) {
  const centre = state.centres.find((c) => c.id === id);
  return centre ? centre.names[language()] : id;
}

function fillRegions() {
  const select = $('region');
  const chosen = select.value;
  const options = [new Option(t('region.unknown'), '')];
  for (const [code, names] of Object.entries(REGIONS)) options.push(new Option(names[language()], code));
  select.replaceChildren(...options);
  select.value = chosen;
}

// --- First contact -----------------------------------------------------------

function intake() {
  const form = $('contact-form');
  const contact = $('contact').value.trim();
  return {
    role: form.querySelector('input[name=role]:checked')?.value ?? 'self',
    region: $('region').value || null,
    violence: [...form.querySelectorAll('input[name=violence]:checked')].map((i) => i.value),
    danger_now: form.querySelector('input[name=danger]:checked')?.value === 'yes',
    ...(contact ? { contact } : {}),
  };
}

/** Runs `work` while measuring it as `ozvi:NAME` (User Timing, for the benchmark). */
async function step(name, work) {
  performance.mark(`ozvi:${name}:start`);
  try {
    return await work();
  } finally {
    performance.measure(`ozvi:${name}`, `ozvi:${name}:start`);
  }
}

async function sendFirst(event) {
  event.preventDefault();
  const text = $('message').value.trim();
  $('message-error').hidden = Boolean(text);
  if (!text) {
    $('message').setAttribute('aria-invalid', 'true');
    $('message').setAttribute('aria-describedby', 'message-error');
    $('message').focus();
    return;
  }
  $('message').removeAttribute('aria-invalid');
  $('message').removeAttribute('aria-describedby');
  setError('form-error', null);
  $('send').disabled = true;
  performance.clearMeasures();
  performance.mark('ozvi:send-clicked');
  // Set once the thread may exist on the relay without her knowing.
  let uncertain = false;
  try {
    progress('progress', 'progress.directory');
    const deploy = await step('directory', deployment);
    // A first message whose sending was not confirmed goes again with the
    // same code, so a lost answer never leaves a second, orphaned thread.
    if (state.pending && state.pending.text !== text) {
      state.pending.person.free();
      state.pending = null;
    }
    if (!state.pending) {
      const answers = intake();
      const centre = deploy.centreFor(answers.region ?? undefined);
      const body = JSON.stringify({ text, lang: language(), intake: answers });

      progress('progress', 'progress.derive');
      await paint();
      const code = newCode();
      const person = await step('derive', () => Person.derive(code, deploy));

      progress('progress', 'progress.seal');
      await paint();
      const envelope = await step('seal', () => person.seal(deploy, centre, body, Date.now() / 1000));
      state.pending = { code, person, centre, envelope, text };
    }
    const { code, person, centre, envelope } = state.pending;

    progress('progress', 'progress.pow');
    await paint();
    const pow = await step('pow', () => solveChallenge('create'));

    progress('progress', 'progress.send');
    await step('send', async () => {
      uncertain = true;
      try {
        await api.createThread(person, centre, envelope, pow);
      } catch (error) {
        // The earlier attempt did arrive: her thread is there.
        if (!(error instanceof api.RelayError && error.code === 'thread_exists')) throw error;
      }
    });

    state.pending = null;
    state.person?.free();
    Object.assign(state, { person, centre, code });
    clearInputs();
    showCode(code);
  } catch (error) {
    const key = errorKey(error);
    const unconfirmed = uncertain && state.pending && (key === 'err.relay_down' || key === 'err.offline');
    // Keep the sealed message for a retry with the same code while the
    // relay is unreachable; anything else starts afresh.
    const unreachable = key === 'err.relay_down' || key === 'err.offline';
    if (state.pending && !unreachable) {
      state.pending.person.free();
      state.pending = null;
    }
    setError('form-error', unconfirmed ? 'err.retry_same' : key);
  } finally {
    progress('progress', null);
    $('send').disabled = false;
  }
}

function showCode(code) {
  const groups = code.split('-');
  const half = (part, last) => {
    const span = document.createElement('span');
    span.className = 'half';
    span.textContent = part.join('-') + (last ? '' : '-');
    return span;
  };
  $('code').replaceChildren(half(groups.slice(0, 3), false), half(groups.slice(3), true));
  $('code-noted').checked = false;
  $('code-continue').disabled = true;
  setError('code-error', null);
  $('copy-status').textContent = '';
  show('code');
  performance.mark('ozvi:code-shown');
}

async function copyCode() {
  try {
    await navigator.clipboard.writeText(state.code);
    $('copy-status').textContent = t('code.copied');
  } catch {
    $('copy-status').textContent = t('code.copy-failed');
  }
}

// --- Returning ---------------------------------------------------------------

async function openWithCode(event) {
  event.preventDefault();
  setError('return-error', null);
  const input = $('code-input');
  let code;
  try {
    code = checkCode(input.value);
  } catch (error) {
    input.setAttribute('aria-invalid', 'true');
    setError('return-error', errorKey(error));
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  $('open-btn').disabled = true;
  progress('return-progress', 'progress.open');
  await paint();
  let person;
  try {
    const deploy = await deployment();
    person = Person.derive(code, deploy);
    const listing = await api.listMessages(person);
    state.person?.free();
    Object.assign(state, { person, centre: listing.centre, code: null });
    person = null;
    input.value = '';
    openThread(listing);
  } catch (error) {
    person?.free();
    setError('return-error', errorKey(error));
  } finally {
    progress('return-progress', null);
    $('open-btn').disabled = false;
  }
}

// --- The conversation --------------------------------------------------------

function openThread(listing) {
  $('delete-confirm').hidden = true;
  state.seen.clear();
  state.conversation?.free();
  state.conversation = new Conversation();
  $('messages').replaceChildren();
  render(listing);
  show('thread');
  state.stopFollowing?.();
  state.stopFollowing = api.follow(state.person, refresh);
}

async function refresh() {
  const { person } = state;
  if (!person) return;
  const after = Math.max(0, ...state.seen);
  try {
    const listing = await api.listMessages(person, after);
    // She may have left, or opened another conversation, meanwhile.
    if (state.person === person) render(listing);
  } catch (error) {
    if (state.person !== person) return;
    if (error instanceof api.RelayError && error.key === 'err.not_found') {
      forget();
      show('deleted');
    }
  }
}

function render(listing) {
  state.centre = listing.centre;
  $('thread-centre').textContent = t('thread.centre', { centre: centreName(listing.centre) });
  const list = $('messages');
  for (const message of listing.messages) {
    if (state.seen.has(message.seq)) continue;
    state.seen.add(message.seq);
    let item = null;
    try {
      item = messageItem(message);
    } catch {
      // A malformed entry is shown as unverifiable; the rest still render.
      item = messageItem({ seq: message.seq, stored_at: 0, envelope: '' });
    }
    if (item) list.append(item);
  }
}

function messageItem(message) {
  const item = document.createElement('li');
  const who = document.createElement('p');
  who.className = 'who';
  const text = document.createElement('p');
  text.className = 'text';
  const when = document.createElement('p');
  when.className = 'when';
  // ozvi-crypto opens it and checks it against the thread so far.
  const result = JSON.parse(state.person.openInThread(
    state.deployment, state.conversation, message.seq, message.envelope,
  ));
  if (result.check === 'out_of_order') return null;
  const opened = result.check === 'show' ? result : null;
  if (result.check === 'replay') {
    item.className = 'message unverified';
    text.textContent = t('msg.replay');
  } else if (opened) {
    let body = {};
    try { body = JSON.parse(opened.body); } catch { body = {}; }
    if (!body || typeof body !== 'object') body = {};
    if (opened.from === 'staff') {
      item.className = 'message staff';
      who.textContent = `${opened.staff} · ${centreName(opened.centre)}`;
      const badge = document.createElement('span');
      badge.className = 'verified';
      badge.textContent = ` ✓ ${t('msg.verified')}`;
      who.append(badge);
    } else {
      item.className = 'message person';
      who.textContent = t('msg.me');
    }
    text.textContent = typeof body.text === 'string' ? body.text : '';
  } else {
    item.className = 'message unverified';
    text.textContent = t('msg.unverified');
  }
  // A verified message shows the time its sender signed, not the relay's.
  const at = opened && !item.classList.contains('unverified') ? opened.sent_at : message.stored_at;
  when.textContent = at ? new Date(at * 1000).toLocaleString(language()) : '';
  item.append(who, text, when);
  return item;
}

async function writeMore(event) {
  event.preventDefault();
  const text = $('write-text').value.trim();
  if (!text || !state.person) return;
  setError('write-error', null);
  $('write-send').disabled = true;
  try {
    progress('write-progress', 'progress.pow');
    await paint();
    const pow = await solveChallenge('post');
    progress('write-progress', 'progress.seal');
    const envelope = state.person.seal(
      state.deployment, state.centre, JSON.stringify({ text, lang: language() }), Date.now() / 1000,
    );
    progress('write-progress', 'progress.send');
    await api.postMessage(state.person, envelope, pow);
    $('write-text').value = '';
    await refresh();
    progress('write-progress', 'thread.sent');
  } catch (error) {
    progress('write-progress', null);
    setError('write-error', errorKey(error));
  } finally {
    $('write-send').disabled = false;
  }
}

async function deleteConversation() {
  $('delete-confirm').hidden = true;
  try {
    await api.deleteThread(state.person);
    forget();
    show('deleted');
  } catch (error) {
    setError('write-error', errorKey(error));
  }
}

// --- Wiring ----------------------------------------------------------------------

function wire() {
  $('lang').addEventListener('change', () => {
    setLanguage($('lang').value);
    fillRegions();
    if (state.person && state.centre) $('thread-centre').textContent = t('thread.centre', { centre: centreName(state.centre) });
  });
  $('start-new').addEventListener('click', () => show('form'));
  $('start-return').addEventListener('click', () => show('return'));
  for (const button of document.querySelectorAll('button.back, button.home')) {
    button.addEventListener('click', () => {
      $('code-input').value = '';
      show('home');
    });
  }
  $('show-a11y').addEventListener('click', () => show('a11y'));
  for (const radio of document.querySelectorAll('input[name=danger]')) {
    radio.addEventListener('change', () => {
      const danger = radio.checked && radio.value === 'yes';
      $('danger-alert').hidden = !danger;
      if (danger) $('danger-alert').scrollIntoView({ block: 'start' });
    });
  }
  $('contact-form').addEventListener('submit', sendFirst);
  $('copy-code').addEventListener('click', copyCode);
  $('print-code').addEventListener('click', () => window.print());
  $('code-noted').addEventListener('change', () => {
    $('code-continue').disabled = !$('code-noted').checked;
  });
  $('code-continue').addEventListener('click', async () => {
    $('code-continue').disabled = true;
    setError('code-error', null);
    try {
      const listing = await api.listMessages(state.person);
      // The code has been shown and noted: it leaves the page's memory.
      state.code = null;
      $('code').textContent = '';
      openThread(listing);
    } catch (error) {
      setError('code-error', errorKey(error));
    } finally {
      $('code-continue').disabled = !$('code-noted').checked;
    }
  });
  $('return-form').addEventListener('submit', openWithCode);
  $('write-form').addEventListener('submit', writeMore);
  $('leave').addEventListener('click', () => {
    forget();
    show('home');
  });
  $('delete-btn').addEventListener('click', () => {
    $('delete-confirm').hidden = false;
    // The safe choice first: a double Enter must not delete.
    $('delete-no').focus();
  });
  $('delete-no').addEventListener('click', () => {
    $('delete-confirm').hidden = true;
    $('delete-btn').focus();
  });
  $('delete-yes').addEventListener('click', deleteConversation);
}

async function start() {
  setLanguage('cs');
  fillRegions();
  wire();
  try {
    await init();
  } catch {
    $('loading').hidden = true;
    setError('fatal', 'err.browser');
    return;
  }
  $('loading').hidden = true;
  show('home');
  performance.mark('ozvi:interactive');
  // Fetch and verify the directory early, so sending does not wait for it;
  // a failure here is reported when she sends.
  deployment().catch(() => {});
}

start();
