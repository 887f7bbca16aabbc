#!/usr/bin/env node
// Generates web-client/places.js, the person's page's offline list of Czech
// municipalities (obce), their parts (části obce, and the city districts of
// the statutory cities) and postcodes (PSČ), each with its district (okres)
// and region (kraj, as an ISO 3166-2:CZ code).
//
//   node xtask/places/generate.mjs SOURCE.csv [OUT.js]
//
// SOURCE.csv is Česká pošta's "Seznam částí obcí a obcí s adresním PSČ"
// (zv_cobce_psc.csv: semicolon-separated, windows-1250) or a UTF-8,
// comma-separated copy of it; README.md beside this file says where to get
// it. OUT.js defaults to web-client/places.js. Only Node.js is needed.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const [sourcePath, outArg] = process.argv.slice(2);
if (!sourcePath) {
  console.error("usage: node xtask/places/generate.mjs SOURCE.csv [OUT.js]");
  process.exit(2);
}
const outPath = resolve(outArg ?? join(here, "..", "..", "web-client", "places.js"));

// Describes the data that was used; the generated module repeats it.
const SOURCE_NOTE =
  "Česká pošta, s.p.: Seznam částí obcí a obcí s adresním PSČ " +
  "(RÚIAN codes and names of obce, okresy and kraje), as published in early 2021";

// RÚIAN's codes of the 14 regions (VÚSC) → ISO 3166-2:CZ, with the name the
// source must give each, so that a shifted column can never go unnoticed.
const REGIONS = [
  ["19", "CZ-10", "Hlavní město Praha"],
  ["27", "CZ-20", "Středočeský"],
  ["35", "CZ-31", "Jihočeský"],
  ["43", "CZ-32", "Plzeňský"],
  ["51", "CZ-41", "Karlovarský"],
  ["60", "CZ-42", "Ústecký"],
  ["78", "CZ-51", "Liberecký"],
  ["86", "CZ-52", "Královéhradecký"],
  ["94", "CZ-53", "Pardubický"],
  ["108", "CZ-63", "Vysočina"],
  ["116", "CZ-64", "Jihomoravský"],
  ["124", "CZ-71", "Olomoucký"],
  ["132", "CZ-80", "Moravskoslezský"],
  ["141", "CZ-72", "Zlínský"],
];

// Parts are kept for municipalities with at least this many postcodes (and
// for the cities and district towns).
const PARTS_MIN_POSTCODES = 2;

// The capital and the statutory cities (statutární města), the biggest towns:
// they come first among equally good matches. [name, district]
const CITIES = [
  ["Praha", "Hlavní město Praha"],
  ["Brno", "Brno-město"],
  ["Ostrava", "Ostrava-město"],
  ["Plzeň", "Plzeň-město"],
  ["Liberec", "Liberec"],
  ["Olomouc", "Olomouc"],
  ["České Budějovice", "České Budějovice"],
  ["Hradec Králové", "Hradec Králové"],
  ["Ústí nad Labem", "Ústí nad Labem"],
  ["Pardubice", "Pardubice"],
  ["Zlín", "Zlín"],
  ["Havířov", "Karviná"],
  ["Kladno", "Kladno"],
  ["Most", "Most"],
  ["Opava", "Opava"],
  ["Frýdek-Místek", "Frýdek-Místek"],
  ["Karviná", "Karviná"],
  ["Jihlava", "Jihlava"],
  ["Teplice", "Teplice"],
  ["Děčín", "Děčín"],
  ["Karlovy Vary", "Karlovy Vary"],
  ["Chomutov", "Chomutov"],
  ["Jablonec nad Nisou", "Jablonec nad Nisou"],
  ["Mladá Boleslav", "Mladá Boleslav"],
  ["Prostějov", "Prostějov"],
  ["Přerov", "Přerov"],
  ["Třinec", "Frýdek-Místek"],
  ["Třebíč", "Třebíč"],
];

const fail = (message) => {
  console.error(`places: ${message}`);
  process.exit(1);
};

// --- Reading the source --------------------------------------------------

function decode(bytes) {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder("windows-1250", { fatal: true }).decode(bytes);
  }
}

function parseCsv(text) {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).filter((line) => line.trim());
  const delimiter = lines[0].includes(";") ? ";" : ",";
  const split = (line) => {
    const fields = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') field += '"', i++;
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === delimiter) fields.push(field), (field = "");
      else field += c;
    }
    fields.push(field);
    return fields.map((f) => f.trim());
  };
  const header = split(lines.shift()).map((h) => h.toLowerCase());
  return lines.map((line, n) => {
    const fields = split(line);
    if (fields.length !== header.length) fail(`line ${n + 2} has ${fields.length} fields, not ${header.length}`);
    return Object.fromEntries(header.map((h, i) => [h, fields[i]]));
  });
}

const rows = parseCsv(decode(readFileSync(sourcePath)));
for (const column of ["kodcobce", "nazcobce", "psc", "kodobce", "nazobce", "kodokresu", "nazokresu", "kodkraj", "nazevkraj", "nazmomc"]) {
  if (!(column in rows[0])) fail(`the source has no column ${column}`);
}

// --- Collecting ------------------------------------------------------------

const regionOf = new Map(REGIONS.map(([code, iso, name]) => [code, { iso, name }]));
const districts = new Map(); // kodokresu → {name, region}
const obce = new Map(); // kodobce → {name, district, psc:Set, parts:Set}
for (const row of rows) {
  const region = regionOf.get(row.kodkraj);
  if (!region) fail(`unknown region code ${row.kodkraj} (${row.nazevkraj})`);
  if (region.name !== row.nazevkraj) fail(`region ${row.kodkraj} is called ${row.nazevkraj}, expected ${region.name}`);
  if (!/^\d{5}$/.test(row.psc)) fail(`bad PSČ ${row.psc} for ${row.nazcobce}`);
  const district = districts.get(row.kodokresu) ?? { name: row.nazokresu, region: region.iso };
  if (district.name !== row.nazokresu || district.region !== region.iso) fail(`district ${row.kodokresu} is inconsistent`);
  districts.set(row.kodokresu, district);
  const obec = obce.get(row.kodobce) ?? { code: row.kodobce, name: row.nazobce, district: row.kodokresu, psc: new Set(), parts: new Set(), momc: new Set() };
  if (obec.name !== row.nazobce || obec.district !== row.kodokresu) fail(`municipality ${row.kodobce} is inconsistent`);
  obec.psc.add(row.psc);
  obec.parts.add(row.nazcobce);
  // City districts (Praha 5, Brno-střed, Ostrava-Jih…), but not the
  // "undivided part of the town" entries.
  if (row.nazmomc && !row.nazmomc.includes("(")) obec.momc.add(row.nazmomc);
  obce.set(row.kodobce, obec);
}
if (districts.size !== 77) fail(`expected the 77 districts (with Praha), found ${districts.size}`);
if (obce.size < 6200) fail(`expected about 6,258 municipalities, found ${obce.size}`);

// --- Ordering and choosing ------------------------------------------------
// Municipalities are listed by district (RÚIAN's district code), then by name:
// neighbours share postcodes, so that order compresses best. The page ranks
// them itself (places.template.js): no population figures are in the source,
// so the capital and statutory cities come first, then the district towns,
// then those with more postcodes (a rough measure of size).

const collator = new Intl.Collator("cs");
const districtCodes = [...districts.keys()].sort((a, b) => Number(a) - Number(b));
const districtIndex = new Map(districtCodes.map((code, i) => [code, i]));
const districtName = (obec) => districts.get(obec.district).name;
const ordered = [...obce.values()].sort(
  (a, b) => districtIndex.get(a.district) - districtIndex.get(b.district) || collator.compare(a.name, b.name) || Number(a.code) - Number(b.code),
);
ordered.forEach((obec, i) => (obec.index = i));
const cities = CITIES.map(([name, district]) => {
  const found = ordered.filter((o) => o.name === name && districtName(o) === district);
  if (found.length !== 1) fail(`statutory city ${name} (${district}) found ${found.length} times`);
  return found[0];
});

// Parts (části obce whose name differs from their municipality's) are kept
// for the towns only, to stay small: the cities, the district towns and every
// municipality with more than one postcode. City districts (Praha 5,
// Brno-střed, Ostrava-Jih…) are kept for all.
const keepsParts = (obec) => cities.includes(obec) || obec.name === districtName(obec) || obec.psc.size >= PARTS_MIN_POSTCODES;
let partCount = 0;
let droppedParts = 0;
const partsOf = ordered.map((obec) => {
  const names = new Set([...(keepsParts(obec) ? obec.parts : []), ...obec.momc]);
  droppedParts += keepsParts(obec) ? 0 : [...obec.parts].filter((n) => n !== obec.name && !obec.momc.has(n)).length;
  names.delete(obec.name);
  partCount += names.size;
  return [...names].sort(collator.compare);
});

// --- Encoding ------------------------------------------------------------
// Plain string literals, split once at the first search: smaller than an
// array literal of objects and parsed by nothing but String.prototype.split.

const districtList = districtCodes.map((code) => districts.get(code));
const regionList = REGIONS.map(([, iso]) => iso);
for (const name of [...ordered.map((o) => o.name), ...partsOf.flat(), ...districtList.map((d) => d.name)]) {
  if (/[|;"\\\n]/.test(name)) fail(`a name contains a separator: ${name}`);
}
const perDistrict = districtCodes.map((code) => ordered.filter((o) => o.district === code).length);
const postcodeCount = new Set(ordered.flatMap((o) => [...o.psc])).size;

const literal = (s) => JSON.stringify(s);
const data = {
  REGIONS: regionList.join(" "),
  DISTRICTS: districtList.map((d) => d.name).join("|"),
  DISTRICT_REGIONS: districtList.map((d) => regionList.indexOf(d.region).toString(36)).join(""),
  DISTRICT_SIZES: perDistrict.map((n) => n.toString(36)).join(" "),
  CITIES: cities.map((o) => o.index.toString(36)).join(" "),
  NAMES: ordered.map((o) => o.name).join("|"),
  POSTCODES: ordered.map((o) => [...o.psc].sort().join(",")).join("|"),
  PARTS: partsOf.map((names) => names.join(";")).join("|"),
};

const template = readFileSync(join(here, "places.template.js"), "utf8");
const constants_ = Object.entries(data)
  .map(([name, value]) => `const ${name} = ${literal(value)};`)
  .join("\n");
const generated = template
  .replace("/*@SOURCE@*/", literal(SOURCE_NOTE))
  .replace("/*@DATA@*/", constants_);
if (generated.includes("/*@")) fail("a placeholder in places.template.js was not filled");
writeFileSync(outPath, generated);

const bytes = Buffer.from(generated);
const brotli = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
const gzip = gzipSync(bytes, { level: 9 }).length;
console.log(
  `places: ${ordered.length} municipalities, ${partCount} parts and city districts (${droppedParts} parts of smaller ` +
    `municipalities left out), ${postcodeCount} postcodes, ` +
    `${districtList.length} districts → ${outPath}: ${bytes.length} bytes, gzip ${gzip}, brotli ${brotli}`,
);
