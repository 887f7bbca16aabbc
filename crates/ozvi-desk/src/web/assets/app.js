// Ozvi desk: the local UI. It talks only to the desk on 127.0.0.1, which
// holds the keys; this page never sees a key. The single-use secret from the
// opening URL's fragment is exchanged at load for a token that lives in this
// page's memory only (never in storage, never in the address bar).
//
// Only the staff member's own input (trusted keydown and pointerdown
// events) keeps the desk unlocked, and only what she opened herself, in a
// visible and focused page, is marked read. Live updates are "background"
// requests: they neither extend the session nor mark anything read.

const T = {
  cs: {
    desk: 'pracoviště', language: 'Jazyk', lock: 'Zamknout', unlockTitle: 'Odemknout pracoviště',
    passphrase: 'Heslo ke klíčům', unlock: 'Odemknout', inbox: 'Konverzace', sort: 'Řadit',
    sortActivity: 'podle poslední aktivity', sortWaiting: 'kdo čeká nejdéle', colId: 'Kód vlákna',
    colActivity: 'Poslední aktivita', colUnread: 'Nepřečteno', colWaiting: 'Čeká', colStatus: 'Stav',
    colAssignee: 'Přiděleno', empty: 'Žádné konverzace.', back: '← Zpět na konverzace',
    thread: 'Konverzace', replyLabel: 'Odpověď (uvidí ji klientka)', send: 'Odeslat odpověď',
    caseTitle: 'Případ (jen pro centrum)', status: 'Stav', assignee: 'Přiděleno',
    notesTitle: 'Interní poznámky', noteLabel: 'Nová poznámka', addNote: 'Přidat poznámku',
    moreTitle: 'Další kroky', export: 'Export pro spis', transferTo: 'Předat jinému centru',
    transfer: 'Předat', st_new: 'nový', st_in_progress: 'řeší se', st_waiting: 'čeká na klientku',
    st_closed: 'uzavřeno', nobody: '— nikdo —', person: 'Klientka / klient', former: 'bývalá pracovnice',
    unchecked: 'převedeno z {from} — dosud neověřeno',
    intakeRole: 'Kdo píše', intakeRegion: 'Kraj', intakeViolence: 'Druh násilí', intakeDanger: 'V ohrožení teď',
    under16: 'MLADŠÍ 16 LET: intervenční centra pomáhají lidem od 16 let. Laskavě ji nasměrujte na Linku bezpečí 116 111 (telefon i chat) a přesto ji vyslechněte.',
    under16Short: 'pod 16', intakeAge: 'Věk', age_under_16: 'mladší 16 let', age_16_17: '16–17 let', age_adult: 'dospělá osoba',
    age_unsaid: 'neuvedla', intakeSafe: 'Bezpečný kontakt (podle ní)', safeChatOnly: 'Jen chat, nevolat',
    chatOnly: 'JEN CHAT, NEVOLAT', callsAllowed: 'volat lze',
    herStateTitle: 'Stav konverzace pro ni (uvidí ho)', herStateLabel: 'Sdělit stav', herStateNote: 'Vysvětlení na jeden řádek (nepovinné, uvidí ho)',
    herStateSend: 'Sdělit stav', herStateNone: 'Stav jí zatím nebyl sdělen.', herStateNow: 'Ví: {s}',
    hs_received: 'přijato', hs_in_progress: 'řešíme', hs_waiting: 'čekáme na vás', hs_closed: 'uzavřeno',
    stateTold: 'Sdělený stav', movedTo: 'Předáno centru {c}', transferReason: 'Důvod (uvidí ho ve zprávě o předání)',
    intakeContact: 'Kontakt', yes: 'ANO', no: 'ne', unknown: 'neví', role_self: 'ohrožená osoba', role_witness: 'svědek',
    role_professional: 'odborník', v_psychological: 'psychické', v_physical: 'fyzické', v_sexual: 'sexuální',
    v_economic: 'ekonomické', confirmTransfer: 'Opravdu předat konverzaci centru {c}? Vaše centrum ji pak neuvidí.',
    attachLabel: 'Přílohy (JPEG, PNG nebo PDF, nejvýš 5, každá do 16 MiB)', attachment: 'Příloha {n}',
    attachmentBad: 'příloha, kterou nelze otevřít', save: 'Uložit', savedTo: 'Uloženo do {p} (čitelné jen pro vás).',
    kind_jpeg: 'obrázek JPEG', kind_png: 'obrázek PNG', kind_pdf: 'dokument PDF', pdfSaveOnly: 'PDF se nezobrazuje; uložte si ho.',
    tooManyFiles: 'Nejvýš 5 příloh v jedné odpovědi.', fileTooLarge: '{f}: příloha má nejvýš 16 MiB.',
    sent: 'Odesláno.', saved: 'Uloženo.', transferred: 'Předáno.', noToken: 'Otevřete pracoviště z adresy, kterou vypsal příkaz ozvi-desk serve. Každá adresa platí jednou; novou vypíše po stisku Enter.',
    lockedNotice: 'Pracoviště se zamklo. Odemkněte je heslem.', waitingNone: '—',
    exportNote: 'Prohlížeč uloží soubor čitelný i pro ostatní uživatele tohoto počítače. Soubor jen pro vás vytvoří příkaz ozvi-desk export.',
    usedToken: 'Tato adresa už byla použita nebo neplatí. Novou vypíše ozvi-desk serve po stisku Enter.',
    alerts: 'Upozorňovat v prohlížeči', sound: 'Zvuk při nové zprávě', newMessage: 'Nová zpráva v Ozvi.',
    whileLocked: 'Od zamčení: {n} nové události v konverzacích. Odemkněte a podívejte se.',
    expires: 'bez aktivity se smaže',
    templateLabel: 'Šablona odpovědi', templateSave: 'Uložit text jako tuto šablonu', noTemplate: '— bez šablony —',
    templateSaved: 'Šablona uložena pro celé centrum.',
    keep: 'Ponechat další lhůtu', kept: 'Ponecháno: bez aktivity se smaže až po další lhůtě.',
    chooseCentre: '— vyberte centrum —', err_wrong_passphrase: 'Nesprávné heslo.',
    colWho: 'Kdo píše', colLatest: 'Poslední zpráva', danger: 'V OHROŽENÍ', filterStatus: 'Stav',
    filterAssignee: 'Přiděleno', all: 'vše', mine: 'mně', search: 'Hledat v textu', over48: 'přes 48 h',
    staffWrote: 'centrum: ',
    legend: 'Čeká: jak dlouho čeká nejstarší nezodpovězená zpráva. Červeně: déle než 48 h, které centrum slibuje. Nahoře: kdo je v ohrožení a dosud nemá odpověď. Hledá se jen v tom, co desk rozšifroval pro přehled (první a poslední zpráva), nikde jinde.',
    err_too_many_attempts: 'Příliš mnoho nesprávných pokusů. Zkuste to znovu za {s} s.',
    casesNav: 'Případy vykázání', safeTitle: 'Bezpečný kontakt', safeTimes: 'Kdy a jak je bezpečné ji kontaktovat',
    safeVoicemail: 'Smí se nechat vzkaz na záznamníku', safeCode: 'Domluvené heslo', save: 'Uložit',
    casesTitle: 'Případy vykázání',
    casesLegend: 'Centrum musí ohroženou osobu kontaktovat do 48 hodin od přijetí úředního záznamu o vykázání. Vykázání trvá 10 dní od vstupu policie. Nahoře a červeně: po lhůtě bez pokusu o kontakt. Lhůtu zastaví první pokus, při kterém byla zastižena, nebo dopis či návštěva.',
    colCase: 'Případ', colPerson: 'Osoba', colDeadline: 'Lhůta', colEvictionEnd: 'Konec vykázání', colState: 'Stav',
    casesEmpty: 'Žádné případy vykázání.', newCase: 'Zapsat nový záznam o vykázání',
    caseEntered: 'Vstup policie (začátek vykázání)', caseReceived: 'Záznam přijat centrem', caseUnit: 'Útvar policie',
    caseRecordNo: 'Číslo záznamu', caseName: 'Ohrožená osoba (jméno)', casePhone: 'Telefon', caseAddress: 'Adresa',
    caseChildren: 'Děti v domácnosti', caseNotes: 'Poznámky', caseSave: 'Zapsat případ',
    statsTitle: 'Statistika pro výroční zprávu', statsFrom: 'Od', statsTo: 'Do (včetně)', statsCsv: 'Stáhnout CSV',
    backCases: '← Zpět na případy', caseHeading: 'Případ vykázání', logTitle: 'Záznam o postupu',
    attemptTitle: 'Pokus o kontakt', attemptAt: 'Kdy', attemptChannel: 'Jak', attemptOutcome: 'Výsledek',
    attemptText: 'Poznámka', attemptSave: 'Zapsat pokus', ch_phone: 'telefon', ch_visit: 'návštěva',
    ch_letter: 'dopis', ch_chat: 'chat', out_reached: 'zastižena', out_no_answer: 'nebere to',
    out_wrong_number: 'špatné číslo', out_unsafe_to_talk: 'nemůže bezpečně mluvit', out_declined: 'pomoc odmítla',
    out_accepted: 'pomoc přijala', linkTitle: 'Propojit s konverzací', linkTo: 'Anonymní konverzace', link: 'Propojit',
    caseNoteTitle: 'Poznámka do záznamu', closeTitle: 'Uzavřít případ', closeChoice: 'Její rozhodnutí',
    ch_accepted: 'pomoc přijala', ch_declined: 'pomoc odmítla', ch_unreachable: 'nepodařilo se zastihnout', close: 'Uzavřít',
    overdue: 'PO LHŮTĚ: kontakt měl proběhnout do {t}', dueBy: 'Kontaktovat do {t}', contactedInTime: 'Kontaktováno včas ({t})',
    contactedLate: 'Kontaktováno po lhůtě ({t})', closedNoContact: 'Uzavřeno bez kontaktu', stOpen: 'otevřený',
    stClosed: 'uzavřen: {c}', court: 'Vykázání končí {t}. Do té doby může podat návrh na předběžné opatření k soudu; podáním se vykázání prodlužuje do rozhodnutí soudu.',
    safeLine: 'BEZPEČNÝ KONTAKT: {times} · vzkaz na záznamník: {vm} · heslo: {code}', noRecord: 'Chybí záznam o vykázání.',
    caseOpened: 'Případ zapsán.', chooseConversation: '— vyberte konverzaci —', linked: 'Propojená konverzace',
    rec_police: 'Policie', rec_person: 'Osoba', rec_phone: 'Telefon', rec_address: 'Adresa', rec_children: 'Děti',
    rec_notes: 'Poznámky', rec_entered: 'Vstup policie', rec_received: 'Přijato', overdueCount: '{n} po lhůtě',

  },
  en: {
    desk: 'desk', language: 'Language', lock: 'Lock', unlockTitle: 'Unlock the desk',
    passphrase: 'Key passphrase', unlock: 'Unlock', inbox: 'Conversations', sort: 'Sort',
    sortActivity: 'by latest activity', sortWaiting: 'who has waited longest', colId: 'Thread',
    colActivity: 'Latest activity', colUnread: 'Unread', colWaiting: 'Waiting', colStatus: 'Status',
    colAssignee: 'Assignee', empty: 'No conversations.', back: '← Back to conversations',
    thread: 'Conversation', replyLabel: 'Reply (the person will see it)', send: 'Send reply',
    caseTitle: 'Case (centre only)', status: 'Status', assignee: 'Assignee',
    notesTitle: 'Internal notes', noteLabel: 'New note', addNote: 'Add note',
    moreTitle: 'More', export: 'Export for the case record', transferTo: 'Transfer to another centre',
    transfer: 'Transfer', st_new: 'new', st_in_progress: 'in progress', st_waiting: 'waiting for the person',
    st_closed: 'closed', nobody: '— nobody —', person: 'The person', former: 'former staff',
    unchecked: 'transferred from {from} — not yet checked',
    intakeRole: 'Who writes', intakeRegion: 'Region', intakeViolence: 'Kind of violence', intakeDanger: 'In danger now',
    under16: 'UNDER 16: ICs serve people over 16. Point her kindly to Linka bezpečí 116 111 (phone and chat) and still hear her.',
    under16Short: 'under 16', intakeAge: 'Age', age_under_16: 'under 16', age_16_17: '16–17', age_adult: 'adult',
    age_unsaid: 'not said', intakeSafe: 'Safe contact (as she said)', safeChatOnly: 'Chat only, do not call',
    chatOnly: 'CHAT ONLY, DO NOT CALL', callsAllowed: 'calls allowed',
    herStateTitle: 'Conversation state for her (she sees it)', herStateLabel: 'Tell her the state', herStateNote: 'One-line explanation (optional, she sees it)',
    herStateSend: 'Tell her', herStateNone: 'She has not been told a state yet.', herStateNow: 'She knows: {s}',
    hs_received: 'received', hs_in_progress: 'in progress', hs_waiting: 'waiting for you', hs_closed: 'closed',
    stateTold: 'State told', movedTo: 'Transferred to {c}', transferReason: 'Reason (she reads it in the transfer notice)',
    intakeContact: 'Contact', yes: 'YES', no: 'no', unknown: "doesn't know", role_self: 'person at risk', role_witness: 'witness',
    role_professional: 'professional', v_psychological: 'psychological', v_physical: 'physical', v_sexual: 'sexual',
    v_economic: 'economic', confirmTransfer: 'Transfer this conversation to {c}? Your centre will no longer see it.',
    attachLabel: 'Attachments (JPEG, PNG or PDF, at most 5, each up to 16 MiB)', attachment: 'Attachment {n}',
    attachmentBad: 'an attachment that cannot be opened', save: 'Save', savedTo: 'Saved to {p} (readable only by you).',
    kind_jpeg: 'JPEG image', kind_png: 'PNG image', kind_pdf: 'PDF document', pdfSaveOnly: 'A PDF is not shown; save it.',
    tooManyFiles: 'At most 5 attachments in one reply.', fileTooLarge: '{f}: an attachment has at most 16 MiB.',
    sent: 'Sent.', saved: 'Saved.', transferred: 'Transferred.', noToken: 'Open the desk from the address ozvi-desk serve printed. Each address works once; press Enter there for a new one.',
    lockedNotice: 'The desk locked itself. Unlock it with your passphrase.', waitingNone: '—',
    exportNote: 'The browser saves the file readable by other users of this computer. For a file only you can read, use ozvi-desk export.',
    usedToken: 'This address was already used or is no longer valid. Press Enter where ozvi-desk serve runs for a new one.',
    alerts: 'Browser notifications', sound: 'Sound for a new message', newMessage: 'A new message in Ozvi.',
    whileLocked: 'Since the desk locked: {n} new events in the conversations. Unlock to see them.',
    expires: 'deleted without activity on',
    templateLabel: 'Reply template', templateSave: 'Save the text as this template', noTemplate: '— no template —',
    templateSaved: 'Template saved for the whole centre.',
    keep: 'Keep for another period', kept: 'Kept: without activity it is deleted only after another period.',
    chooseCentre: '— choose a centre —', err_wrong_passphrase: 'Wrong passphrase.',
    colWho: 'Who writes', colLatest: 'Latest message', danger: 'IN DANGER', filterStatus: 'Status',
    filterAssignee: 'Assignee', all: 'all', mine: 'me', search: 'Search the text', over48: 'over 48 h',
    staffWrote: 'centre: ',
    legend: 'Waiting: how long the oldest unanswered message has waited. Red: longer than the 48 hours the centre promises. At the top: who is in danger and has no answer yet. The search looks only at what the desk decrypted for this list (the first and the latest message), nowhere else.',
    err_too_many_attempts: 'Too many wrong attempts. Try again in {s} s.',
    casesNav: 'Eviction cases', safeTitle: 'Safe contact', safeTimes: 'When and how it is safe to contact her',
    safeVoicemail: 'A voicemail may be left', safeCode: 'Agreed code word', save: 'Save',
    casesTitle: 'Eviction cases',
    casesLegend: 'The centre must contact the endangered person within 48 hours of receiving the police eviction record. The eviction lasts 10 days from the police entry. At the top, in red: overdue without a contact attempt. The first attempt that reached her, or a letter or visit, stops the clock.',
    colCase: 'Case', colPerson: 'Person', colDeadline: 'Deadline', colEvictionEnd: 'Eviction ends', colState: 'State',
    casesEmpty: 'No eviction cases.', newCase: 'Register a new eviction record',
    caseEntered: 'Police entry (eviction starts)', caseReceived: 'Record received by the centre', caseUnit: 'Police unit',
    caseRecordNo: 'Record number', caseName: 'Endangered person (name)', casePhone: 'Phone', caseAddress: 'Address',
    caseChildren: 'Children in the household', caseNotes: 'Notes', caseSave: 'Register the case',
    statsTitle: 'Statistics for the annual report', statsFrom: 'From', statsTo: 'To (inclusive)', statsCsv: 'Download CSV',
    backCases: '← Back to cases', caseHeading: 'Eviction case', logTitle: 'Case log',
    attemptTitle: 'Contact attempt', attemptAt: 'When', attemptChannel: 'How', attemptOutcome: 'Outcome',
    attemptText: 'Note', attemptSave: 'Log the attempt', ch_phone: 'phone', ch_visit: 'visit',
    ch_letter: 'letter', ch_chat: 'chat', out_reached: 'reached', out_no_answer: 'no answer',
    out_wrong_number: 'wrong number', out_unsafe_to_talk: 'unsafe to talk', out_declined: 'declined help',
    out_accepted: 'accepted help', linkTitle: 'Link a conversation', linkTo: 'Anonymous conversation', link: 'Link',
    caseNoteTitle: 'Note in the log', closeTitle: 'Close the case', closeChoice: 'Her choice',
    ch_accepted: 'accepted help', ch_declined: 'declined help', ch_unreachable: 'could not be reached', close: 'Close',
    overdue: 'OVERDUE: contact was due {t}', dueBy: 'Contact due {t}', contactedInTime: 'Contacted in time ({t})',
    contactedLate: 'Contacted late ({t})', closedNoContact: 'Closed without contact', stOpen: 'open',
    stClosed: 'closed: {c}', court: 'The eviction ends {t}. Until then she may petition the court for a preliminary measure; filing extends the eviction until the court decides.',
    safeLine: 'SAFE CONTACT: {times} · voicemail: {vm} · code word: {code}', noRecord: 'The eviction record is missing.',
    caseOpened: 'Case registered.', chooseConversation: '— choose a conversation —', linked: 'Linked conversation',
    rec_police: 'Police', rec_person: 'Person', rec_phone: 'Phone', rec_address: 'Address', rec_children: 'Children',
    rec_notes: 'Notes', rec_entered: 'Police entry', rec_received: 'Received', overdueCount: '{n} overdue',

  },
};

let lang = 'cs';
const t = (key) => (T[lang] && T[lang][key]) || T.cs[key] || key;
const $ = (sel) => document.querySelector(sel);

// The launch secret: taken from the fragment and removed from the address
// bar at once; spent in start() for the page token, kept in memory only.
const launch = new URLSearchParams(location.hash.slice(1)).get('k');
if (location.hash) history.replaceState(null, '', '/');
let token = null;

const state = {
  me: null, staff: [], centres: [], inbox: [], open: null, generation: null,
  // The newest message shown in the open thread, and the newest marked read.
  shownSeq: 0, readSeq: 0,
  // Moves on at every lock: an answer to a request made before it is dropped.
  epoch: 0,
  lockAfter: 15 * 60 * 1000, lastInput: Date.now(), lastReport: 0,
};

class Locked extends Error {
  constructor(message, data = {}) {
    super(message);
    this.changes = data.changes || 0;
    this.generation = data.generation;
  }
}

// Locked, the page still says how many changes arrived since (and nothing
// more): in the title and above the passphrase.
function lockedNews(changes) {
  document.title = changes ? `(${changes}) ${TITLE}` : TITLE;
  $('#locked-news').textContent = changes ? t('whileLocked').replace('{n}', changes) : '';
}

const TITLE = document.title;
// Conversations with unread messages when she was last alerted.
let alerted = 0;

// A short tone, made here (nothing is fetched).
function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    tone.frequency.value = 660;
    tone.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.2);
  } catch (e) { /* no sound on this machine */ }
}

// While the page is open: the count of conversations with unread messages
// in the tab title, and, when it grows while she looks elsewhere, a browser
// notification (if she allowed it) and a tone (if she chose it). Neither
// says anything of the message.
function alertNew() {
  const unread = state.inbox.filter((e) => e.unread > 0).length;
  document.title = unread ? `(${unread}) ${TITLE}` : TITLE;
  if (unread > alerted && !looking()) {
    if ('Notification' in window && Notification.permission === 'granted') {
      new Notification('Ozvi', { body: t('newMessage'), tag: 'ozvi' });
    }
    if ($('#sound').checked) beep();
  }
  alerted = unread;
}

// The centre's reply templates: choosing one puts its text in the reply
// field; "save" stores the field's text as the chosen template for every
// colleague (sealed to the centre's staff on the relay).
async function loadTemplates() {
  const epoch = state.epoch;
  const view = await api('/api/templates');
  if (epoch !== state.epoch || !state.me) return;
  state.templates = view.templates;
  const chosen = $('#template').value;
  $('#template').replaceChildren(el('option', { value: '', textContent: t('noTemplate') }),
    ...view.templates.map((tp) => el('option', { value: tp.id, textContent: tp.title })));
  $('#template').value = view.templates.some((tp) => tp.id === chosen) ? chosen : '';
}

// Whether the centre's e-mail notifications arrive (the relay's delivery
// health): a line above the inbox, a warning when they fail.
async function loadMailHealth() {
  const epoch = state.epoch;
  const view = await api('/api/notifications');
  if (epoch !== state.epoch || !state.me) return;
  const line = $('#mail-health');
  line.textContent = view.line;
  line.className = view.warning ? 'warning' : '';
  line.hidden = false;
}

// `user`: the request is the staff member's own action (it extends the
// session); otherwise it is a background request.
async function api(path, body, user = false) {
  const init = {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Ozvi-Intent': user ? 'user' : 'background' },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const type = response.headers.get('content-type') || '';
  const data = type.startsWith('application/json') ? await response.json() : await response.text();
  if (!response.ok) {
    if (data && data.locked) throw new Locked(data.error, data);
    // Errors the page knows are said in its language.
    const known = data && data.code && T.cs[`err_${data.code}`];
    const message = known
      ? t(`err_${data.code}`).replace('{s}', String(data.retry_after ?? ''))
      : (data && data.error) || response.statusText;
    throw new Error(message);
  }
  return data;
}

function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}

function when(unix) {
  return unix ? new Date(unix * 1000).toLocaleString(lang === 'cs' ? 'cs-CZ' : 'en-GB', { dateStyle: 'short', timeStyle: 'short' }) : '';
}

function waited(since) {
  if (!since) return t('waitingNone');
  const hours = Math.floor((Date.now() / 1000 - since) / 3600);
  return hours >= 48 ? `${hours} h — ${t('over48')}` : `${hours} h`;
}

let noticeTimer = null;

// A line above the page; a confirmation ("Uloženo.") clears itself after a
// few seconds, an error stays until the next notice.
function notice(text, error = false) {
  const el = $('#notice');
  el.textContent = text;
  el.className = error ? 'error' : '';
  el.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && !error) noticeTimer = setTimeout(() => notice(''), 4000);
}

function show(view) {
  for (const id of ['locked', 'inbox-view', 'thread-view', 'cases-view', 'case-view']) $(`#${id}`).hidden = id !== view;
  state.view = view;
  $('#lock').hidden = view === 'locked';
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function setSession(data) {
  state.me = data.me;
  lockedNews(0);
  if (data.lock_after) state.lockAfter = data.lock_after * 1000;
  state.lastInput = Date.now();
  state.staff = data.staff || [];
  state.centres = data.centres || [];
  state.generation = data.generation ?? state.generation;
  $('#me').textContent = `${data.me.centre_name} — ${data.me.label}`;
  $('#assignee').replaceChildren(el('option', { value: '', textContent: t('nobody') }),
    ...state.staff.map((s) => el('option', { value: s.id, textContent: s.name })));
  $('#filter-assignee').replaceChildren(el('option', { value: '', textContent: t('all') }),
    el('option', { value: '-', textContent: t('nobody') }),
    ...state.staff.map((s) => el('option', { value: s.id, textContent: s.name })));
  // No centre is chosen until she chooses one.
  $('#transfer-to').replaceChildren(
    el('option', { value: '', textContent: t('chooseCentre') }),
    ...state.centres.map((c) => el('option', { value: c.id, textContent: c.name })),
  );
}

// Locked: every decrypted word leaves the page (removed from the DOM, not
// hidden), as do the form fields she was typing in.
function clearContent() {
  forgetImages();
  for (const sel of ['#messages', '#notes', '#intake', '#inbox tbody', '#assignee', '#transfer-to', '#filter-assignee', '#template',
    '#cases tbody', '#case-log', '#case-record', '#link-to']) $(sel).replaceChildren();
  for (const sel of ['#case-id', '#case-deadline', '#case-court', '#case-safe', '#thread-safe', '#cases-count']) $(sel).textContent = '';
  for (const form of document.querySelectorAll('form')) form.reset();
  state.cases = [];
  state.caseOpen = null;
  state.templates = [];
  $('#search').value = '';
  for (const sel of ['#thread-id', '#me']) $(sel).textContent = '';
  for (const sel of ['#reply-text', '#note-text']) $(sel).value = '';
  $('#intake').hidden = true;
  notice('');
  state.inbox = [];
  state.staff = [];
  state.centres = [];
  state.shownSeq = 0;
  state.readSeq = 0;
}

function locked(message) {
  state.epoch += 1;
  state.me = null;
  state.open = null;
  clearContent();
  show('locked');
  $('#unlock-error').textContent = message || '';
  $('#passphrase').focus();
}

async function guarded(action) {
  try {
    await action();
  } catch (e) {
    if (e instanceof Locked) locked(t('lockedNotice'));
    else notice(e.message, true);
  }
}

// In danger now and not yet answered: always at the top.
const urgent = (e) => e.danger && e.waiting_since > 0;

// Who writes: the role from her form, and her page's language.
function who(e) {
  return [e.role ? t(`role_${e.role}`) : '', e.lang || ''].filter(Boolean).join(' · ') || '—';
}

function matches(e) {
  const status = $('#filter-status').value;
  const assignee = $('#filter-assignee').value;
  const search = $('#search').value.trim().toLocaleLowerCase();
  if (status && e.status !== status) return false;
  if (assignee === '-' && e.assignee) return false;
  if (assignee && assignee !== '-' && e.assignee !== assignee) return false;
  if (search && !`${e.latest_line || ''} ${e.short}`.toLocaleLowerCase().includes(search)) return false;
  return true;
}

function renderInbox() {
  const rows = state.inbox.filter(matches);
  if ($('#sort').value === 'waiting') {
    rows.sort((a, b) => (a.waiting_since || Infinity) - (b.waiting_since || Infinity));
  }
  // Stable: within each group the chosen order stays.
  rows.sort((a, b) => Number(urgent(b)) - Number(urgent(a)));
  $('#inbox-empty').hidden = rows.length > 0;
  $('#inbox tbody').replaceChildren(...rows.map((e) => {
    const late = e.waiting_since && Date.now() / 1000 - e.waiting_since > 48 * 3600;
    const classes = [e.unread ? 'unread' : '', urgent(e) ? 'danger' : ''].filter(Boolean).join(' ');
    const row = el('tr', { tabIndex: 0, className: classes },
      el('td', {}, el('code', { textContent: e.short })),
      el('td', {}, ...(e.danger ? [el('strong', { className: 'danger', textContent: `⚠ ${t('danger')} ` })] : []),
        ...(e.under_16 ? [el('strong', { className: 'danger', textContent: `⚠ ${t('under16Short')} ` })] : []),
        el('span', { textContent: who(e) })),
      el('td', { className: 'latest', textContent: `${e.latest_from_person ? '' : t('staffWrote')}${e.latest_line || ''}` }),
      el('td', { textContent: when(e.last_activity) }),
      el('td', { textContent: String(e.unread) }),
      el('td', { textContent: waited(e.waiting_since), className: late ? 'late' : '' }),
      el('td', {
        textContent: (e.note_problem ? '⚠'
          : e.transfer_unchecked ? `⚠ ${t('unchecked').replace('{from}', e.transfer_unchecked)}`
            : t(`st_${e.status}`))
          + (e.her_state ? ` · ${t('herStateNow').replace('{s}', t(`hs_${e.her_state.state}`))}` : '')
          + (e.expires_soon ? ` · ⌛ ${t('expires')} ${when(e.expires_at)}` : ''),
        className: e.transfer_unchecked ? 'unchecked' : '',
      }),
      el('td', { textContent: e.assignee_label || e.assignee || '—' }));
    row.dataset.id = e.id;
    row.addEventListener('click', (ev) => guarded(() => openThread(e.id, ev.isTrusted)));
    row.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') guarded(() => openThread(e.id, ev.isTrusted)); });
    return row;
  }));
}

async function loadInbox(user = true) {
  const epoch = state.epoch;
  const inbox = await api('/api/inbox', undefined, user);
  if (epoch !== state.epoch || !state.me) return;
  state.inbox = inbox;
  renderInbox();
  alertNew();
}

function renderIntake(intake) {
  const dl = $('#intake');
  dl.hidden = !intake;
  if (!intake) return;
  const pairs = [
    [t('intakeRole'), t(`role_${intake.role}`)],
    [t('intakeRegion'), intake.region || t('unknown')],
    [t('intakeViolence'), intake.violence.map((v) => t(`v_${v}`)).join(', ') || '—'],
    [t('intakeDanger'), intake.danger_now ? t('yes') : t('no'), intake.danger_now ? 'danger' : ''],
  ];
  if (intake.contact) pairs.push([t('intakeContact'), intake.contact]);
  if (intake.age_band) pairs.push([t('intakeAge'), t(`age_${intake.age_band}`), intake.age_band === 'under_16' ? 'danger' : '']);
  if (intake.safe_contact) pairs.push([t('intakeSafe'), safeLine(intake.safe_contact)]);
  dl.replaceChildren(...pairs.flatMap(([k, v, cls]) => [el('dt', { textContent: k }), el('dd', { textContent: v, className: cls || '' })]));
}

// Images of the open thread, decrypted in the desk and shown from blob:
// URLs that live only in this page's memory; revoked when it redraws.
let imageUrls = [];

function forgetImages() {
  for (const url of imageUrls) URL.revokeObjectURL(url);
  imageUrls = [];
}

function fileSize(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1000000) return `${Math.ceil(bytes / 1000)} kB`;
  return `${(Math.ceil(bytes / 100000) / 10).toLocaleString(lang === 'cs' ? 'cs-CZ' : 'en-GB')} MB`;
}

function describeFile(f) {
  const kind = { 'image/jpeg': 'kind_jpeg', 'image/png': 'kind_png', 'application/pdf': 'kind_pdf' }[f.media_type];
  const parts = [t(kind), fileSize(f.size)];
  if (f.width && f.height) parts.push(`${f.width}×${f.height} px`);
  if (f.name) parts.push(`„${f.name}“`);
  return parts.join(' · ');
}

// A decrypted image for the open thread (a background request: showing
// it is not her input); drawn only if the thread is still the one open.
async function loadImage(id, f, holder) {
  const epoch = state.epoch;
  const response = await fetch('/api/attachment', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Ozvi-Intent': 'background', 'Content-Type': 'application/json' },
    body: JSON.stringify({ id, number: f.number }),
  });
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    holder.append(el('div', { className: 'bad', textContent: data.error || response.statusText }));
    return;
  }
  const blob = await response.blob();
  if (epoch !== state.epoch || state.open !== id) return;
  const url = URL.createObjectURL(blob);
  imageUrls.push(url);
  holder.prepend(el('img', { src: url, alt: `${t('attachment').replace('{n}', f.number)}: ${describeFile(f)}` }));
}

function renderFiles(id, files) {
  if (!files || !files.length) return [];
  return [el('ul', { className: 'files' }, ...files.map((f) => {
    const label = t('attachment').replace('{n}', f.number);
    if (f.problem || !f.media_type) {
      return el('li', { className: 'bad', textContent: `${label}: ${t('attachmentBad')}` });
    }
    const item = el('li', {});
    const holder = el('div', {});
    item.append(holder, el('span', { textContent: `${label}: ${describeFile(f)} ` }));
    const save = el('button', { type: 'button', className: 'save-file', textContent: t('save') });
    save.addEventListener('click', () => guarded(async () => {
      const answer = await api('/api/attachment/save', { id, number: f.number }, true);
      notice(t('savedTo').replace('{p}', answer.path));
    }));
    item.append(save);
    if (f.media_type === 'application/pdf') item.append(el('span', { className: 'hint', textContent: ` ${t('pdfSaveOnly')}` }));
    else loadImage(id, f, holder).catch((e) => holder.append(el('div', { className: 'bad', textContent: e.message })));
    return item;
  }))];
}

// A chosen file as base64 (the desk checks kind and size again).
function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function author(a) {
  if (a.type === 'person') return t('person');
  if (a.type === 'staff') return `${a.label || a.staff} (${a.centre}${a.former ? `, ${t('former')}` : ''})`;
  return '⚠';
}

function renderThread(view) {
  if (state.open !== view.entry.id) state.readSeq = 0;
  state.open = view.entry.id;
  state.shownSeq = view.messages.length ? view.messages[view.messages.length - 1].seq : 0;
  $('#thread-id').textContent = view.entry.short;
  const unchecked = $('#transfer-unchecked');
  unchecked.hidden = !view.entry.transfer_unchecked;
  unchecked.textContent = view.entry.transfer_unchecked
    ? `⚠ ${t('unchecked').replace('{from}', view.entry.transfer_unchecked)}` : '';
  const intake = view.messages.find((m) => m.intake)?.intake;
  renderIntake(intake);
  $('#under-16').hidden = intake?.age_band !== 'under_16';
  $('#her-safe').hidden = !intake?.safe_contact;
  $('#her-safe').textContent = intake?.safe_contact ? `${t('intakeSafe')}: ${safeLine(intake.safe_contact)}` : '';
  $('#her-state').textContent = view.her_state
    ? t('herStateNow').replace('{s}', stateLine(view.her_state)) : t('herStateNone');
  forgetImages();
  $('#messages').replaceChildren(...view.messages.map((m) => {
    const kind = m.problem ? 'problem' : m.author.type;
    const told = m.problem ? [] : [
      ...(m.status ? [el('div', { className: 'told', textContent: `${t('stateTold')}: ${stateLine(m.status)}` })] : []),
      ...(m.transfer ? [el('div', { className: 'told', textContent: t('movedTo').replace('{c}', m.transfer.to) })] : []),
    ];
    const item = el('li', { className: `message ${kind}` },
      el('div', { className: 'meta', textContent: `#${m.seq} · ${when(m.stored_at)} · ${author(m.author)}` }),
      ...told,
      ...(m.problem || m.text || (!told.length && !m.files.length) ? [el('div', { className: 'text', textContent: m.problem || m.text })] : []),
      ...(m.problem ? [] : renderFiles(view.entry.id, m.files)));
    item.dataset.seq = m.seq;
    return item;
  }));
  $('#thread-safe').textContent = safeLine(view.note.safe_contact);
  $('#thread-safe-times').value = view.note.safe_contact?.times || '';
  $('#thread-safe-voicemail').checked = !!view.note.safe_contact?.voicemail;
  $('#thread-safe-chat').checked = !!view.note.safe_contact?.chat_only;
  $('#thread-safe-code').value = view.note.safe_contact?.code_word || '';
  $('#status').value = view.note.status;
  $('#assignee').value = view.note.assignee || '';
  $('#notes').replaceChildren(...view.note.notes.map((n) => el('li', {},
    el('span', { className: 'meta', textContent: `${when(n.at)} · ${n.by}: ` }), el('span', { textContent: n.text }))));
  show('thread-view');
}

// She is looking: the page is visible and has the focus.
function looking() {
  return document.visibilityState === 'visible' && document.hasFocus();
}

// Marks what the open thread shows as read, as her own action.
async function markShownRead() {
  if (!state.open || !state.me || state.shownSeq <= state.readSeq || !looking()) return;
  const seq = state.shownSeq;
  await api('/api/read', { id: state.open, seq }, true);
  state.readSeq = Math.max(state.readSeq, seq);
}

// `user`: she opened it herself (click, Enter); only then is it marked read.
async function openThread(id, user = false) {
  const epoch = state.epoch;
  const view = await api('/api/thread', { id }, user);
  if (epoch !== state.epoch || !state.me) return;
  renderThread(view);
  if (user) await markShownRead();
}

// The safe-contact line, shown before any call.
function safeLine(s) {
  if (!s || !(s.times || s.code_word || s.chat_only)) return '';
  return (s.chat_only ? `${t('chatOnly')} · ` : '')
    + t('safeLine').replace('{times}', s.times || '—').replace('{vm}', s.voicemail ? t('yes') : t('no').toUpperCase())
      .replace('{code}', s.code_word || '—');
}

// A state she was told, with the centre's line.
function stateLine(s) {
  return `${t(`hs_${s.state}`)}${s.note ? ` — ${s.note}` : ''}`;
}

// What the 48-hour clock says, from the case's fields.
function deadline(c) {
  if (!c.contact_due) return t('noRecord');
  if (c.clock_stopped_at) return t(c.contacted_in_time ? 'contactedInTime' : 'contactedLate').replace('{t}', when(c.clock_stopped_at));
  if (c.closed) return t('closedNoContact');
  return t(c.overdue ? 'overdue' : 'dueBy').replace('{t}', when(c.contact_due));
}

function caseState(c) {
  return c.closed ? t('stClosed').replace('{c}', t(`ch_${c.closed.choice}`)) : t('stOpen');
}

function renderCases() {
  const cases = state.cases || [];
  const overdue = cases.filter((c) => c.overdue).length;
  $('#cases-count').textContent = cases.length ? `(${cases.length}${overdue ? ` · ${t('overdueCount').replace('{n}', overdue)}` : ''})` : '';
  $('#cases-btn').className = overdue ? 'overdue' : '';
  $('#cases-empty').hidden = cases.length > 0;
  $('#cases tbody').replaceChildren(...cases.map((c) => {
    const row = el('tr', { tabIndex: 0, className: c.overdue ? 'overdue' : c.closed ? 'closed' : '' },
      el('td', {}, el('code', { textContent: c.short })),
      el('td', { textContent: c.record?.name || '—' }),
      el('td', { className: 'deadline', textContent: (c.overdue ? '⚠ ' : '') + deadline(c) }),
      el('td', { textContent: when(c.eviction_end) }),
      el('td', { textContent: caseState(c) + (c.expires_soon ? ` · ⌛ ${t('expires')} ${when(c.expires_at)}` : '') }));
    row.dataset.id = c.id;
    row.addEventListener('click', () => guarded(() => openCase(c.id)));
    row.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') guarded(() => openCase(c.id)); });
    return row;
  }));
}

async function loadCases() {
  const epoch = state.epoch;
  const cases = await api('/api/cases');
  if (epoch !== state.epoch || !state.me) return;
  state.cases = cases;
  renderCases();
}

function renderCase(c) {
  state.caseOpen = c.id;
  $('#case-id').textContent = c.short;
  const line = $('#case-deadline');
  line.textContent = (c.overdue ? '⚠ ' : '') + deadline(c);
  line.className = c.overdue ? 'overdue' : '';
  $('#case-court').textContent = c.court_reminder ? t('court').replace('{t}', when(c.eviction_end)) : '';
  $('#case-safe').textContent = safeLine(c.safe_contact);
  $('#case-expires').hidden = !c.expires_soon;
  $('#case-expires span').textContent = c.expires_soon ? `⌛ ${t('expires')} ${when(c.expires_at)}` : '';
  const r = c.record || {};
  const pairs = [
    [t('rec_person'), r.name], [t('rec_phone'), r.phone], [t('rec_address'), r.address],
    [t('rec_children'), r.children], [t('rec_police'), [r.police_unit, r.record_no].filter(Boolean).join(' ')],
    [t('rec_entered'), when(r.entered_at)], [t('rec_received'), when(r.received_at)],
    [t('colEvictionEnd'), when(c.eviction_end)], [t('rec_notes'), r.notes],
    ...c.links.map((id) => [t('linked'), id.slice(0, 8)]),
  ].filter(([, v]) => v);
  $('#case-record').replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
  $('#case-log').replaceChildren(...c.entries.map((e) => el('li', {},
    el('span', { className: 'meta', textContent: `#${e.seq} · ${when(e.stored_at)} · ${e.by || '⚠'}: ` }),
    el('span', { className: e.problem ? 'problem' : '', textContent: e.problem || e.line }))));
  $('#link-to').replaceChildren(el('option', { value: '', textContent: t('chooseConversation') }),
    ...state.inbox.map((e) => el('option', { value: e.id, textContent: `${e.short} · ${e.latest_line || ''}`.slice(0, 80) })));
  show('case-view');
}

async function openCase(id) {
  const epoch = state.epoch;
  const c = await api('/api/case', { id });
  if (epoch !== state.epoch || !state.me) return;
  renderCase(c);
}

// A datetime-local field as Unix seconds (this computer's time zone).
const seconds = (sel) => Math.floor(new Date($(sel).value).getTime() / 1000);
// A date field's midnight, local time.
const day = (sel, plus = 0) => Math.floor(new Date(`${$(sel).value}T00:00`).getTime() / 1000) + plus;

async function addEntry(entry) {
  const c = await api('/api/case/entry', { id: state.caseOpen, entry }, true);
  notice(t('saved'));
  renderCase(c);
}

// A live update: fetched in the background, marks nothing read.
async function refresh() {
  if (state.view === 'case-view' && state.caseOpen) await openCase(state.caseOpen);
  if (state.view === 'cases-view' || state.view === 'inbox-view') await loadCases();
  if (state.open) await openThread(state.open, false);
  // The inbox too (what changed only), for the count and the alerts.
  await loadInbox(false);
}

// Live updates: the desk holds a long poll to the relay's event stream.
async function watch() {
  for (;;) {
    if (!token) { await new Promise((r) => setTimeout(r, 1000)); continue; }
    // An answer to a poll made in another state (locked, unlocked) than the
    // page is in now says nothing about now: asked again.
    const epoch = state.epoch;
    const unlocked = !!state.me;
    try {
      const { changed, generation } = await api(`/api/wait?since=${state.generation ?? 0}`);
      state.generation = generation;
      if (changed && state.me) await refresh();
    } catch (e) {
      if (e instanceof Locked) {
        if (epoch !== state.epoch || unlocked !== !!state.me) continue;
        if (state.me) locked(t('lockedNotice'));
        if (e.generation !== undefined) state.generation = e.generation;
        lockedNews(e.changes);
        continue; // the desk long-polls while locked too
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
}

function wire() {
  $('#lang').addEventListener('change', () => { lang = $('#lang').value; translate(); if (state.me) guarded(refresh); });
  // Her own input, and only hers (trusted events), is activity.
  const input = (ev) => {
    if (!ev.isTrusted) return;
    state.lastInput = Date.now();
    if (!state.me) return;
    if (Date.now() - state.lastReport > Math.min(15000, state.lockAfter / 3)) {
      state.lastReport = Date.now();
      api('/api/activity', {}, true).catch((e) => { if (e instanceof Locked) locked(t('lockedNotice')); });
    }
    guarded(markShownRead);
  };
  for (const type of ['keydown', 'pointerdown', 'wheel']) document.addEventListener(type, input, { capture: true, passive: true });
  // The page locks itself too, on the same inactivity, even if the desk
  // cannot be reached.
  setInterval(() => {
    if (state.me && Date.now() - state.lastInput >= state.lockAfter) {
      locked(t('lockedNotice'));
      api('/api/lock', {}).catch(() => {});
    }
  }, 1000);
  $('#unlock').addEventListener('submit', (ev) => {
    ev.preventDefault();
    $('#unlock-error').textContent = '';
    const passphrase = $('#passphrase').value;
    $('#passphrase').value = '';
    api('/api/unlock', { passphrase }, true)
      .then(async (data) => {
        setSession(data); show('inbox-view'); await loadInbox();
        loadMailHealth().catch(() => {}); loadTemplates().catch(() => {}); loadCases().catch(() => {});
      })
      .catch((e) => { $('#unlock-error').textContent = e.message; });
  });
  if ('Notification' in window && Notification.permission === 'default') {
    $('#alerts').hidden = false;
    $('#alerts').addEventListener('click', () => {
      Notification.requestPermission().then(() => { $('#alerts').hidden = Notification.permission !== 'default'; });
    });
  }
  // The e-mail delivery health, now and every five minutes.
  setInterval(() => { if (state.me) loadMailHealth().catch(() => {}); }, 5 * 60 * 1000);
  $('#lock').addEventListener('click', () => guarded(async () => { locked(''); await api('/api/lock', {}, true); }));
  $('#sort').addEventListener('change', renderInbox);
  $('#template').addEventListener('change', () => {
    const chosen = (state.templates || []).find((tp) => tp.id === $('#template').value);
    if (chosen) $('#reply-text').value = chosen.text;
  });
  $('#template-save').addEventListener('click', () => guarded(async () => {
    const id = $('#template').value;
    const text = $('#reply-text').value;
    if (!id || !text.trim()) return;
    const templates = (state.templates || []).map((tp) => (tp.id === id ? { ...tp, text } : tp));
    const view = await api('/api/templates', { templates }, true);
    state.templates = view.templates;
    notice(t('templateSaved'));
  }));
  for (const id of ['#filter-status', '#filter-assignee']) $(id).addEventListener('change', renderInbox);
  $('#search').addEventListener('input', renderInbox);
  $('#back').addEventListener('click', () => guarded(async () => { state.open = null; show('inbox-view'); await loadInbox(); }));
  $('#reply-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      const chosen = [...$('#reply-files').files];
      if (chosen.length > 5) throw new Error(t('tooManyFiles'));
      const big = chosen.find((f) => f.size > 16 * 1024 * 1024);
      if (big) throw new Error(t('fileTooLarge').replace('{f}', big.name));
      const files = await Promise.all(chosen.map(async (f) => ({ name: f.name, data: await readFile(f) })));
      await api('/api/reply', { id: state.open, text: $('#reply-text').value, files }, true);
      $('#reply-text').value = '';
      $('#reply-files').value = '';
      notice(t('sent'));
      await openThread(state.open, true);
    });
  });
  $('#note-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      await api('/api/note', { id: state.open, text: $('#note-text').value }, true);
      $('#note-text').value = '';
      await openThread(state.open, true);
    });
  });
  $('#her-state-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      await api('/api/her-state', { id: state.open, state: $('#her-state-select').value, note: $('#her-state-note').value }, true);
      $('#her-state-note').value = '';
      notice(t('sent'));
      await openThread(state.open, true);
    });
  });
  $('#status').addEventListener('change', () => guarded(async () => {
    await api('/api/status', { id: state.open, status: $('#status').value }, true);
    notice(t('saved'));
  }));
  $('#assignee').addEventListener('change', () => guarded(async () => {
    await api('/api/assign', { id: state.open, staff: $('#assignee').value || null }, true);
    notice(t('saved'));
  }));
  $('#thread-safe-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      const safe = { times: $('#thread-safe-times').value, chat_only: $('#thread-safe-chat').checked, voicemail: $('#thread-safe-voicemail').checked, code_word: $('#thread-safe-code').value };
      await api('/api/safe-contact', { id: state.open, safe }, true);
      notice(t('saved'));
      await openThread(state.open, true);
    });
  });
  $('#cases-btn').addEventListener('click', () => guarded(async () => { state.open = null; show('cases-view'); await loadCases(); }));
  $('#cases-back').addEventListener('click', () => guarded(async () => { show('inbox-view'); await loadInbox(); }));
  $('#case-back').addEventListener('click', () => guarded(async () => { state.caseOpen = null; show('cases-view'); await loadCases(); }));
  $('#case-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      const record = {
        entered_at: seconds('#case-entered'), received_at: seconds('#case-received'),
        police_unit: $('#case-unit').value, record_no: $('#case-record-no').value, name: $('#case-name').value,
        phone: $('#case-phone').value, address: $('#case-address').value, children: $('#case-children').value,
        notes: $('#case-notes').value,
      };
      const c = await api('/api/case/open', { record }, true);
      $('#case-form').reset();
      notice(t('caseOpened'));
      renderCase(c);
    });
  });
  $('#attempt-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      await addEntry({ type: 'attempt', at: seconds('#attempt-at'), channel: $('#attempt-channel').value, outcome: $('#attempt-outcome').value, text: $('#attempt-text').value });
      $('#attempt-form').reset();
    });
  });
  $('#case-safe-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(() => addEntry({ type: 'safe_contact', times: $('#case-safe-times').value, voicemail: $('#case-safe-voicemail').checked, code_word: $('#case-safe-code').value }));
  });
  $('#link-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if ($('#link-to').value) guarded(() => addEntry({ type: 'link', mailbox_id: $('#link-to').value }));
  });
  $('#case-note-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => { await addEntry({ type: 'note', text: $('#case-note-text').value }); $('#case-note-text').value = ''; });
  });
  $('#close-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(() => addEntry({ type: 'close', choice: $('#close-choice').value, text: $('#close-text').value }));
  });
  $('#case-keep').addEventListener('click', () => guarded(async () => {
    await api('/api/keep', { id: state.caseOpen }, true);
    notice(t('kept'));
    await openCase(state.caseOpen);
  }));
  $('#stats-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(async () => {
      const csv = await api('/api/stats', { from: day('#stats-from'), to: day('#stats-to', 86400) }, true);
      const link = el('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `ozvi-statistika-${$('#stats-from').value}.csv` });
      link.click();
      URL.revokeObjectURL(link.href);
    });
  });
  $('#keep-btn').addEventListener('click', () => guarded(async () => {
    await api('/api/keep', { id: state.open }, true);
    notice(t('kept'));
  }));
  $('#export-btn').addEventListener('click', () => guarded(async () => {
    const text = await api('/api/export', { id: state.open }, true);
    const link = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/plain' })), download: `ozvi-${state.open.slice(0, 8)}.txt` });
    link.click();
    URL.revokeObjectURL(link.href);
  }));
  $('#transfer-btn').addEventListener('click', () => guarded(async () => {
    const to = $('#transfer-to');
    if (!to.value || !confirm(t('confirmTransfer').replace('{c}', to.selectedOptions[0].textContent))) return;
    await api('/api/transfer', { id: state.open, to: to.value, reason: $('#transfer-reason').value }, true);
    $('#transfer-reason').value = '';
    state.open = null;
    notice(t('transferred'));
    show('inbox-view');
    await loadInbox();
  }));
}

async function start() {
  translate();
  wire();
  if (!launch) { notice(t('noToken'), true); return; }
  try {
    const response = await fetch('/session', {
      method: 'POST',
      headers: { Authorization: `Bearer ${launch}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) { notice(t('usedToken'), true); return; }
    token = (await response.json()).token;
  } catch (e) {
    notice(e.message, true);
    return;
  }
  try {
    const data = await api('/api/state');
    if (data.unlocked) {
      setSession(data); show('inbox-view'); await loadInbox(false);
      loadMailHealth().catch(() => {}); loadTemplates().catch(() => {}); loadCases().catch(() => {});
    } else locked('');
  } catch (e) {
    notice(e.message, true);
  }
  watch();
}

start();
