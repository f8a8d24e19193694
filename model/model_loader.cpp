#include "model/model_loader.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <span>
#include <string_view>

#include "core/log.h"
#include "core/process_memory.h"
#include "core/read_file.h"
#include "model/bpe_tokenizer.h"
#include "model/byte_tokenizer.h"
#include "model/generation_config.h"
#include "model/tokenizer_config.h"

namespace caravan::model {
namespace {

// The Qwen 2.5 Instruct templates insert this system message when none is given.
constexpr std::string_view kQwenDefaultSystemMarker = "You are Qwen, created by Alibaba Cloud.";

Result<at::ScalarType> parse_dtype(const std::string& name, const char* key) {
  if (name == "float32") return at::kFloat;
  if (name == "bfloat16") return at::kBFloat16;
  if (name == "float16") return at::kHalf;
  return Status::invalid_argument(str_cat("[model] ", key, ": unknown dtype \"", name, "\""));
}

// The chat format: [model] chat_template when set, else the family of the checkpoint's template.
Result<std::optional<ChatFormat>> chat_format(const ModelOptions& options, const TokenizerConfig& tokenizer_config) {
  if (!options.chat_template.empty()) {
    Result<ChatFormat> named = chat_format_from_name(options.chat_template);
    if (!named.ok()) return named.status().with_context("[model] chat_template");
    return std::optional<ChatFormat>(*named);
  }
  if (tokenizer_config.chat_template.empty()) return std::optional<ChatFormat>();
  Result<ChatFormat> detected = detect_chat_format(tokenizer_config.chat_template, tokenizer_config.chat_template_file);
  if (!detected.ok()) {
    return Status::invalid_argument(str_cat(detected.status().message(),
                                            "; name a built-in one with [model] chat_template"));
  }
  return std::optional<ChatFormat>(*detected);
}

std::string chat_template_origin(const ModelOptions& options, const TokenizerConfig& tokenizer_config) {
  if (!options.chat_template.empty()) return str_cat("[model] chat_template = \"", options.chat_template, "\"");
  if (!tokenizer_config.chat_template_file.empty()) return tokenizer_config.chat_template_file;
  return options.path.empty()
             ? std::string("the inline model has none; set [model] chat_template")
             : str_cat(options.path, " has no chat_template in ", kTokenizerConfigFile, " or ", kChatTemplateFile,
                       "; set [model] chat_template");
}

// Every id that ends a completion: the tokenizer's end of turn, then generation_config.json's
// eos_token_id list (config.json's, `fallback_eos`, when generation_config.json has none), each
// checked against the tokenizer's vocabulary.
Result<std::vector<int32_t>> stop_ids(const Tokenizer& tokenizer, const GenerationConfig& generation,
                                      std::span<const int64_t> fallback_eos, const std::filesystem::path& dir) {
  std::vector<int32_t> ids = {tokenizer.eos_id()};
  const bool from_generation = !generation.token_ids.eos.empty();
  const std::span<const int64_t> listed = from_generation ? std::span<const int64_t>(generation.token_ids.eos) : fallback_eos;
  for (int64_t id : listed) {
    if (id >= tokenizer.vocab_size()) {
      return Status::invalid_argument(str_cat((dir / (from_generation ? kGenerationConfigFile : kModelConfigFile)).string(),
                                              ": key 'eos_token_id': id ", id, " is outside the tokenizer's ",
                                              tokenizer.vocab_size(), " ids"));
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

Result<ModelSpec> open_checkpoint(const ModelOptions& options) {
  const std::filesystem::path dir = options.path;
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return Status::not_found(str_cat("[model] path: ", dir.string(), ": no such directory"));
  }
  ModelSpec spec;
  spec.directory = dir;
  // One read: the text is kept, so saved checkpoints can keep its keys.
  CARAVAN_ASSIGN_OR_RETURN(spec.source_config_json, core::read_file(dir / kModelConfigFile, "model config"));
  CARAVAN_ASSIGN_OR_RETURN(spec.config, parse_model_config(spec.source_config_json, dir / kModelConfigFile));
  CARAVAN_ASSIGN_OR_RETURN(spec.prompts, open_prompt_encoder(dir, options, spec.config.eos_token_ids));
  spec.tokenizer = spec.prompts->shared_tokenizer();
  if (spec.tokenizer->vocab_size() > spec.config.vocab_size) {
    return Status::invalid_argument(str_cat((dir / kTokenizerFile).string(), ": the tokenizer has ",
                                            spec.tokenizer->vocab_size(), " ids but ",
                                            (dir / kModelConfigFile).string(), " key 'vocab_size' is ",
                                            spec.config.vocab_size, " (the embedding has no row for the larger ids)"));
  }
  CARAVAN_ASSIGN_OR_RETURN(spec.compute_dtype, parse_dtype(options.dtype, "dtype"));
  // Also proves the weights are there before any process starts loading them.
  CARAVAN_ASSIGN_OR_RETURN(const at::ScalarType stored, stored_dtype(dir));
  if (options.checkpoint_dtype == "auto") {
    spec.checkpoint_dtype = stored;
  } else {
    CARAVAN_ASSIGN_OR_RETURN(spec.checkpoint_dtype, parse_dtype(options.checkpoint_dtype, "checkpoint_dtype"));
  }
  return spec;
}

Result<ModelSpec> open_inline(const ModelOptions& options) {
  ModelSpec spec;
  spec.config = options.inline_config;
  auto tokenizer = std::make_shared<const ByteTokenizer>();
  if (tokenizer->vocab_size() > spec.config.vocab_size) {
    return Status::invalid_argument(str_cat("[model] vocab_size: ", spec.config.vocab_size, " is smaller than the byte ",
                                            "tokenizer's ", tokenizer->vocab_size(), " ids"));
  }
  PromptFormat format;
  CARAVAN_ASSIGN_OR_RETURN(format.chat_format, chat_format(options, TokenizerConfig{}));
  format.chat_template_origin = chat_template_origin(options, TokenizerConfig{});
  format.render.enable_thinking = options.enable_thinking;
  format.text_prefix = {tokenizer->bos_id()};
  format.stop_ids = {tokenizer->eos_id()};
  spec.prompts = std::make_shared<const PromptEncoder>(tokenizer, std::move(format));
  spec.tokenizer = std::move(tokenizer);
  CARAVAN_ASSIGN_OR_RETURN(spec.compute_dtype, parse_dtype(options.dtype, "dtype"));
  spec.checkpoint_dtype = at::kFloat;  // "auto": an inline model is born in float32
  if (options.checkpoint_dtype != "auto") {
    CARAVAN_ASSIGN_OR_RETURN(spec.checkpoint_dtype, parse_dtype(options.checkpoint_dtype, "checkpoint_dtype"));
  }
  return spec;
}

double mebibytes(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

Result<std::shared_ptr<const PromptEncoder>> open_prompt_encoder(const std::filesystem::path& dir,
                                                                 const ModelOptions& options,
                                                                 std::span<const int64_t> fallback_eos) {
  const std::filesystem::path tokenizer_json = dir / kTokenizerFile;
  std::error_code error;
  if (!std::filesystem::exists(tokenizer_json, error)) {
    return Status::not_found(str_cat(tokenizer_json.string(), ": missing (the model's tokenizer is required; only "
                                     "fast tokenizers, tokenizer.json, are read)"));
  }
  CARAVAN_ASSIGN_OR_RETURN(const TokenizerConfig tokenizer_config, read_tokenizer_config(dir));
  CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<const BpeTokenizer> tokenizer,
                           BpeTokenizer::load(tokenizer_json, {.bos = tokenizer_config.bos_token,
                                                               .eos = tokenizer_config.eos_token,
                                                               .pad = tokenizer_config.pad_token}));
  CARAVAN_ASSIGN_OR_RETURN(const GenerationConfig generation, read_generation_config(dir));
  PromptFormat format;
  CARAVAN_ASSIGN_OR_RETURN(format.chat_format, chat_format(options, tokenizer_config));
  format.chat_template_origin = chat_template_origin(options, tokenizer_config);
  format.render.enable_thinking = options.enable_thinking;
  format.render.chatml_default_system =
      tokenizer_config.chat_template.find(kQwenDefaultSystemMarker) != std::string::npos;
  if (!tokenizer_config.eos_token.empty()) format.render.tulu_eos_token = tokenizer_config.eos_token;
  if (tokenizer_config.add_bos_token) {
    if (*tokenizer_config.add_bos_token) format.text_prefix = {tokenizer->bos_id()};
  } else {
    format.text_prefix = tokenizer->single_prefix_ids();
  }
  CARAVAN_ASSIGN_OR_RETURN(format.stop_ids, stop_ids(*tokenizer, generation, fallback_eos, dir));
  return std::make_shared<const PromptEncoder>(std::move(tokenizer), std::move(format));
}

Result<ModelSpec> open_model(const ModelOptions& options) {
  return options.path.empty() ? open_inline(options) : open_checkpoint(options);
}

Result<Llama> load_model(const ModelSpec& spec, uint64_t seed) {
  const auto started = std::chrono::steady_clock::now();
  at::manual_seed(seed);
  // A checkpoint's weights replace every linear and embedding parameter: no random init first.
  Llama model(spec.config, spec.pretrained() ? WeightInit::kNone : WeightInit::kRandom);
  model->to(spec.compute_dtype);
  if (spec.pretrained()) CARAVAN_RETURN_IF_ERROR(load_model_weights(spec.directory, model));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::info("event=model_loaded source=", spec.pretrained() ? spec.directory.string() : std::string("inline"),
            " parameters=", model->parameter_count(), " dtype=", c10::toString(spec.compute_dtype),
            " seconds=", seconds, " resident_mib=", mebibytes(core::resident_bytes().value_or(0)));
  return model;
}

SaveModelOptions save_options(const ModelSpec& spec) {
  SaveModelOptions options;
  options.copy_tokenizer_from = spec.directory;
  options.base_config_json = spec.source_config_json;
  options.dtype = spec.checkpoint_dtype;
  return options;
}

} // namespace caravan::model
