// llama.cpp's CPU decode speed on a GGUF file, through node-llama-cpp's prebuilt binaries: the
// reference of bench_rollout_cpu (bench/bench_rollout_cpu.cpp), which starts this script.
//
//   node bench/llama_cpp_reference.mjs NPM_PREFIX MODEL.gguf THREADS PROMPT_TOKENS NEW_TOKENS SEQUENCES[,...]
//
// NPM_PREFIX holds node_modules/node-llama-cpp (the llama_cpp_reference target installs it).
// Prompts are token ids (the GGUF's vocabulary is a placeholder): sequence s of a batch gets
// the id (7919 * (s + 1) + 104729 * i) % 30000 + 300 at position i, as bench_rollout_cpu gives
// Caravan. For each SEQUENCES value, that many sequences of one context are prefilled with all
// but the last prompt token, then each decodes NEW_TOKENS greedy tokens (the first step feeds
// the last prompt token), which node-llama-cpp batches into one llama_decode per step. One JSON
// line per batch, with the tokens of sequence 0:
//   {"sequences": 32, "prefill_s": 0.9, "decode_s": 4.2, "decode_tokens": 2048, "tokens0": [...]}
// The KV cache is float32, as Caravan's; flash attention off.
import path from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, modelPath, threadsText, promptText, newText, sequencesText] = process.argv.slice(2);
if (sequencesText === undefined) {
  console.error("usage: llama_cpp_reference.mjs NPM_PREFIX MODEL.gguf THREADS PROMPT_TOKENS NEW_TOKENS SEQUENCES[,...]");
  process.exit(2);
}
const threads = Number(threadsText);
const promptTokens = Number(promptText);
const newTokens = Number(newText);
const entry = path.join(prefix, "node_modules", "node-llama-cpp", "dist", "index.js");
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(entry).href);

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });

function promptOf(sequence) {
  return Array.from({ length: promptTokens }, (_, i) => ((7919 * (sequence + 1) + 104729 * i) % 30000) + 300);
}

async function createContext(sequences, contextSize) {
  return model.createContext({
    sequences,
    contextSize,
    batchSize: Math.max(512, sequences * promptTokens),
    threads,
    flashAttention: false,
    experimentalKvCacheKeyType: "F32",
    experimentalKvCacheValueType: "F32",
  });
}

// Greedy tokens after `last`, the prompt's final token (the rest is already in `sequence`).
async function decode(sequence, last, count) {
  const tokens = [];
  for await (const token of sequence.evaluate([last], { temperature: 0, yieldEogToken: true })) {
    tokens.push(token);
    if (tokens.length >= count) break;
  }
  return tokens;
}

for (const sequences of sequencesText.split(",").map(Number)) {
  const context = await createContext(sequences, promptTokens + newTokens + 16);
  const handles = Array.from({ length: sequences }, () => context.getSequence());
  const prompts = handles.map((_, s) => promptOf(s));
  const started = performance.now();
  await Promise.all(handles.map((handle, s) => handle.evaluateWithoutGeneratingNewTokens(prompts[s].slice(0, -1))));
  const prefilled = performance.now();
  const outputs = await Promise.all(handles.map((handle, s) => decode(handle, prompts[s].at(-1), newTokens)));
  const decoded = performance.now();
  const decodeTokens = outputs.reduce((sum, tokens) => sum + tokens.length, 0);
  console.log(JSON.stringify({ sequences, prefill_s: (prefilled - started) / 1000, decode_s: (decoded - prefilled) / 1000,
                               decode_tokens: decodeTokens, tokens0: outputs[0] }));
  await context.dispose();
}
await model.dispose();
await llama.dispose();
