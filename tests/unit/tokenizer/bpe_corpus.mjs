// The corpus the BPE conformance test and benchmark share: a few MB built
// from what a Debian machine has: prose from /usr/share/doc, man pages
// (zcat), C headers and scripts, translations in many scripts from gettext
// catalogs in /usr/share/locale, and locale sources from /usr/share/i18n
// (their <Uxxxx> spelled out).  Files are taken spread evenly over each
// sorted list, so the corpus is the same on machines with the same packages.
// Each document is one file (cut at 48 KB); texts with "<|" are left out
// (special-token text is refused by default by both tiktoken and us).
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

export function walk(dir, pred, out = []) {
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (e.isFile() && pred(p)) out.push(p);
  }
  return out;
}

// Take files spread evenly over the sorted list until `budget` bytes.
export function take(files, budget, read, maxDoc = 48 * 1024) {
  const docs = [];
  if (!files.length) return docs;
  let used = 0;
  const step = Math.max(1, Math.floor(files.length / 400));
  for (let round = 0; round < step && used < budget; round++)
    for (let i = round; i < files.length && used < budget; i += step) {
      let text;
      try {
        text = read(files[i]);
      } catch {
        continue;
      }
      if (!text || text.includes("<|")) continue; // special-token text is refused by both
      if (text.length > maxDoc) text = text.slice(0, maxDoc);
      docs.push(text);
      used += Buffer.byteLength(text);
    }
  return docs;
}

export const utf8 = (p) => fs.readFileSync(p, "utf8");
export const gz = (p) => zlib.gunzipSync(fs.readFileSync(p)).toString("utf8");

// Translated messages of a gettext catalog (.mo): the msgstr strings.
export function moStrings(p) {
  const b = fs.readFileSync(p);
  const le = b.readUInt32LE(0) === 0x950412de;
  const u32 = (o) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const n = u32(8), tOff = u32(16);
  const parts = [];
  for (let i = 0; i < n; i++) {
    const len = u32(tOff + 8 * i), off = u32(tOff + 8 * i + 4);
    parts.push(b.subarray(off, off + len).toString("utf8").replace(/\0/g, "\n"));
  }
  return parts.join("\n\n");
}

// Locale sources spell characters as <Uxxxx>: turn them into the characters.
function localeText(p) {
  return utf8(p).replace(/<U([0-9A-Fa-f]{4,6})>/g, (_, h) => {
    const cp = parseInt(h, 16);
    return cp >= 0xd800 && cp <= 0xdfff ? "?" : String.fromCodePoint(cp);
  });
}

export function buildCorpus(log = console.log) {
  const docs = [];
  const add = (kind, list) => {
    let bytes = 0;
    for (const d of list) bytes += Buffer.byteLength(d);
    log(`corpus: ${kind}: ${list.length} documents, ${(bytes / 1e6).toFixed(2)} MB`);
    for (const d of list) docs.push({ kind: kind.split(" ")[0], text: d });
  };
  add("prose (/usr/share/doc)",
      take(walk("/usr/share/doc", (p) => /(copyright|README[^/]*|NEWS|\.txt)$/.test(p) && !p.endsWith(".gz")), 900e3, utf8));
  add("man pages (/usr/share/man, zcat)",
      take(walk("/usr/share/man", (p) => p.endsWith(".gz")), 900e3, gz));
  add("source code (/usr/include, /usr/share/**/*.py|pl|sh)",
      take(walk("/usr/include", (p) => /\.(h|hpp)$/.test(p)).concat(
           walk("/usr/share", (p) => /\.(py|pl|pm|sh)$/.test(p) && !p.startsWith("/usr/share/doc"))), 900e3, utf8));
  add("translations (/usr/share/locale/*.mo)",
      take(walk("/usr/share/locale", (p) => p.endsWith(".mo")), 900e3, moStrings));
  add("locale data (/usr/share/i18n/locales)",
      take(walk("/usr/share/i18n/locales", () => true), 300e3, localeText));
  return docs;
}

export function writeDocs(file, docs) {
  const bufs = [];
  for (const d of docs) {
    const b = Buffer.from(d.text, "utf8");
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    bufs.push(h, b);
  }
  fs.writeFileSync(file, Buffer.concat(bufs));
}


// The estimator's corpus: the same sources sorted into the kinds of text it
// is calibrated on: prose, code, markup (man pages in roff, HTML), Markdown,
// JSON (data files as found, and re-serialised without spaces),
// CJK (Chinese, Japanese, Korean translations) and other scripts (Cyrillic,
// Greek, Arabic, Hebrew, Indic, Thai ... translations).  Documents are cut at
// 16 KB so that each kind has many.
const CJK_LANGS = /^(ja|zh|ko)(_|$)/;
const LATIN_LANGS = /^(en|fr|de|es|it|pt|nl|sv|da|nb|nn|no|fi|pl|cs|sk|sl|hr|hu|ro|tr|ca|gl|eu|et|lv|lt|id|ms|vi|eo|af|sq|bs|ga|is|oc|br|cy|tl|uz|az|sw|wa|fur|ia|ast|rw|sc|zu|xh|ha|ig|yo|mt|fy|la|ku|nds|an|ace|ach|ak|ain|ang|ay|bm|bem|crh|csb|dv|ee|ff|fil|ht|haw|hy_arn|jv|kab|kl|li|lb|lg|ln|mg|mi|ms|nso|ny|om|pap|qu|rm|se|sm|sn|so|st|su|tk|tn|to|ts|ve|vo|wo|yi_latn)(_|@|$)/;
export function buildEstimatorCorpus(log = console.log) {
  const docs = [];
  const add = (kind, list) => {
    let bytes = 0;
    for (const d of list) bytes += Buffer.byteLength(d);
    log(`corpus: ${kind}: ${list.length} documents, ${(bytes / 1e6).toFixed(2)} MB`);
    for (const d of list) docs.push({ kind, text: d });
  };
  const max = 16 * 1024;
  const lang = (p) => p.split("/")[4] || "";
  const mo = walk("/usr/share/locale", (p) => p.endsWith(".mo"));
  add("prose", take(walk("/usr/share/doc", (p) => /(copyright|README[^/]*|NEWS|\.txt)$/.test(p) && !p.endsWith(".gz")), 600e3, utf8, max));
  add("code", take(walk("/usr/include", (p) => /\.(h|hpp)$/.test(p)).concat(
      walk("/usr/share", (p) => /\.(py|pl|pm|sh)$/.test(p) && !p.startsWith("/usr/share/doc"))), 600e3, utf8, max));
  add("markup", take(walk("/usr/share/man", (p) => p.endsWith(".gz") && /\/man\/man/.test(p)).concat(
      walk("/usr/share/doc", (p) => /\.(html|xml)$/.test(p))), 600e3, (p) => (p.endsWith(".gz") ? gz(p) : utf8(p)), max));
  // Markdown: package documentation; JSON: data files as they are (mostly
  // indented) and the same documents re-serialised without spaces (as APIs
  // and tool calls send them)
  add("markdown", take(walk("/usr/share/doc", (p) => /\.md(\.gz)?$/.test(p)), 600e3,
      (p) => (p.endsWith(".gz") ? gz(p) : utf8(p)), max));
  const json = (p) => (JSON.parse(utf8(p)), utf8(p));
  const jsonFiles = walk("/usr/share", (p) => p.endsWith(".json") && !p.startsWith("/usr/share/doc/"))
    .concat(walk("/usr/lib", (p) => p.endsWith(".json")));
  add("json", take(jsonFiles, 600e3, json, max));
  add("json-compact", take(jsonFiles, 600e3, (p) => JSON.stringify(JSON.parse(utf8(p))), max));
  add("cjk", take(mo.filter((p) => CJK_LANGS.test(lang(p))), 600e3, moStrings, max));
  add("other-scripts", take(mo.filter((p) => !CJK_LANGS.test(lang(p)) && !LATIN_LANGS.test(lang(p))), 600e3, moStrings, max));
  return docs;
}
