// The reference side of the tokenizer parity test: @huggingface/tokenizers (tokenizers.js, from bench/.ort,
// installed by scripts/install-npm-peers.sh) encodes and decodes every case text of every tokenizer folder.
//
// usage: node tokenizer_reference.mjs CASES.json OUT.json DIR...
// CASES.json: {"<dir name>": [text or {"ids": [...]}, ...]}. OUT.json: {"<dir name>": [{"text", "ids",
// "ids_plain", "decoded", "decoded_keep"}]}: for a text, its ids with and without special tokens; for both
// kinds, the decoding of `ids` with special tokens skipped and kept.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const here = path.dirname(new URL(import.meta.url).pathname);
const packageDir = path.join(here, "..", "..", "bench", ".ort", "node_modules", "@huggingface", "tokenizers");
let Tokenizer;
try {
  const manifest = createRequire(import.meta.url)(path.join(packageDir, "package.json"));
  ({ Tokenizer } = await import(pathToFileURL(path.join(packageDir, manifest.main ?? "dist/tokenizers.mjs"))));
} catch (e) {
  console.error(`tokenizer_reference: @huggingface/tokenizers is missing from ${packageDir}; ` +
                `run scripts/install-npm-peers.sh (${e.message})`);
  process.exit(1);
}

const [casesFile, outFile, ...dirs] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesFile, "utf8"));
const out = {};
for (const dir of dirs) {
  const name = path.basename(dir);
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const configPath = path.join(dir, "tokenizer_config.json");
  const config = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : {};
  const tokenizer = new Tokenizer(json, config);
  const decode = (ids, skip) => (ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: skip }));
  out[name] = cases[name].map((text) => {
    if (typeof text === "object") {
      return { ids: text.ids, decoded: decode(text.ids, true), decoded_keep: decode(text.ids, false) };
    }
    const ids = tokenizer.encode(text).ids;
    return { text, ids, ids_plain: tokenizer.encode(text, { add_special_tokens: false }).ids,
             decoded: decode(ids, true), decoded_keep: decode(ids, false) };
  });
}
fs.writeFileSync(outFile, JSON.stringify(out));
