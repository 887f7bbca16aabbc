// The person's page: first contact, the code, returning, the conversation.
// The start screen, the helplines and the information pages are in the HTML
// and show before this module runs. Every cryptographic step is ozvi-crypto
// in WebAssembly, run in a worker (crypto.js → worker.js) that loads while
// she reads and types; this file only moves text between the screen, the
// worker and the relay. Nothing is stored on the device and screens change
// without touching the browser's history.

import * as api from './api.js';
import * as crypto from './crypto.js';
import { onExit } from './exit.js';
import { REGIONS, browserLanguage, language, setLanguage, t } from './i18n.js';

const $ = (id) => document.getElementById(id);

/** The longest message, in characters; longer text is refused, never cut. */
const MAX_CHARS = 15000;
/** The region value of "I don't know". */
const UNKNOWN = 'unknown';

/** What the page holds in memory, and nowhere else. */
const state = {
  centres: [],
  person: null, // {handle, mailboxId, authSecret, verifier} (keys stay in the worker)
  centre: null,
  code: null, // only while the code screen shows it
  pending: null, // a first message sent without a confirmation: {code, person, centre, envelope, text}
  seen: new Set(), // sequence numbers rendered
  conversation: null, // the worker's handle of ozvi-crypto's checks (replays, order)
  ownLast: 0, // her newest message's sequence number
  firstCentre: null, // the centre she first wrote to, for the acknowledgement
  transferredTo: new Set(), // centres named by verified transfer notices
  models: [], // what each shown entry says, in order (redrawn on a language change)
  ack: null, // the acknowledgement's model
  readThrough: null, // the centre's read mark, as the relay last said
  returnTo: 'home', // the screen the accessibility statement goes back to
  stopFollowing: null,
  rendering: Promise.resolve(),
};

// --- Photos (photos.js, loaded when she first adds one or a message carries files)

let photosModule = null;
const attachments = {}; // 'form' (first contact) and 'write' (her next message)

function photos() {
  photosModule ??= import('./photos.js').catch((error) => {
    photosModule = null;
    throw error;
  });
  return photosModule;
}

/** The photos chosen for the form `prefix`, once photos.js is loaded. */
async function attachmentsFor(prefix) {
  const { Attachments } = await photos();
  attachments[prefix] ??= new Attachments({
    list: $(`${prefix}-photo-list`),
    note: $(`${prefix}-photo-note`),
    error: $(`${prefix}-photo-error`),
    progress: $(`${prefix}-photo-progress`),
  });
  return attachments[prefix];
}

/** The photos chosen for `prefix`, or null when none. */
const chosenPhotos = (prefix) => (attachments[prefix]?.count ? attachments[prefix] : null);

async function addPhotos(prefix) {
  const input = $(`${prefix}-photo-input`);
  const chosen = [...input.files];
  input.value = '';
  try {
    await (await attachmentsFor(prefix)).add(chosen);
  } catch {
    setError(`${prefix}-photo-error`, 'err.generic');
  }
}

function clearInputs() {
  $('contact-form').reset();
  $('danger-alert').hidden = true;
  $('child-help').hidden = true;
  $('witness-hint').hidden = true;
  $('place-list').replaceChildren();
  $('reader').textContent = '';
  $('write-text').value = '';
  for (const list of Object.values(attachments)) list.clear();
  $('code-input').value = '';
  $('code-check').value = '';
  for (const id of [
    'message-count', 'write-count', 'code-check-status', 'place-status', 'progress',
    'write-progress', 'return-progress', 'copy-status',
  ]) $(id).textContent = '';
  for (const id of ['message-error', 'region-error', 'form-error', 'write-error', 'return-error', 'code-error']) {
    $(id).hidden = true;
  }
}

function forget() {
  state.stopFollowing?.();
  state.stopFollowing = null;
  if (state.pending && state.pending.person !== state.person) crypto.free(state.pending.person.handle);
  state.pending = null;
  crypto.free(state.person?.handle);
  crypto.free(state.conversation);
  Object.assign(state, {
    person: null, code: null, centre: null, conversation: null, ownLast: 0, firstCentre: null, ack: null,
    models: [], readThrough: null,
  });
  state.seen.clear();
  state.transferredTo.clear();
  photosModule?.then((m) => m.wipe(), () => {});
  for (const id of [
    'code', 'code-address', 'code-reader', 'code-answer', 'thread-centre', 'thread-answer',
    'thread-status', 'read-marker', 'contact-phone', 'contact-address', 'contact-hours',
  ]) $(id).textContent = '';
  $('thread-status').hidden = true;
  $('centre-contact').hidden = true;
  $('messages').replaceChildren();
  $('delete-confirm').hidden = true;
  clearInputs();
}
onExit(forget);

// --- Screens ---------------------------------------------------------------

/** The screen on view. */
const current = () => document.querySelector('[data-screen]:not([hidden])')?.id.replace('screen-', '') ?? 'home';

function show(name) {
  for (const section of document.querySelectorAll('[data-screen]')) {
    section.hidden = section.id !== `screen-${name}`;
  }
  const heading = $(`screen-${name}`).querySelector('h1');
  heading.tabIndex = -1;
  heading.focus();
}

function setError(id, key, values) {
  const el = $(id);
  el.textContent = key ? t(key, values) : '';
  el.hidden = !key;
}

function progress(id, key) {
  $(id).textContent = key ? t(key) : '';
}

/** Proof of work above this many bits would keep her waiting too long. */
const MAX_POW_BITS = 20;

async function solveChallenge(purpose) {
  const c = await api.challenge(purpose);
  if (!(Number.isInteger(c.difficulty) && c.difficulty >= 0 && c.difficulty <= MAX_POW_BITS)) {
    throw new api.RelayError('err.pow_too_hard');
  }
  return { challenge: c.challenge, nonce: await crypto.solvePow(c.challenge, c.difficulty) };
}

/** The error key for anything thrown: the relay's, the module's, or generic. */
function errorKey(error) {
  if (error instanceof api.RelayError) return error.key;
  // photos.js's upload errors carry their key too.
  if (error?.name === 'Error' && typeof error.key === 'string' && error.key.startsWith('err.')) return error.key;
  const message = String(error?.message ?? '');
  if (message.startsWith('code_')) return `err.${message}`;
  if (message.startsWith('directory_')) return 'err.directory';
  if (message === 'worker_failed') return 'err.browser';
  if (message.startsWith('file_')) return 'err.upload';
  return 'err.generic';
}

/** Characters as she sees them (code points, not UTF-16 units). */
const length = (text) => [...text].length;

/** Runs `work` while measuring it as `ozvi:NAME` (User Timing, for the benchmark). */
async function step(name, work) {
  performance.mark(`ozvi:${name}:start`);
  try {
    return await work();
  } finally {
    performance.measure(`ozvi:${name}`, `ozvi:${name}:start`);
  }
}

// --- The deployment ----------------------------------------------------------

let loading = null;

/** The verified directory's centres; fetched once, again after a failure. */
function deployment() {
  loading ??= (async () => {
    const [{ root_key: rootKey }, signed] = await Promise.all([api.config(), api.directory()]);
    state.centres = await crypto.verifyDirectory(signed, rootKey);
    return state.centres;
  })().catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

const centreById = (id) => state.centres.find((c) => c.id === id);

/** A directory text in her language (`{cs, en, uk}`), or ''. */
const localized = (texts) => (texts ? texts[language()] ?? texts.cs ?? '' : '');

function centreName(id) {
  const centre = centreById(id);
  return centre ? localized(centre.names) : id;
}

function fillRegions() {
  const select = $('region');
  const chosen = select.value;
  const options = [new Option(t('region.choose'), '')];
  for (const [code, names] of Object.entries(REGIONS)) options.push(new Option(names[language()], code));
  options.push(new Option(t('region.unknown'), UNKNOWN));
  select.replaceChildren(...options);
  select.value = chosen;
}

/** The region chosen (an ISO code), null for "I don't know", undefined for none yet. */
function chosenRegion() {
  const value = $('region').value;
  if (!value) return undefined;
  return value === UNKNOWN ? null : value;
}

/** One line naming the centre that will read her message, before she sends. */
async function nameReader() {
  const region = chosenRegion();
  const line = $('reader');
  if (region === undefined) {
    line.textContent = '';
    return;
  }
  try {
    await deployment();
    if (chosenRegion() !== region) return; // changed meanwhile
    const centre = await crypto.centreFor(region);
    line.textContent = t(region === null ? 'reader.unknown' : 'reader.centre', { centre: centreName(centre) });
  } catch {
    line.textContent = '';
  }
}

// --- Towns and postcodes (an offline list, loaded when she types) -------------

let places = null;
let placeTimer = null;

async function suggestPlaces() {
  const query = $('place').value.trim();
  const list = $('place-list');
  if (length(query) < 2) {
    list.replaceChildren();
    $('place-status').textContent = '';
    return;
  }
  try {
    places ??= await import('./places.js');
  } catch {
    // The region list still works.
    $('place-status').textContent = t('place.unavailable');
    $('place-hint').textContent = t('place.unavailable');
    return;
  }
  if ($('place').value.trim() !== query) return;
  const found = places.findPlaces(query, 8);
  list.replaceChildren(...found.map((place) => {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'place';
    const name = place.partOf ? `${place.name}, ${place.partOf}` : place.name;
    const where = place.district && place.district !== place.name
      ? `${name} (${t('place.district', { district: place.district })})` : name;
    button.textContent = `${where} – ${REGIONS[place.region]?.[language()] ?? place.region}`;
    button.addEventListener('click', () => choosePlace(place));
    item.append(button);
    return item;
  }));
  $('place-status').textContent = found.length ? t('place.found', { count: found.length }) : t('place.none');
}

/** Loads and unpacks the list as she enters the town field, not on her first keystroke. */
function preparePlaces() {
  const later = window.requestIdleCallback ?? ((f) => setTimeout(f, 200));
  later(async () => {
    try {
      places ??= await import('./places.js');
      places.preparePlaces();
    } catch { /* the region list still works */ }
  });
}

function choosePlace(place) {
  $('region').value = place.region;
  $('place').value = place.name;
  $('place-list').replaceChildren();
  $('place-status').textContent = t('place.chosen', {
    place: place.name, region: REGIONS[place.region]?.[language()] ?? place.region,
  });
  $('region-error').hidden = true;
  $('region').removeAttribute('aria-invalid');
  $('region').removeAttribute('aria-describedby');
  nameReader();
  $('region').focus();
}

// --- First contact -----------------------------------------------------------

const checked = (name) => $('contact-form').querySelector(`input[name=${name}]:checked`)?.value;

function intake() {
  const times = $('safe-times').value.trim();
  const channel = checked('channel');
  const voicemail = checked('voicemail');
  const word = $('safe-word').value.trim();
  // PROTOCOL.md §4.6: the same schema as the staff note's safe_contact.
  const safe = {
    ...(times ? { times } : {}),
    ...(channel ? { chat_only: channel === 'chat' } : {}),
    ...(voicemail ? { voicemail: voicemail === 'yes' } : {}),
    ...(word ? { code_word: word } : {}),
  };
  const age = checked('age');
  return {
    role: checked('role') ?? 'self',
    region: chosenRegion() ?? null,
    violence: [...$('contact-form').querySelectorAll('input[name=violence]:checked')].map((i) => i.value),
    danger_now: checked('danger') === 'yes',
    ...(age ? { age_band: age } : {}),
    ...(Object.keys(safe).length ? { safe_contact: safe } : {}),
  };
}

/** Shows how long a message is, and refuses (never cuts) one that is too long. */
function countChars(field, counter) {
  const count = length($(field).value);
  const el = $(counter);
  el.textContent = count > MAX_CHARS * 0.8 ? t('form.count', { count, limit: MAX_CHARS }) : '';
  el.classList.toggle('over', count > MAX_CHARS);
  return count;
}

/** Checks a message; shows the error beside it and returns false when it cannot go. */
function messageOk(field, errorId) {
  const el = $(field);
  const text = el.value.trim();
  let key = null;
  let values;
  if (!text) key = 'form.message-empty';
  else if (length(text) > MAX_CHARS) {
    key = 'form.too-long';
    values = { over: length(text) - MAX_CHARS, limit: MAX_CHARS };
  }
  setError(errorId, key, values);
  if (key) {
    el.setAttribute('aria-invalid', 'true');
    el.focus();
    return false;
  }
  el.removeAttribute('aria-invalid');
  return true;
}

/** A safe-contact field within its bound (PROTOCOL.md §4.6), or its error shown. */
function boundOk(field, errorId, limit) {
  const el = $(field);
  const over = length(el.value.trim()) - limit;
  setError(errorId, over > 0 ? 'form.field-too-long' : null, { over, limit });
  if (over > 0) {
    el.setAttribute('aria-invalid', 'true');
    el.focus();
    return false;
  }
  el.removeAttribute('aria-invalid');
  return true;
}

async function sendFirst(event) {
  event.preventDefault();
  if (!boundOk('safe-times', 'safe-times-error', 1000) || !boundOk('safe-word', 'safe-word-error', 200)) return;
  if (!messageOk('message', 'message-error')) return;
  const text = $('message').value.trim();
  if (chosenRegion() === undefined) {
    $('region-error').hidden = false;
    $('region').setAttribute('aria-describedby', 'region-error');
    $('region').setAttribute('aria-invalid', 'true');
    $('region').focus();
    return;
  }
  $('region').removeAttribute('aria-invalid');
  $('region').removeAttribute('aria-describedby');
  $('region-error').hidden = true;
  setError('form-error', null);
  $('send').disabled = true;
  performance.clearMeasures();
  performance.mark('ozvi:send-clicked');
  progress('progress', 'progress.send');
  // Set once the thread may exist on the relay without her knowing.
  let uncertain = false;
  try {
    await step('directory', deployment);
    // A first message whose sending was not confirmed goes again with the
    // same code, so a lost answer never leaves a second, orphaned thread.
    // Once sent without an answer, it is the message that may be on the
    // relay: it goes again as it was (an edit is for the conversation).
    const album = chosenPhotos('form');
    if (state.pending && !state.pending.attempted
      && (state.pending.text !== text || state.pending.album !== (album?.key ?? ''))) {
      crypto.free(state.pending.person.handle);
      state.pending = null;
    }
    if (!state.pending) {
      const answers = intake();
      const centre = await crypto.centreFor(answers.region);
      const person = await step('derive', () => crypto.newPerson());
      const { code } = person;
      delete person.code;
      let envelope;
      let ids = [];
      try {
        // Her photos are sealed to this mailbox; their references ride in
        // the sealed message (PROTOCOL.md §4.6 `files`).
        const sealed = album ? await step('seal-files', () => album.seal(person)) : null;
        ids = sealed?.ids ?? [];
        const body = JSON.stringify({
          text, lang: language(), intake: answers, ...(sealed ? { files: sealed.references } : {}),
        });
        envelope = await step('seal', () => crypto.seal(person, centre, body, Date.now() / 1000));
      } catch (error) {
        crypto.free(person.handle);
        throw error;
      }
      state.pending = {
        code, person, centre, envelope, text, ids, photos: album, album: album?.key ?? '', attempted: false,
      };
    }
    // The photos the pending message was sealed with (she may have changed
    // the list since; the message and its ids stay as they were sent).
    const { code, person, centre, envelope, ids, photos: sealedWith } = state.pending;
    let pow;
    if (ids.length) {
      // The first upload carries the proof of work and creates her
      // mailbox; the thread that claims the files then needs none.
      progress('progress', 'progress.upload');
      uncertain = true;
      state.pending.attempted = true;
      await step('upload', () => sealedWith.upload(person, () => solveChallenge('create')));
      progress('progress', 'progress.send');
    } else {
      pow = await step('pow', () => solveChallenge('create'));
    }
    await step('send', async () => {
      uncertain = true;
      state.pending.attempted = true;
      try {
        await api.createThread(person, centre, envelope, pow, ids);
      } catch (error) {
        // The earlier attempt did arrive: her thread is there.
        if (!(error instanceof api.RelayError && error.code === 'thread_exists')) throw error;
      }
    });

    state.pending = null;
    sealedWith?.sent();
    crypto.free(state.person?.handle);
    Object.assign(state, { person, centre, code, firstCentre: centre });
    clearInputs();
    showCode(code);
  } catch (error) {
    const key = errorKey(error);
    const unreachable = key === 'err.relay_down' || key === 'err.offline';
    const unconfirmed = state.pending?.attempted && (uncertain ? unreachable : true);
    // A message that was sent without an answer may be on the relay: it is
    // kept and goes again with the same code, whatever fails next. One
    // that never left starts afresh unless the relay was unreachable.
    if (state.pending && !state.pending.attempted && !unreachable) {
      crypto.free(state.pending.person.handle);
      state.pending = null;
    }
    setError('form-error', unconfirmed ? 'err.retry_same' : key);
  } finally {
    progress('progress', null);
    $('send').disabled = false;
  }
}

/** Where and when to come back: for the code screen and its printout. */
function fillReturnInfo() {
  $('code-address').textContent = `${window.location.origin}${window.location.pathname}`;
  const centre = centreById(state.centre);
  $('code-reader').textContent = state.centre ? t('reader.centre', { centre: centreName(state.centre) }) : '';
  $('code-answer').textContent = localized(centre?.answer_time);
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
  $('code-check').value = '';
  $('code-check-status').textContent = '';
  $('code-continue').disabled = true;
  setError('code-error', null);
  $('copy-status').textContent = '';
  fillReturnInfo();
  show('code');
  performance.mark('ozvi:code-shown');
}

/**
 * She types the code's last three characters before leaving the code
 * screen. They are read as a typed code is (ozvi-crypto: any case,
 * Crockford's and Cyrillic look-alikes): the code's first fifteen and her
 * three must parse to the code itself.
 */
async function checkLastThree() {
  const code = state.code ?? '';
  const typed = $('code-check').value;
  let ok = false;
  try {
    ok = code !== '' && await crypto.checkCode(code.replaceAll('-', '').slice(0, 15) + typed) === code;
  } catch {
    ok = false;
  }
  if ($('code-check').value !== typed) return; // she typed on meanwhile
  const complete = typed.replace(/[\s\-\u2010-\u2015]/g, '').length >= 3;
  $('code-continue').disabled = !ok;
  $('code-check').toggleAttribute('aria-invalid', complete && !ok);
  $('code-check-status').textContent = complete ? t(ok ? 'code.check-ok' : 'code.check-wrong') : '';
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
  $('open-btn').disabled = true;
  progress('return-progress', 'progress.open');
  let person = null;
  try {
    let code;
    try {
      code = await crypto.checkCode(input.value);
    } catch (error) {
      input.setAttribute('aria-invalid', 'true');
      throw error;
    }
    input.removeAttribute('aria-invalid');
    await deployment();
    person = await crypto.derive(code);
    const listing = await api.listMessages(person);
    crypto.free(state.person?.handle);
    Object.assign(state, { person, centre: listing.centre, code: null, firstCentre: null });
    person = null;
    input.value = '';
    await openThread(listing);
  } catch (error) {
    crypto.free(person?.handle);
    setError('return-error', errorKey(error));
    if (input.getAttribute('aria-invalid')) input.focus();
  } finally {
    progress('return-progress', null);
    $('open-btn').disabled = false;
  }
}

// --- The conversation --------------------------------------------------------

async function openThread(listing) {
  $('delete-confirm').hidden = true;
  await state.rendering; // an earlier conversation's render ends first
  state.seen.clear();
  state.transferredTo.clear();
  state.ack = null;
  state.models = [];
  state.readThrough = null;
  // The centre she wrote to, or (returning) the one the relay names.
  const centre = state.centre || listing.centre;
  state.centre = null;
  $('thread-centre').textContent = '';
  showCentre(centre);
  state.ownLast = 0;
  crypto.free(state.conversation);
  state.conversation = await crypto.newConversation();
  $('messages').replaceChildren();
  $('thread-status').hidden = true;
  $('read-marker').textContent = '';
  await render(listing);
  show('thread');
  state.stopFollowing?.();
  state.stopFollowing = api.follow(state.person, refresh);
}

async function refresh() {
  const { person } = state;
  if (!person) return;
  try {
    await render(null);
  } catch (error) {
    if (state.person !== person) return;
    if (error instanceof api.RelayError && error.key === 'err.not_found') {
      const onThread = current() === 'thread';
      forget();
      if (onThread) show('deleted');
    }
  }
}

/**
 * Renders a listing (or fetches what is new when `listing` is null). One
 * render at a time, in order: ozvi-crypto's checks need the thread's order.
 */
function render(listing) {
  const run = state.rendering.then(async () => {
    const { person } = state;
    if (!person) return;
    const fetched = listing ?? await api.listMessages(person, Math.max(0, ...state.seen));
    if (state.person !== person) return; // she left meanwhile
    await renderListing(fetched, person, state.conversation);
  });
  state.rendering = run.catch(() => {});
  return run;
}

/** Shows the centre (one the signed directory lists) that reads her messages. */
function showCentre(id) {
  const centre = centreById(id);
  if (!centre) return;
  const line = t('reader.centre', { centre: centreName(id) });
  // Rebuilt only when it changes, so focus and screen readers are left alone.
  if (state.centre === id && $('thread-centre').textContent === line) return;
  state.centre = id;
  $('thread-centre').textContent = line;
  $('thread-answer').textContent = localized(centre?.answer_time);
  const contact = centre?.contact;
  $('centre-contact').hidden = !contact;
  if (contact) {
    const phone = document.createElement('a');
    phone.href = `tel:${contact.phone.replace(/[^+\d]/g, '')}`;
    phone.textContent = contact.phone;
    $('contact-phone').replaceChildren(phone);
    $('contact-address').textContent = contact.address ?? '';
    $('contact-hours').textContent = localized(contact.hours);
  }
}

// Each shown entry is kept as what it says (a model), not only as DOM, so
// a change of language redraws the conversation without opening anything
// again (ozvi-crypto's checks have already seen every message).
//   {kind: 'unverified' | 'replay', at}
//   {kind: 'person', text, at, lang}
//   {kind: 'ack', centre, at}            the directory's acknowledgement
//   {kind: 'staff', staff, centre, text, at, lang, transfer, status}

async function renderListing(listing, person, conversation) {
  // The relay names the centre; the page believes it when it first opens
  // the conversation, and after that only a verified transfer notice may
  // change it (PROTOCOL.md §4.8): her next messages are sealed to it.
  if (!state.centre) showCentre(listing.centre);
  const list = $('messages');
  for (const message of listing.messages) {
    if (state.seen.has(message.seq)) continue;
    state.seen.add(message.seq);
    let models = [];
    try {
      models = await messageModels(message, person, conversation);
    } catch {
      // A malformed entry is shown as unverifiable; the rest still render.
      models = [{ kind: 'unverified', at: message.stored_at }];
    }
    if (state.person !== person) return; // she left meanwhile
    for (const model of models) {
      model.el = draw(model);
      state.models.push(model);
      list.append(model.el);
    }
  }
  if (listing.centre !== state.centre && state.transferredTo.has(listing.centre)) showCentre(listing.centre);
  state.readThrough = listing.readThrough;
  showProgress();
}

/** The read marker and the centre's latest state, in her language. */
function showProgress() {
  const marker = $('read-marker');
  let read = '';
  if (state.ownLast && Number.isInteger(state.readThrough)) {
    read = t(state.readThrough >= state.ownLast ? 'thread.read' : 'thread.unread');
  }
  if (marker.textContent !== read) marker.textContent = read;
  const latest = state.models.findLast((m) => m.status);
  const line = latest ? statusLine(latest.status) : '';
  if ($('thread-status').textContent !== line) $('thread-status').textContent = line;
  $('thread-status').hidden = !line;
}

/** Redraws every shown entry in the current language. */
function redrawConversation() {
  for (const model of state.models) {
    const el = draw(model);
    model.el.replaceWith(el);
    model.el = el;
  }
  showProgress();
}

function plainItem(className, whoText, bodyText, at, lang) {
  const item = document.createElement('li');
  item.className = className;
  const who = document.createElement('p');
  who.className = 'who';
  who.textContent = whoText;
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = bodyText;
  if (['cs', 'en', 'uk'].includes(lang)) text.lang = lang;
  const when = document.createElement('p');
  when.className = 'when';
  when.textContent = Number.isInteger(at) && at > 0 ? new Date(at * 1000).toLocaleString(language()) : '';
  item.append(who, text, when);
  return item;
}

const statusLine = (status) => t('status.label', { state: t(`status.${status.state}`) })
  + (status.note ? ` – ${status.note}` : '');

/** A model as a list item, in the current language, with its files. */
function draw(model) {
  const item = drawItem(model);
  if (model.files !== undefined && (model.kind === 'person' || model.kind === 'staff')) {
    const box = document.createElement('div');
    box.className = 'files';
    item.insertBefore(box, item.querySelector('.when'));
    const { person } = state;
    photos().then(
      (m) => m.showFiles(box, person, model.files, () => state.person === person && box.isConnected),
      () => { box.textContent = t('photo.unavailable'); },
    );
  }
  return item;
}

function drawItem(model) {
  switch (model.kind) {
    case 'person':
      return plainItem('message person', t('msg.me'), model.text, model.at, model.lang);
    case 'ack': {
      // The centre's automatic acknowledgement, from the signed directory.
      const item = plainItem('message auto', t('msg.auto', { centre: centreName(model.centre) }),
        localized(centreById(model.centre)?.acknowledgement), model.at);
      const why = document.createElement('p');
      why.className = 'hint';
      why.textContent = t('msg.auto-why');
      item.insertBefore(why, item.lastChild);
      return item;
    }
    case 'staff': {
      const item = plainItem('message staff', `${model.staff} · ${centreName(model.centre)}`,
        model.text, model.at, model.lang);
      const badge = document.createElement('span');
      badge.className = 'verified';
      badge.textContent = ` ✓ ${t('msg.verified')}`;
      item.querySelector('.who').append(badge);
      const notes = [];
      if (model.transfer) {
        notes.push(t('msg.transfer', { centre: centreName(model.transfer.to) }));
        if (model.transfer.reason) notes.push(t('msg.reason', { reason: model.transfer.reason }));
      }
      if (model.status) notes.push(statusLine(model.status));
      for (const note of notes) {
        const p = document.createElement('p');
        p.className = 'notice-line';
        p.textContent = note;
        item.insertBefore(p, item.querySelector('.text'));
      }
      // A transfer notice is told in her language above; its text repeats it.
      if (!model.text || model.transfer) item.querySelector('.text').remove();
      return item;
    }
    case 'replay':
      return plainItem('message unverified', '', t('msg.replay'), model.at);
    default:
      return plainItem('message unverified', '', t('msg.unverified'), model.at);
  }
}

const STATES = ['received', 'in_progress', 'waiting', 'closed'];

/** A reply's `status` as PROTOCOL.md §4.6 allows it, or null (ignored). */
function validStatus(status) {
  if (!status || typeof status !== 'object' || Array.isArray(status)) return null;
  if (!Object.keys(status).every((k) => k === 'state' || k === 'note')) return null;
  if (!STATES.includes(status.state)) return null;
  const note = status.note ?? '';
  if (typeof note !== 'string' || length(note) > 200 || /[\n\r]/.test(note)) return null;
  return { state: status.state, note };
}

/** A reply's `transfer`, to a centre the directory lists, or null (ignored). */
function validTransfer(transfer) {
  if (!transfer || typeof transfer !== 'object' || Array.isArray(transfer)) return null;
  if (!Object.keys(transfer).every((k) => k === 'to' || k === 'reason')) return null;
  const { to, reason } = transfer;
  if (typeof to !== 'string' || !/^[a-z0-9-]{1,32}$/.test(to) || !centreById(to)) return null;
  if (typeof reason !== 'string' || length(reason) > 500) return null;
  return { to, reason };
}

/** Opens one listed message and says what it shows (the models above). */
async function messageModels(message, person, conversation) {
  // ozvi-crypto opens it and checks it against the thread so far.
  const result = await crypto.open(person, conversation, message.seq, message.envelope);
  if (result.check === 'out_of_order' || result.check === 'not_in_thread') return [];
  if (result.check === 'replay') return [{ kind: 'replay', at: message.stored_at }];
  if (result.check !== 'show') return [{ kind: 'unverified', at: message.stored_at }];
  let body = {};
  try { body = JSON.parse(result.body); } catch { body = {}; }
  if (!body || typeof body !== 'object') body = {};
  const text = typeof body.text === 'string' ? body.text : '';
  // A verified message shows the time its sender signed, not the relay's.
  const at = result.sent_at;
  if (result.from !== 'staff') {
    state.ownLast = Math.max(state.ownLast, message.seq);
    const models = [{ kind: 'person', text, at, lang: body.lang, files: body.files }];
    // Her first message: the centre's acknowledgement follows at once.
    const centre = state.firstCentre ?? state.centre;
    if (message.seq === 1 && localized(centreById(centre)?.acknowledgement)) {
      state.ack = { kind: 'ack', centre, at };
      models.push(state.ack);
    }
    return models;
  }
  const transfer = validTransfer(body.transfer);
  if (transfer) {
    // Returning after a transfer, the acknowledgement is the first centre's:
    // the one that signed the first notice.
    if (!state.firstCentre && !state.transferredTo.size && state.ack
      && localized(centreById(result.centre)?.acknowledgement)) {
      state.ack.centre = result.centre;
      const el = draw(state.ack);
      state.ack.el.replaceWith(el);
      state.ack.el = el;
    }
    state.transferredTo.add(transfer.to);
  }
  return [{
    kind: 'staff', staff: result.staff, centre: result.centre, text, at, lang: body.lang,
    transfer, status: validStatus(body.status), files: body.files,
  }];
}

async function writeMore(event) {
  event.preventDefault();
  if (!state.person || !messageOk('write-text', 'write-error')) return;
  const text = $('write-text').value.trim();
  setError('write-error', null);
  $('write-send').disabled = true;
  const { person } = state;
  try {
    progress('write-progress', 'progress.send');
    const album = chosenPhotos('write');
    // Sealed once: sending again after a failure reuses the same file ids.
    const sealed = album ? await album.seal(person) : null;
    if (album) {
      progress('write-progress', 'progress.upload');
      await album.upload(person, null);
      progress('write-progress', 'progress.send');
    }
    const pow = await solveChallenge('post');
    const body = { text, lang: language(), ...(sealed ? { files: sealed.references } : {}) };
    const envelope = await crypto.seal(person, state.centre, JSON.stringify(body), Date.now() / 1000);
    await api.postMessage(person, envelope, pow, sealed?.ids ?? []);
    album?.sent();
    $('write-text').value = '';
    countChars('write-text', 'write-count');
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
    $('delete-btn').focus();
  }
}

// --- Leaving -------------------------------------------------------------------

/** Whether she has typed something that leaving would lose. */
function typed() {
  // A code on screen she may not have noted yet counts too.
  return state.code !== null
    || ['message', 'write-text', 'safe-times', 'safe-word'].some((id) => $(id).value.trim() !== '');
}

/** Set for a moment when she taps a phone number: calling never asks. */
let calling = false;
document.addEventListener('click', (event) => {
  if (event.target.closest?.('a[href^="tel:"]')) {
    calling = true;
    setTimeout(() => { calling = false; }, 1000);
  }
}, true);

// The phone's Back gesture or closing the tab asks first when text was
// typed; the quick exit (which marks the page `exiting`) never asks.
window.addEventListener('beforeunload', (event) => {
  if (document.documentElement.classList.contains('exiting') || calling || !typed()) return;
  event.preventDefault();
  event.returnValue = '';
});

// --- Wiring ----------------------------------------------------------------------

// English and Ukrainian are loaded when first chosen (i18n.js); until then,
// and if loading fails, the page stays in the language it was in.
async function applyLanguage(lang) {
  await setLanguage(lang);
  $('lang').value = language();
  fillRegions();
  nameReader();
  if (state.person && state.centre) {
    showCentre(state.centre);
    redrawConversation();
  }
  if (!$('screen-code').hidden) fillReturnInfo();
}

function wire() {
  $('lang').addEventListener('change', () => applyLanguage($('lang').value));
  const toForm = () => show('form');
  // The town list (58 KiB) is fetched when she goes to the town field, not
  // with the form: a visit that picks the region from the list, or "I don't
  // know", never downloads it.
  $('place').addEventListener('focus', preparePlaces, { once: true });
  $('start-new').addEventListener('click', toForm);
  for (const button of document.querySelectorAll('button.go-form')) button.addEventListener('click', toForm);
  $('start-return').addEventListener('click', () => show('return'));
  $('show-about').addEventListener('click', () => show('about'));
  $('show-witness').addEventListener('click', () => show('witness'));
  for (const button of document.querySelectorAll('button.back, button.home')) {
    button.addEventListener('click', () => {
      $('code-input').value = '';
      show('home');
    });
  }
  $('show-a11y').addEventListener('click', () => {
    if (current() !== 'a11y') state.returnTo = current();
    show('a11y');
  });
  // Back where she was: the code screen or her conversation stay open.
  $('a11y-back').addEventListener('click', () => show(state.returnTo));
  for (const radio of document.querySelectorAll('input[name=danger]')) {
    radio.addEventListener('change', () => {
      const danger = radio.checked && radio.value === 'yes';
      $('danger-alert').hidden = !danger;
      if (danger) $('danger-alert').scrollIntoView({ block: 'start' });
    });
  }
  const childOrWitness = () => {
    const child = checked('age') === 'under_16';
    $('child-help').hidden = !child;
    $('witness-hint').hidden = checked('role') !== 'witness';
  };
  for (const radio of document.querySelectorAll('input[name=age], input[name=role]')) {
    radio.addEventListener('change', childOrWitness);
  }
  $('place').addEventListener('input', () => {
    clearTimeout(placeTimer);
    placeTimer = setTimeout(suggestPlaces, 120);
  });
  $('region').addEventListener('change', () => {
    $('region-error').hidden = true;
    $('region').removeAttribute('aria-describedby');
    $('region').removeAttribute('aria-invalid');
    nameReader();
  });
  // Enter in a one-line field does not send the form; in the town field it
  // takes the first suggestion.
  for (const id of ['place', 'safe-times', 'safe-word']) {
    $(id).addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' || event.isComposing) return;
      event.preventDefault();
      if (id === 'place') $('place-list').querySelector('button')?.click();
    });
  }
  for (const prefix of ['form', 'write']) {
    $(`${prefix}-photo-add`).addEventListener('click', () => $(`${prefix}-photo-input`).click());
    $(`${prefix}-photo-input`).addEventListener('change', () => addPhotos(prefix));
  }
  $('message').addEventListener('input', () => countChars('message', 'message-count'));
  $('write-text').addEventListener('input', () => countChars('write-text', 'write-count'));
  $('contact-form').addEventListener('submit', sendFirst);
  $('copy-code').addEventListener('click', copyCode);
  $('print-code').addEventListener('click', () => window.print());
  $('code-check').addEventListener('input', checkLastThree);
  $('code-continue').addEventListener('click', async () => {
    $('code-continue').disabled = true;
    setError('code-error', null);
    try {
      const listing = await api.listMessages(state.person);
      await openThread(listing);
      // The code has been shown and checked: it leaves the page's memory.
      state.code = null;
      $('code').textContent = '';
    } catch (error) {
      setError('code-error', errorKey(error));
      $('code-continue').disabled = false;
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

function start() {
  applyLanguage(browserLanguage());
  wire();
  performance.mark('ozvi:interactive');
  // The WebAssembly module loads in the worker while she reads; the signed
  // directory is fetched and verified early, so sending does not wait for
  // it. A failure here is reported when she sends.
  crypto.ready().then(() => performance.mark('ozvi:crypto-ready'), () => {
    setError('fatal', 'err.browser');
  });
  deployment().catch(() => {});
}

start();
