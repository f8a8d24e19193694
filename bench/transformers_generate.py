#!/usr/bin/env python3
"""Decode tokens/s of Hugging Face transformers' `generate` on CUDA: the reference of
`bench_rollout --gpu` (bench/bench_rollout.cpp), which runs this script on the same machine in
the same run.

  python3 bench/transformers_generate.py --batches 1,32,256 --prompt 128 --new 128 \
      --vocab 151936 --hidden 1024 --intermediate 3072 --layers 28 --heads 16 --kv-heads 8 --head-dim 128

A random-weight Qwen3 model of that shape (transformers' own initialisation, seed 0) in bfloat16
on cuda:0, greedy, no stop token (every sequence generates exactly --new tokens), the default
dynamic KV cache, eager loop (no torch.compile). For each batch size B: B random prompts of
--prompt tokens; decode tokens/s = B * (new - 1) / (time(new tokens) - time(1 token)), so the
prefill is excluded. One line per batch size:
  TRANSFORMERS batch=32 decode_tokens_per_s=1234.5
"""
import argparse
import time

import torch
import transformers


def timed_generate(model, prompts, new_tokens):
    torch.cuda.synchronize()
    start = time.perf_counter()
    with torch.no_grad():
        model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=new_tokens,
                       min_new_tokens=new_tokens, do_sample=False, pad_token_id=0, eos_token_id=None)
    torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", required=True, help="comma-separated batch sizes")
    for name in ("prompt", "new", "vocab", "hidden", "intermediate", "layers", "heads", "kv-heads", "head-dim"):
        parser.add_argument("--" + name, type=int, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = transformers.Qwen3Config(
        vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim, max_position_embeddings=4096, rope_theta=1000000.0, rms_norm_eps=1e-6,
        tie_word_embeddings=True, torch_dtype=torch.bfloat16)
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.bfloat16).to("cuda").eval()
    for batch in (int(b) for b in args.batches.split(",")):
        prompts = torch.randint(0, args.vocab, (batch, args.prompt), device="cuda")
        timed_generate(model, prompts, 2)  # warm-up: kernels, allocator
        one = timed_generate(model, prompts, 1)
        full = timed_generate(model, prompts, args.new)
        print(f"TRANSFORMERS batch={batch} decode_tokens_per_s={batch * (args.new - 1) / (full - one):.1f}", flush=True)


if __name__ == "__main__":
    main()
