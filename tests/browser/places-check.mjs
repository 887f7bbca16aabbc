// Checks web-client/places.js, the page's offline list of Czech municipalities
// → district and region, against facts known independently of its source:
// towns and their regions, postcodes, same-named villages told apart by
// district, the limit, the size budget, and that the module asks no one
// anything and is what xtask/places/generate.mjs makes from its template.
//
//   node tests/browser/places-check.mjs [web-client/places.js]

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const modulePath = resolve(process.argv[2] ?? `${repo}/web-client/places.js`);
const source = readFileSync(modulePath, 'utf8');
const { findPlaces, regionOfPostcode, placesCounts, preparePlaces, PLACES_SOURCE } = await import(
  pathToFileURL(modulePath).href
);

let passed = 0;
const failures = [];
function check(what, ok, detail = '') {
  if (ok) passed++;
  else failures.push(`${what}${detail ? `: ${detail}` : ''}`);
}
const show = (places) => JSON.stringify(places.map((p) => `${p.name}${p.partOf ? ` (${p.partOf})` : ''}/${p.district}/${p.region}`));

const REGIONS = ['CZ-10', 'CZ-20', 'CZ-31', 'CZ-32', 'CZ-41', 'CZ-42', 'CZ-51', 'CZ-52', 'CZ-53', 'CZ-63', 'CZ-64', 'CZ-71', 'CZ-72', 'CZ-80'];

// --- The module itself ---------------------------------------------------
for (const [what, pattern] of [
  ['fetch', /\bfetch\s*\(/],
  ['XMLHttpRequest', /XMLHttpRequest/],
  ['WebSocket', /WebSocket/],
  ['sendBeacon', /sendBeacon/],
  ['EventSource', /EventSource/],
  ['dynamic import', /\bimport\s*\(/],
  ['a static import', /^\s*import\s/m],
  ['eval', /\beval\s*\(/],
  ['new Function', /\bFunction\s*\(/],
  ['JSON.parse', /JSON\.parse/],
  ['a URL', /https?:\/\//],
]) {
  check(`places.js uses no ${what}`, !pattern.test(source));
}
const brotli = brotliCompressSync(Buffer.from(source), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
check('places.js is at most 60 KB brotli-compressed', brotli <= 60 * 1024, `${brotli} bytes`);
check('PLACES_SOURCE names the source', /Česká pošta/.test(PLACES_SOURCE) && /RÚIAN/.test(PLACES_SOURCE));

// places.js is its template with the data filled in: neither was edited
// without the other (regenerate with xtask/places/generate.mjs).
const template = readFileSync(`${repo}/xtask/places/places.template.js`, 'utf8');
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const shape = new RegExp(
  `^${template
    .split(/(\/\*@[A-Z]+@\*\/)/)
    .map((piece) => (piece === '/*@DATA@*/' ? '(?:const [A-Z_]+ = "[^"\\n]*";\\n?)+' : piece.startsWith('/*@') ? '"[^"\\n]*"' : escape(piece)))
    .join('')}$`,
);
check('places.js is generated from xtask/places/places.template.js', shape.test(source));

// --- Counts ----------------------------------------------------------------
preparePlaces();
const counts = placesCounts();
check('about 6,250 municipalities (ČSÚ counts 6,258)', counts.municipalities >= 6200 && counts.municipalities <= 6300, JSON.stringify(counts));
check('about 2,670 postcodes', counts.postcodes >= 2600 && counts.postcodes <= 2800, JSON.stringify(counts));
check('parts of towns and city districts are included', counts.parts >= 3000, JSON.stringify(counts));

// --- Towns and their regions -------------------------------------------------
const first = (query, name, region, district) => {
  const found = findPlaces(query);
  const top = found[0];
  check(
    `"${query}" finds ${name} (${region}) first`,
    top && top.name === name && top.region === region && top.partOf === '' && (district === undefined || top.district === district),
    show(found),
  );
};
first('Vsetín', 'Vsetín', 'CZ-72', 'Vsetín');
first('Zlin', 'Zlín', 'CZ-72', 'Zlín');
first('zlín', 'Zlín', 'CZ-72');
first('ZLÍN', 'Zlín', 'CZ-72');
first('  Zlín  ', 'Zlín', 'CZ-72');
first('Brno', 'Brno', 'CZ-64', 'Brno-město');
first('Praha', 'Praha', 'CZ-10');
first('praha', 'Praha', 'CZ-10');
first('Ostrava', 'Ostrava', 'CZ-80', 'Ostrava-město');
first('Jihlava', 'Jihlava', 'CZ-63', 'Jihlava');
first('Liberec', 'Liberec', 'CZ-51', 'Liberec');
first('Cheb', 'Cheb', 'CZ-41', 'Cheb');
first('Kolín', 'Kolín', 'CZ-20', 'Kolín');
first('Kolin', 'Kolín', 'CZ-20', 'Kolín');
first('Plzeň', 'Plzeň', 'CZ-32', 'Plzeň-město');
first('Plzen', 'Plzeň', 'CZ-32');
first('České Budějovice', 'České Budějovice', 'CZ-31');
first('ceske budejovice', 'České Budějovice', 'CZ-31');
first('Ústí nad Labem', 'Ústí nad Labem', 'CZ-42');
first('Hradec Králové', 'Hradec Králové', 'CZ-52');
first('Pardubice', 'Pardubice', 'CZ-53');
first('Olomouc', 'Olomouc', 'CZ-71');
first('Karlovy Vary', 'Karlovy Vary', 'CZ-41');
first('Havířov', 'Havířov', 'CZ-80', 'Karviná');
first('Frýdek-Místek', 'Frýdek-Místek', 'CZ-80');
first('frydek mistek', 'Frýdek-Místek', 'CZ-80');
first('Žďár nad Sázavou', 'Žďár nad Sázavou', 'CZ-63');
first('Kladno', 'Kladno', 'CZ-20');
first('Rožnov pod Radhoštěm', 'Rožnov pod Radhoštěm', 'CZ-72', 'Vsetín');
first('Uherské Hradiště', 'Uherské Hradiště', 'CZ-72');
first('Třinec', 'Třinec', 'CZ-80', 'Frýdek-Místek');
first('Mladá Boleslav', 'Mladá Boleslav', 'CZ-20');
first('Kroměříž', 'Kroměříž', 'CZ-72');
first('Aš', 'Aš', 'CZ-41', 'Cheb');
first('Znojmo', 'Znojmo', 'CZ-64');
first('Tábor', 'Tábor', 'CZ-31');
first('Jeseník', 'Jeseník', 'CZ-71');
// Cyrillic, as a Ukrainian speaker would write the names.
first('Злін', 'Zlín', 'CZ-72');
first('Прага', 'Praha', 'CZ-10');
first('Брно', 'Brno', 'CZ-64');
// A prefix: the bigger town first.
first('Hradec Kr', 'Hradec Králové', 'CZ-52');
first('Mladá', 'Mladá Boleslav', 'CZ-20');

// A word inside a longer name: "Brod" finds the Brods.
const brod = findPlaces('Brod', 20).map((p) => p.name);
check('"Brod" finds Havlíčkův Brod first', brod[0] === 'Havlíčkův Brod', JSON.stringify(brod));
check('"Brod" finds Český Brod and Uherský Brod too', brod.includes('Český Brod') && brod.includes('Uherský Brod'), JSON.stringify(brod));

// Every region is reachable, and every result is well formed.
const seen = new Set();
for (const query of ['a', 'b', 'c', 'h', 'k', 'l', 'm', 'n', 'o', 'p', 'r', 's', 't', 'v', 'z', 'Praha', 'Ostrava']) {
  for (const place of findPlaces(query, 200)) {
    seen.add(place.region);
    if (!REGIONS.includes(place.region) || typeof place.name !== 'string' || !place.name || typeof place.district !== 'string' || typeof place.partOf !== 'string') {
      check('every result is {name, district, region (ISO 3166-2:CZ), partOf}', false, JSON.stringify(place));
    }
  }
}
check('all 14 regions occur', REGIONS.every((r) => seen.has(r)), [...seen].sort().join(' '));

// --- Parts and city districts --------------------------------------------
const part = (query, name, partOf, region) => {
  const found = findPlaces(query);
  check(`"${query}" finds ${name}, part of ${partOf} (${region})`, found.some((p) => p.name === name && p.partOf === partOf && p.region === region), show(found));
};
part('Poruba', 'Poruba', 'Ostrava', 'CZ-80');
part('Smíchov', 'Smíchov', 'Praha', 'CZ-10');
part('Praha 5', 'Praha 5', 'Praha', 'CZ-10');
part('Brno-střed', 'Brno-střed', 'Brno', 'CZ-64');
part('Líšeň', 'Líšeň', 'Brno', 'CZ-64');
part('Místek', 'Místek', 'Frýdek-Místek', 'CZ-80');

// --- Same-named municipalities are told apart by their district ---------------
const lhota = findPlaces('Lhota', 20).filter((p) => p.name === 'Lhota');
const lhotaMunicipalities = lhota.filter((p) => p.partOf === '');
check('"Lhota" finds several municipalities of that name', lhotaMunicipalities.length >= 3, show(lhota));
check('…each with its district', lhotaMunicipalities.every((p) => p.district), show(lhota));
check('…in different districts', new Set(lhotaMunicipalities.map((p) => p.district)).size === lhotaMunicipalities.length, show(lhota));
check('"Lhota" lists the municipalities before the parts of that name', findPlaces('Lhota').slice(0, lhotaMunicipalities.length).every((p) => p.partOf === ''), show(findPlaces('Lhota')));
const novaVes = findPlaces('Nová Ves', 50).filter((p) => p.name === 'Nová Ves' && p.partOf === '');
check('"Nová Ves" finds ten or more municipalities', novaVes.length >= 10, show(novaVes));
const novaVesRegions = new Set(novaVes.map((p) => p.region));
check('…in several regions', novaVesRegions.size >= 4, [...novaVesRegions].join(' '));
// Any two equal results would be indistinguishable on screen.
for (const query of ['Lhota', 'Nová Ves', 'Petrovice', 'Němčice', 'Březina', 'Ves', 'Hora']) {
  const found = findPlaces(query, 500);
  const labels = found.map((p) => `${p.name}|${p.partOf}|${p.district}`);
  const duplicates = labels.filter((label, i) => labels.indexOf(label) !== i);
  // Two municipalities of one name in one district do exist (their region is
  // the same, which is what matters here); parts must still differ.
  check(`"${query}": no two results look alike but for a municipality's own name`, duplicates.every((d) => d.split('|')[1] === ''), JSON.stringify(duplicates));
}

// --- Postcodes ---------------------------------------------------------------
for (const query of ['760 01', '76001', ' 760 01 ']) {
  const found = findPlaces(query);
  check(`"${query}" finds Zlín first`, found[0]?.name === 'Zlín' && found[0]?.region === 'CZ-72', show(found));
  check(`"${query}" finds only places in the Zlín region`, found.length > 0 && found.every((p) => p.region === 'CZ-72'), show(found));
}
check('"110 00" is Praha', findPlaces('110 00')[0]?.name === 'Praha', show(findPlaces('110 00')));
check('"602 00" is Brno', findPlaces('602 00')[0]?.name === 'Brno', show(findPlaces('602 00')));
check('"702 00" is Ostrava', findPlaces('702 00')[0]?.name === 'Ostrava', show(findPlaces('702 00')));
check('"755 01" is Vsetín', findPlaces('755 01').some((p) => p.name === 'Vsetín'), show(findPlaces('755 01')));
check('"350 02" is Cheb', findPlaces('350 02').some((p) => p.name === 'Cheb'), show(findPlaces('350 02')));
check('the first three digits "760" find Zlín', findPlaces('760')[0]?.name === 'Zlín', show(findPlaces('760')));
check('"99999" finds nothing', findPlaces('99999').length === 0);
check('regionOfPostcode("760 01") is CZ-72', regionOfPostcode('760 01') === 'CZ-72');
check('regionOfPostcode("76001") is CZ-72', regionOfPostcode('76001') === 'CZ-72');
check('regionOfPostcode("11000") is CZ-10', regionOfPostcode('11000') === 'CZ-10');
check('regionOfPostcode("60200") is CZ-64', regionOfPostcode('60200') === 'CZ-64');
check('regionOfPostcode("70200") is CZ-80', regionOfPostcode('70200') === 'CZ-80');
check('regionOfPostcode("58601") is CZ-63 (Jihlava)', regionOfPostcode('58601') === 'CZ-63');
check('regionOfPostcode of an unknown postcode is null', regionOfPostcode('99999') === null);
check('regionOfPostcode of a partial postcode is null', regionOfPostcode('760') === null);
check('regionOfPostcode of a word is null', regionOfPostcode('Zlín') === null);

// --- Nonsense and the limit ----------------------------------------------------
for (const query of ['xyzzyq', 'qqqq', '', '   ', '-', '!!', '1234567', 'Zlín123']) {
  check(`"${query}" finds nothing`, findPlaces(query).length === 0, show(findPlaces(query)));
}
check('null and undefined find nothing', findPlaces(null).length === 0 && findPlaces(undefined).length === 0);
check('the default limit is 8', findPlaces('a').length === 8);
check('a limit of 3 gives 3', findPlaces('a', 3).length === 3);
check('a limit of 1 gives 1', findPlaces('Lhota', 1).length === 1);
check('a limit of 0 gives none', findPlaces('Lhota', 0).length === 0);
check('a limit applies to postcodes too', findPlaces('760', 2).length === 2);
check('"12" is a word (Praha 12), not a postcode', findPlaces('12').every((p) => /\b12\b/.test(p.name)), show(findPlaces('12')));
check('a large limit gives more', findPlaces('s', 100).length === 100);
check('results are fresh objects', findPlaces('Zlín')[0] !== findPlaces('Zlín')[0]);

// --- Speed: a search, once loaded, is instant ----------------------------------
const start = performance.now();
for (const query of ['L', 'Lh', 'Lho', 'Lhot', 'Lhota', 'N', 'No', 'Nov', 'Nova', 'Nova V']) findPlaces(query);
const perSearch = (performance.now() - start) / 10;
check('a search takes under 50 ms here', perSearch < 50, `${perSearch.toFixed(1)} ms`);

const total = passed + failures.length;
for (const failure of failures) console.log(`FAIL ${failure}`);
console.log(`places.js: ${passed} of ${total} checks passed (${counts.municipalities} municipalities, ${counts.parts} parts, ${counts.postcodes} postcodes, ${brotli} bytes brotli)`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
