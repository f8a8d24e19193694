#include "model/gguf_export.h"

#include <array>
#include <utility>

#include "core/str_cat.h"
#include "model/gguf_writer.h"
#include "model/pretokenizer.h"

namespace caravan::model {
namespace {

// Hugging Face parameter name suffixes of a decoder layer and llama.cpp's names for them.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kLayerTensors = {{
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
}};

// llama.cpp's name of the parameter `name` (model/llama.h's names), or an error naming it.
Result<std::string> gguf_tensor_name(const std::string& name) {
  if (name == "model.embed_tokens.weight") return std::string("token_embd.weight");
  if (name == "model.norm.weight") return std::string("output_norm.weight");
  if (name == "lm_head.weight") return std::string("output.weight");
  constexpr std::string_view kLayers = "model.layers.";
  if (name.starts_with(kLayers)) {
    const size_t dot = name.find('.', kLayers.size());
    const std::string index = name.substr(kLayers.size(), dot - kLayers.size());
    const std::string_view suffix = std::string_view(name).substr(dot + 1);
    for (const auto& [hf, gguf] : kLayerTensors) {
      if (suffix == hf) return str_cat("blk.", index, ".", gguf);
    }
  }
  return Status::invalid_argument(str_cat("parameter '", name, "' has no llama.cpp qwen3 counterpart"));
}

void add_hyperparameters(GgufWriter& writer, const core::TransformerConfig& config) {
  const std::string arch = "qwen3";
  const auto u32 = [](int64_t value) { return static_cast<uint32_t>(value); };
  writer.add_string("general.architecture", arch);
  writer.add_string("general.name", "caravan-export");
  writer.add_uint32("general.file_type", 0);  // LLAMA_FTYPE_ALL_F32
  writer.add_uint32(arch + ".context_length", u32(config.max_position_embeddings));
  writer.add_uint32(arch + ".embedding_length", u32(config.hidden_size));
  writer.add_uint32(arch + ".block_count", u32(config.num_layers));
  writer.add_uint32(arch + ".feed_forward_length", u32(config.intermediate_size));
  writer.add_uint32(arch + ".attention.head_count", u32(config.num_heads));
  writer.add_uint32(arch + ".attention.head_count_kv", u32(config.num_kv_heads));
  writer.add_uint32(arch + ".attention.key_length", u32(config.head_dim()));
  writer.add_uint32(arch + ".attention.value_length", u32(config.head_dim()));
  writer.add_float32(arch + ".rope.freq_base", static_cast<float>(config.rope_theta));
  writer.add_float32(arch + ".attention.layer_norm_rms_epsilon", static_cast<float>(config.rms_norm_eps));
}

void add_vocabulary(GgufWriter& writer, const core::TransformerConfig& config, const GgufVocabulary& vocabulary) {
  writer.add_string("tokenizer.ggml.model", "gpt2");
  writer.add_string("tokenizer.ggml.pre", "qwen2");
  writer.add_string_array("tokenizer.ggml.tokens", vocabulary.tokens);
  writer.add_int32_array("tokenizer.ggml.token_type", vocabulary.token_types);
  writer.add_string_array("tokenizer.ggml.merges", vocabulary.merges);
  if (config.bos_token_id) writer.add_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*config.bos_token_id));
  if (!config.eos_token_ids.empty()) {
    writer.add_uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(config.eos_token_ids.front()));
  }
  if (config.pad_token_id) {
    writer.add_uint32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*config.pad_token_id));
  }
}

}  // namespace

GgufVocabulary placeholder_vocabulary(const core::TransformerConfig& config) {
  CARAVAN_CHECK(config.vocab_size >= 256, "placeholder_vocabulary: vocab_size ", config.vocab_size, " < 256");
  GgufVocabulary vocabulary;
  vocabulary.tokens.reserve(static_cast<size_t>(config.vocab_size));
  vocabulary.token_types.assign(static_cast<size_t>(config.vocab_size), kGgufTokenNormal);
  const auto& bytes = byte_level_table();
  for (int64_t id = 0; id < config.vocab_size; ++id) {
    vocabulary.tokens.push_back(id < 256 ? bytes[static_cast<size_t>(id)] : str_cat("<|id_", id, "|>"));
  }
  std::vector<int64_t> specials = config.eos_token_ids;
  if (config.bos_token_id) specials.push_back(*config.bos_token_id);
  if (config.pad_token_id) specials.push_back(*config.pad_token_id);
  for (int64_t id : specials) {
    CARAVAN_CHECK(id >= 0 && id < config.vocab_size, "placeholder_vocabulary: special id ", id, " out of range");
    vocabulary.token_types[static_cast<size_t>(id)] = kGgufTokenControl;
  }
  return vocabulary;
}

Status export_gguf(const std::filesystem::path& file, LlamaImpl& model, const GgufVocabulary& vocabulary) {
  const core::TransformerConfig& config = model.config();
  const std::string context = str_cat("GGUF export to ", file.string(), ": ");
  if (config.architecture != core::Architecture::kQwen3) {
    return Status::invalid_argument(str_cat(context, "architecture ", core::enum_name(config.architecture),
                                            " is not supported (Qwen3 only)"));
  }
  if (config.rope_scaling.type != core::RopeScalingType::kDefault || config.partial_rotary_factor) {
    return Status::invalid_argument(str_cat(context, "RoPE scaling and partial rotary factors are not supported"));
  }
  const auto vocab_size = static_cast<size_t>(config.vocab_size);
  if (vocabulary.tokens.size() != vocab_size || vocabulary.token_types.size() != vocab_size) {
    return Status::invalid_argument(str_cat(context, "vocabulary of ", vocabulary.tokens.size(), " tokens and ",
                                            vocabulary.token_types.size(), " token types; the model has ",
                                            vocab_size));
  }
  GgufWriter writer;
  add_hyperparameters(writer, config);
  add_vocabulary(writer, config, vocabulary);
  for (const auto& parameter : model.named_parameters()) {
    CARAVAN_ASSIGN_OR_RETURN(const std::string name, gguf_tensor_name(parameter.key()));
    writer.add_tensor(name, parameter.value().to(at::kFloat));
  }
  return writer.write(file);
}

} // namespace caravan::model
