// Produce bpe_golden.json: tricky strings and the ids the npm `tiktoken`
// package (the WASM build of OpenAI's Rust code) gives them, for cl100k_base
// and o200k_base.  test_bpe.c checks the built-in encoder against this file.
//
// usage: node make_bpe_golden.mjs NPM_DIR > bpe_golden.json
//   where NPM_DIR holds tiktoken@1.0.22, e.g. the folder printed by
//   tests/tools/npm-peer.sh tiktoken tiktoken@1.0.22
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.argv[2] || ".", "package.json"));
const { get_encoding } = require("tiktoken");
const npmDir = process.argv[2] || ".";
const version = JSON.parse(fs.readFileSync(path.join(npmDir, "node_modules/tiktoken/package.json"), "utf8")).version;

// A deterministic pseudo-random letter string (no split point for the regex).
function letters(n, seed) {
  let x = seed, s = "";
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return s;
}

const cases = [
  ["empty", ""],
  ["plain", "Hello, world! This is a test."],
  ["contractions lower", "it's don't we're they've I'm we'll he'd"],
  ["contractions upper", "IT'S DON'T WE'RE THEY'VE I'M WE'LL HE'D"],
  ["contractions mixed", "It'S doN't We'Re they'Ve i'M we'Ll he'D 'lL 'rE 'vE"],
  ["contraction long s", "it\u017f and '\u017f and 'x 'ss"],
  ["apostrophe edge", "'' 'a ' 's' rock'n'roll O'Neil's"],
  ["digits", "1 12 123 1234 12345 1234567890 3.14159 1,000,000 0x1F2E"],
  ["unicode digits", "\u0661\u0662\u0663\u0664 \u0967\u0968 \u00bd\u00be \u2160\u2161\u2162\u2163 \uff11\uff12\uff13\uff14"],
  ["spaces before words", "a  b   c    d\t\te \t f"],
  ["trailing spaces", "end   "],
  ["trailing space single", "end "],
  ["leading spaces", "   start"],
  ["only spaces", "     "],
  ["newlines", "line1\nline2\n\nline3\n\n\n"],
  ["crlf", "a\r\nb\r\n\r\nc  \r\n  d\r"],
  ["spaces and newlines", "x  \n  \n  y \n z\n "],
  ["tabs", "\tindented\n\t\tmore\t\n\t"],
  ["unicode spaces", "a\u00a0b\u3000c\u2028d\u2029e\u0085f\u1680g\u2003h\u202fi\u205fj"],
  ["nbsp runs", "x\u00a0\u00a0\u00a0y \u00a0 z"],
  ["cjk", "\u4eca\u65e5\u306f\u3001\u4e16\u754c\uff01\u3053\u3093\u306b\u3061\u306f\u3002\u4e2d\u6587\u6d4b\u8bd5\u3002\ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8"],
  ["emoji", "I \u2764\ufe0f it \ud83d\ude00\ud83d\ude03 \ud83d\udc4d\ud83c\udffd \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66 \ud83c\uddeb\ud83c\uddf7"],
  ["combining marks", "e\u0301 cafe\u0301 \u0301alone a\u0300\u0301\u0302b Zalgo: Z\u0351\u036b\u0343a\u0310l\u0352g\u0357o"],
  ["marks after space", " \u0301 x \u0301\u0302y"],
  ["arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645! \u0627\u0644\u0633\u0651\u064e\u0644\u0627\u0645\u064f \u0639\u064e\u0644\u064e\u064a\u0652\u0643\u064f\u0645\u0652"],
  ["hebrew", "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd, \u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da?"],
  ["rtl mixed", "abc \u05d0\u05d1\u05d2 123 \u0627\u0628\u062a def"],
  ["devanagari", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e"],
  ["thai", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e0a\u0e32\u0e27\u0e42\u0e25\u0e01"],
  ["cyrillic greek", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440! \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5"],
  ["mixed scripts", "Hello\u4e16\u754cWorld\u041f\u0440\u0438\u0432\u0435\u0442abc\u0645\u0631\u062d\u0628\u0627123"],
  ["case runs", "HelloWorld XMLHttpRequest iPhone ABCdef abcDEF McDonald's LLMs"],
  ["titlecase and modifiers", "\u01c5ungla \u01c8ubljana \u02b0\u02b1abc A\u02b0B x\u02b0 \u3005\u3005"],
  ["upper then mark", "AB\u0301 AB\u0301C Ab\u0301C \u0301AB"],
  ["lo letters", "\u0905\u0906AB \u4e00A\u4e8cb"],
  ["punctuation", "!!! ??? ... --- *** ((())) [[x]] {{y}} <<>> ;;; ::"],
  ["punct before newline", "end.\n\nfoo!!\r\n\nbar?? \n"],
  ["slashes", "a/b//c /// http://x.y/z?q=1&r=2#f path/to/\n//\n/"],
  ["source c", "int main(int argc, char **argv) {\n    if (argc > 1) { printf(\"%s\\n\", argv[1]); }\n\treturn 0;\n}\n"],
  ["source python", "def f(x):\n    return [i**2 for i in range(x) if i % 2 == 0]  # squares\n\n\nclass A:\n    pass\n"],
  ["json", "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\\u00e9\"}}"],
  ["markup", "<div class=\"x\"><p>Hello&nbsp;<b>world</b></p></div>\n# Title\n\n- item *em* `code`\n"],
  ["long word", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"],
  ["long random letters", letters(300, 7)],
  ["long random letters with caps", letters(200, 11).toUpperCase() + letters(150, 13)],
  ["repeated char", "a".repeat(1000)],
  ["repeated space", " ".repeat(300) + "x"],
  ["repeated digits", "7".repeat(100)],
  ["repeated punct", "=".repeat(200) + "\n" + "-".repeat(77)],
  ["repeated cjk", "\u554a".repeat(200)],
  ["repeated emoji", "\ud83d\ude00".repeat(50)],
  ["control chars", "a\u0002b\u0001c\u007fd\u0008e\u000bf\u000cg"],
  ["private use and specials", "\ue000\uf8ff\ufffd\ufeffx\u200bz"],
  ["supplementary letters", "\ud835\udc00\ud835\udc01\ud835\udc02 \ud840\udc00\ud840\udc01 \ud800\udf00\ud800\udf01"],
  ["special-like text", "<| endoftext |> <|notaspecial|> <|endoftext| < |"],
  ["mix of everything", "Q3 revenue: $1,234.56 (+12%) \u2014 \u201cgreat\u201d says O'Brien; \u65e5\u672c 2024\u5e74 \ud83d\ude80\n\n\tDone."],
];

// Texts with special tokens: refused by default, or encoded per the mode.
const specialCases = [
  ["special refused", "a <|endoftext|> b", "refuse"],
  ["special allowed", "hello <|endoftext|> world<|endofprompt|>  ", "allow"],
  ["special allowed cl100k fim", "<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|>", "allow"],
  ["special allowed trailing spaces", "x   <|endoftext|>   y", "allow"],
  ["special as plain text", "a <|endoftext|> b <|endofprompt|>", "plain"],
];

const encs = { cl100k_base: get_encoding("cl100k_base"), o200k_base: get_encoding("o200k_base") };
const out = { generator: `tiktoken@${version} (npm)`, cases: [] };
for (const [name, text] of cases) {
  const c = { name, text, special: "refuse" };
  for (const [e, enc] of Object.entries(encs)) c[e] = Array.from(enc.encode(text));
  out.cases.push(c);
}
for (const [name, text, mode] of specialCases) {
  const c = { name, text, special: mode };
  for (const [e, enc] of Object.entries(encs)) {
    if (mode === "allow") {
      // tiktoken: the special tokens this encoding has are allowed
      try {
        c[e] = Array.from(enc.encode(text, "all"));
      } catch {
        c[e] = "error";
      }
    } else if (mode === "plain") {
      c[e] = Array.from(enc.encode_ordinary(text));
    } else {
      try {
        enc.encode(text);
        c[e] = "no error";
      } catch {
        c[e] = "error";
      }
    }
  }
  out.cases.push(c);
}
for (const enc of Object.values(encs)) enc.free();
process.stdout.write(JSON.stringify(out, null, 1).replace(/\n\s+(\d+,?)/g, " $1") + "\n");
