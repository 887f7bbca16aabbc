// The page's words in Czech (the default), English and Ukrainian. Every
// element with data-i18n="key" gets the text of `key`; scripts use t(key).
// The HTML carries the Czech text itself, so the page reads before any
// script has run. Czech is here; English (i18n-en.js) and Ukrainian
// (i18n-uk.js) are loaded only when she chooses one or her browser
// prefers it, so a visit downloads one language, not three.

export const LANGUAGES = ['cs', 'en', 'uk'];

const cs = {
  'title': 'Formulář',
  'exit.button': 'Rychle odejít',
  'lang.label': 'Jazyk',
  'home.title': 'Napište nám bezpečně a anonymně',
  'home.intro': 'Zpráva dojde do intervenčního centra ve vašem kraji. Přečíst ji mohou jen pracovnice a pracovníci centra.',
  'home.anonymous': 'Nemusíte uvádět jméno, e-mail ani telefon.',
  'danger.short': 'V ohrožení života volejte hned 158 (policie) nebo 112.',
  'home.new': 'Napsat poprvé',
  'home.return': 'Mám kód a chci pokračovat',
  'about.link': 'Co je intervenční centrum a jak pomáhá',
  'witness.link': 'Jste svědek násilí? Jak můžete pomoci',
  'safety.title': 'Vaše bezpečí',
  'safety.exit': 'Tlačítko „Rychle odejít“ (nebo klávesa Esc, nebo třikrát Shift) stránku okamžitě skryje a otevře nenápadnou stránku (Seznam.cz). Tlačítko Zpět se sem nevrátí.',
  'safety.limits': 'V historii prohlížeče ale zůstane záznam o návštěvě této stránky a sledovací program v zařízení tím neodstraníte. Pokud můžete, použijte anonymní okno prohlížeče nebo zařízení, ke kterému nemá nikdo jiný přístup.',
  'safety.history': 'Záznam v historii smažete v nastavení prohlížeče (Historie → vyberte tuto stránku → Smazat). Smažte jen tento záznam, celá prázdná historie může být nápadná.',
  'safety.traces': 'Stránka sama do zařízení nic neukládá: žádné cookies ani kopie zpráv (kromě toho, co sami zkopírujete nebo vytisknete). Ke konverzaci se vrátíte jen s kódem, který dostanete.',
  'about.title': 'Co je intervenční centrum',
  'about.p1': 'Intervenční centrum je bezplatná a důvěrná služba pro lidi od 16 let, kteří zažívají násilí od někoho blízkého: partnera, bývalého partnera, rodiče, dítěte nebo jiného člena rodiny. Pomáhá i svědkům.',
  'about.p2': 'V každém kraji je jedno. Pomůže vám zorientovat se, naplánovat bezpečí, vyřídit úřady, soud nebo policii a najít další pomoc. Nic neudělá bez vašeho souhlasu.',
  'about.p3': 'Můžete se ozvat telefonem, osobně, pracovníci za vámi mohou přijet, nebo můžete psát sem. Když policie vykáže násilnou osobu ze společného bydlení, centrum se vám samo ozve do 48 hodin.',
  'about.p4': 'Je ti méně než 16 let? Zavolej na Linku bezpečí 116 111. Napsat sem můžeš taky.',
  'witness.title': 'Jste svědek nebo svědkyně násilí',
  'witness.p1': 'Soused, příbuzná, kamarád, kolegyně: i vy můžete pomoci. Centrum poradí i vám, co udělat a co raději ne.',
  'witness.danger': 'Když slyšíte nebo vidíte, že někomu právě hrozí nebezpečí, volejte hned 158 nebo 112.',
  'witness.listen': 'Promluvte si s ohroženou osobou o samotě. Věřte jí, nesuďte a nenuťte ji k rozhodnutí.',
  'witness.info': 'Řekněte, že pomoc existuje: intervenční centrum, linky 116 006 a 116 016. Odkaz na tuto stránku dávejte jen tam, kde ho násilná osoba neuvidí.',
  'witness.safe': 'Nekonfrontujte násilnou osobu sami; můžete tím ohrozit sebe i ohroženou osobu.',
  'witness.write': 'Napsat sem můžete i vy. Zvolte „Jsem svědek / svědkyně“.',
  'witness.hint': 'Centrum poradí i vám: co můžete udělat a jak nikoho neohrozit. Popište, co jste viděl(a) nebo slyšel(a).',
  'form.title': 'Nová zpráva',
  'danger.title': 'Jste-li v nebezpečí, volejte hned:',
  'danger.police': 'policie',
  'danger.emergency': 'tísňová linka',
  'danger.then': 'Zprávu sem můžete napsat i potom. Centrum zprávy nečte nepřetržitě, odpověď může nějakou dobu trvat.',
  'form.age': 'Kolik vám je let?',
  'age.under_16': 'méně než 16',
  'age.16_17': '16 nebo 17',
  'age.adult': '18 a více',
  'age.unsaid': 'nechci uvést',
  'child.title': 'Je ti méně než 16 let? Nejsi na to sám ani sama.',
  'child.call': 'Zavolej na Linku bezpečí, zdarma a kdykoli:',
  'child.chat': 'Můžeš jim i psát na chatu:',
  'child.still': 'Napsat sem můžeš i tak. Zprávu si přečteme a poradíme, kam dál.',
  'form.danger': 'Jste právě teď v nebezpečí?',
  'form.yes': 'Ano',
  'form.no': 'Ne',
  'form.where': 'Kde se to děje?',
  'form.place': 'Obec nebo PSČ',
  'form.place-hint': 'Napište začátek názvu obce nebo PSČ a vyberte z nabídky. Hledá se jen v této stránce, nic se nikam neposílá.',
  'form.region': 'Kraj',
  'form.region-missing': 'Vyberte prosím kraj, nebo „Nevím“.',
  'region.choose': 'Vyberte kraj…',
  'region.unknown': 'Nevím / nechci uvést',
  'place.found': 'Nalezeno: {count}. Vyberte obec ze seznamu.',
  'place.none': 'Taková obec v seznamu není. Vyberte prosím kraj níže.',
  'place.district': 'okres {district}',
  'place.chosen': '{place}: {region}',
  'reader.centre': 'Vaše zprávy čte: {centre}',
  'reader.unknown': 'Vaše zprávy čte: {centre}. Když kraj neuvedete, předá je příslušnému centru, bude-li to třeba.',
  'form.role': 'Kdo píše?',
  'role.self': 'Týká se to mě',
  'role.witness': 'Jsem svědek / svědkyně (soused, příbuzný, dítě)',
  'role.professional': 'Píšu jako odborník/odbornice (škola, lékař, úřad)',
  'form.violence': 'Jaké násilí? (nepovinné)',
  'violence.psychological': 'psychické',
  'violence.physical': 'fyzické',
  'violence.sexual': 'sexuální',
  'violence.economic': 'ekonomické',
  'form.safe': 'Kdy a jak je pro vás kontakt bezpečný? (nepovinné)',
  'form.safe-times': 'Kdy',
  'form.safe-times-hint': 'Například „všední dny 9–12, nikdy večer“. Nepište nic, co by vás mohlo prozradit, pokud to nechcete.',
  'form.channel': 'Jak',
  'channel.chat': 'Jen psaním sem',
  'channel.phone': 'Můžete i zavolat (číslo napíšu do zprávy)',
  'form.voicemail': 'Hlasová schránka',
  'voicemail.no': 'Nenechávejte mi vzkaz',
  'voicemail.yes': 'Vzkaz mi nechat můžete',
  'form.safe-word': 'Heslo, podle kterého poznáme, že jste to vy',
  'form.safe-word-hint': 'Když to bude potřeba, zeptáme se na něj, třeba u telefonu.',
  'form.message': 'Vaše zpráva',
  'form.message-empty': 'Napište prosím zprávu.',
  'form.field-too-long': 'Tento údaj je o {over} znaků delší, než se vejde ({limit}). Nic jsme nezkrátili: zkraťte ho prosím.',
  'place.unavailable': 'Hledání obcí teď nefunguje. Vyberte prosím kraj níže.',
  'err.thread_full': 'Konverzace je už příliš dlouhá na další zprávy. Napište prosím novou zprávu na začátku stránky, nebo zavolejte do centra.',
  'form.count': '{count} z {limit} znaků',
  'form.too-long': 'Zpráva je o {over} znaků delší, než se vejde ({limit}). Nic jsme nezkrátili: zkraťte ji prosím, nebo zbytek pošlete v další zprávě.',
  'form.send': 'Odeslat',
  'nav.back': 'Zpět',
  'nav.home': 'Na začátek',
  'progress.send': 'Zpráva se bezpečně odesílá…',
  'progress.open': 'Otevírá se konverzace…',
  'progress.upload': 'Fotky se šifrují a nahrávají…',
  'photo.add': 'Přidat fotku nebo snímek obrazovky',
  'photo.hint': 'Nejvýše 5 souborů: fotky (JPEG, PNG, WebP, HEIC) a snímky obrazovky.',
  'photo.stripped': 'Poloha a údaje o fotoaparátu byly odstraněny. To, co je vidět na fotce samotné (tváře, okna, cedule), zůstává.',
  'photo.unavailable': 'Tuto přílohu se nepodařilo otevřít.',
  'err.upload': 'Fotky se nepodařilo nahrát. Zkuste to prosím znovu – nic se nezdvojí. Zprávu můžete poslat i bez nich: fotky odeberte a odešlete.',
  'err.upload_quota': 'Do této konverzace už nejde přidat další soubory. Popište to prosím slovy.',
  'code.title': 'Zpráva je odeslaná. Toto je váš kód:',
  'code.copy': 'Zkopírovat kód',
  'code.print': 'Vytisknout',
  'code.copied': 'Kód je zkopírovaný. Telefon nebo počítač si ho může pamatovat v historii schránky a sdílet s dalšími zařízeními: smažte ho tam, až si ho uložíte.',
  'code.copy-failed': 'Kopírování se nepodařilo. Opište si kód prosím ručně.',
  'code.only-way': 'Jen s tímto kódem se ke konverzaci vrátíte.',
  'code.nobody': 'Nikdo jiný ho nezná a ani my ho neumíme obnovit.',
  'code.keep': 'Uložte si ho tam, kde ho nikdo jiný nenajde. Kdo kód zná, může konverzaci číst.',
  'code.where': 'Kam se vrátit:',
  'code.check': 'Pro kontrolu opište poslední tři znaky kódu',
  'code.check-ok': 'Souhlasí.',
  'code.check-wrong': 'Nesouhlasí. Podívejte se na kód znovu.',
  'code.continue': 'Pokračovat ke konverzaci',
  'return.title': 'Pokračovat v konverzaci',
  'return.label': 'Váš kód',
  'return.hint': '18 znaků; na velikosti písmen, mezerách a pomlčkách nezáleží.',
  'return.open': 'Otevřít',
  'thread.title': 'Vaše konverzace',
  'thread.contact': 'Kontakt na centrum',
  'contact.phone': 'Telefon',
  'contact.address': 'Adresa',
  'contact.hours': 'Kdy',
  'thread.write': 'Napsat další zprávu',
  'thread.leave': 'Zavřít konverzaci',
  'thread.delete': 'Smazat konverzaci',
  'thread.delete-question': 'Opravdu smazat celou konverzaci? Smaže se natrvalo a kód přestane platit.',
  'thread.delete-yes': 'Ano, smazat',
  'thread.delete-no': 'Ne, ponechat',
  'thread.sent': 'Odesláno.',
  'thread.read': 'Centrum vaši poslední zprávu přečetlo.',
  'thread.unread': 'Vaše poslední zpráva je doručená; centrum ji zatím nečetlo.',
  'status.label': 'Stav: {state}',
  'status.received': 'přijato',
  'status.in_progress': 'řešíme',
  'status.waiting': 'čekáme na vaši odpověď',
  'status.closed': 'uzavřeno',
  'msg.me': 'Vy',
  'msg.verified': 'Ověřeno: odpověď z centra',
  'msg.auto': 'Automatická zpráva · {centre}',
  'msg.auto-why': 'Text je ze seznamu center, který provozovatel podepsal; nenapsal ho nikdo z lidí.',
  'msg.transfer': 'Vaši konverzaci nyní čte: {centre}.',
  'msg.reason': 'Proč: {reason}',
  'msg.unverified': 'Tuto zprávu nelze ověřit, a proto ji nezobrazujeme. Nemusí pocházet z centra.',
  'msg.replay': 'Tato zpráva je kopií dřívější zprávy a není zobrazena.',
  'deleted.title': 'Konverzace je smazaná',
  'deleted.text': 'Všechny zprávy jsou pryč a kód už nic neotevře. Můžete kdykoli napsat znovu.',
  'a11y.link': 'Prohlášení o přístupnosti',
  'a11y.title': 'Prohlášení o přístupnosti',
  'a11y.p1': 'Provozovatel se zavazuje zpřístupnit tuto stránku v souladu se zákonem č. 99/2019 Sb. Stránka je navržena podle WCAG 2.1 na úrovni AA (EN 301 549).',
  'a11y.p2': 'Stránku lze ovládat jen klávesnicí, funguje se čtečkou obrazovky a na displejích od šířky 320 pixelů. Soulad se ověřuje automatickými testy (axe-core) ve všech jazycích.',
  'a11y.p3': 'Známá omezení: kód se zobrazuje jen písmem, bez možnosti poslechu. Narazíte-li na překážku, napište nám přes tento formulář; odpovíme do 30 dnů.',
  'help.title': 'Pomoc hned, telefonem',
  'help.158': 'policie',
  'help.112': 'tísňová linka, lze mluvit i anglicky a dalšími jazyky',
  'help.116006': 'Linka pomoci obětem kriminality a domácího násilí (Bílý kruh bezpečí), zdarma, nonstop',
  'help.116016': 'linka pro ženy, které zažívají násilí (ROSA), zdarma; česky, anglicky i ukrajinsky',
  'help.116111': 'Linka bezpečí pro děti a mladé lidi, zdarma, nonstop',
  'err.code_length': 'Kód má 18 znaků. Zkontrolujte, jestli nějaký nechybí nebo nepřebývá.',
  'err.code_character': 'V kódu je znak, který se v kódech nepoužívá. Kódy obsahují jen číslice a písmena bez I, L, O a U.',
  'err.code_typo': 'V kódu je překlep. Zkontrolujte prosím každý znak.',
  'err.not_found': 'K tomuto kódu jsme nenašli žádnou konverzaci. Zkontrolujte ho; konverzace mohla být také smazána.',
  'err.offline': 'Zařízení není připojené k internetu. Připojte se a zkuste to znovu – nic se neztratilo.',
  'err.relay_down': 'Služba teď neodpovídá. Zkuste to prosím za chvíli znovu – nic se neztratilo.',
  'err.rate_limited': 'Příliš mnoho pokusů za krátkou dobu. Počkejte prosím několik minut a zkuste to znovu.',
  'err.quota': 'Zpráva je příliš dlouhá. Napište prosím kratší zprávu, nebo ji rozdělte do více zpráv.',
  'err.directory': 'Seznam center se nepodařilo ověřit. Z bezpečnostních důvodů nepokračujte a zkuste to později.',
  'err.browser': 'Tento prohlížeč neumí šifrování, které stránka potřebuje. Zkuste prosím jiný, aktuální prohlížeč. Telefonní linky dole fungují vždy.',
  'err.generic': 'Něco se nepovedlo. Zkuste to prosím znovu.',
  'err.pow_too_hard': 'Služba je teď přetížená. Zkuste to prosím za chvíli – nic se neztratilo.',
  'err.retry_same': 'Odeslání se nepotvrdilo. Stiskněte Odeslat znovu: zpráva se pošle se stejným kódem, nic se nezdvojí.',
};

export const REGIONS = {
  'CZ-10': { cs: 'Hlavní město Praha', en: 'Prague', uk: 'Прага' },
  'CZ-20': { cs: 'Středočeský kraj', en: 'Central Bohemian Region', uk: 'Середньочеський край' },
  'CZ-31': { cs: 'Jihočeský kraj', en: 'South Bohemian Region', uk: 'Південночеський край' },
  'CZ-32': { cs: 'Plzeňský kraj', en: 'Plzeň Region', uk: 'Пльзенський край' },
  'CZ-41': { cs: 'Karlovarský kraj', en: 'Karlovy Vary Region', uk: 'Карловарський край' },
  'CZ-42': { cs: 'Ústecký kraj', en: 'Ústí nad Labem Region', uk: 'Устецький край' },
  'CZ-51': { cs: 'Liberecký kraj', en: 'Liberec Region', uk: 'Ліберецький край' },
  'CZ-52': { cs: 'Královéhradecký kraj', en: 'Hradec Králové Region', uk: 'Краловоградецький край' },
  'CZ-53': { cs: 'Pardubický kraj', en: 'Pardubice Region', uk: 'Пардубицький край' },
  'CZ-63': { cs: 'Kraj Vysočina', en: 'Vysočina Region', uk: 'Край Височина' },
  'CZ-64': { cs: 'Jihomoravský kraj', en: 'South Moravian Region', uk: 'Південноморавський край' },
  'CZ-71': { cs: 'Olomoucký kraj', en: 'Olomouc Region', uk: 'Оломоуцький край' },
  'CZ-72': { cs: 'Zlínský kraj', en: 'Zlín Region', uk: 'Злінський край' },
  'CZ-80': { cs: 'Moravskoslezský kraj', en: 'Moravian-Silesian Region', uk: 'Моравсько-Сілезький край' },
};

const TEXTS = { cs };
const LOADERS = {
  en: () => import('./i18n-en.js'),
  uk: () => import('./i18n-uk.js'),
};
let current = 'cs';
let wanted = 'cs';

export function language() {
  return current;
}

/** Loads a language's texts unless they are here (Czech always is). */
async function load(lang) {
  if (!TEXTS[lang]) TEXTS[lang] = (await LOADERS[lang]()).default;
  return TEXTS[lang];
}

/** The text of `key` in the current language, with {name} filled in. */
export function t(key, values = {}) {
  const text = TEXTS[current][key] ?? TEXTS.cs[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? '');
}

/**
 * The first of the browser's preferred languages the page speaks (a
 * Ukrainian phone opens in Ukrainian), else Czech. Nothing is remembered.
 */
export function browserLanguage() {
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language ?? ''];
  for (const tag of preferred) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.includes(primary)) return primary;
  }
  return 'cs';
}

/**
 * Switches the language (loading its texts first) and rewrites every
 * data-i18n element. Resolves to false, changing nothing, when a later
 * call overtook this one or the texts could not be loaded (the page stays
 * in the language it was in).
 */
export async function setLanguage(lang) {
  const next = LANGUAGES.includes(lang) ? lang : 'cs';
  wanted = next;
  try {
    await load(next);
  } catch {
    if (wanted === next) wanted = current;
    return false;
  }
  if (wanted !== next) return false;
  current = next;
  document.documentElement.lang = current;
  document.title = t('title');
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  return true;
}

/**
 * Keys some language lacks, including every data-i18n key of the page
 * (checked by the person's browser story); loads every language.
 */
export async function missingKeys() {
  await Promise.all(LANGUAGES.map(load));
  const keys = new Set(LANGUAGES.flatMap((l) => Object.keys(TEXTS[l])));
  for (const el of document.querySelectorAll('[data-i18n]')) keys.add(el.dataset.i18n);
  return LANGUAGES.flatMap((l) => [...keys].filter((k) => !(k in TEXTS[l])).map((k) => `${l}:${k}`));
}
