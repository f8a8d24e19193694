// caravan tokenize / detokenize / inspect: small tools over a Hugging Face model directory.
// tokenize and detokenize use only the tokenizer files (no LibTorch work); inspect reads
// config.json and the safetensors headers only, never the tensor data (inspect --rope-json reads
// config.json alone).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/command_line.h"
#include "core/rope_spec.h"
#include "apps/commands.h"
#include "model/bpe_tokenizer.h"
#include "model/chat_template.h"
#include "model/checkpoint_io.h"
#include "model/model_loader.h"
#include "model/rope.h"
#include "model/rope_config_json.h"
#include "model/safetensors.h"

namespace caravan::apps {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string read_stdin() {
  std::ostringstream text;
  text << std::cin.rdbuf();
  return text.str();
}

// Prints "caravan <command>: <message>" and returns the failure exit code.
int fail(const std::string& command, const Status& status) {
  std::cerr << "caravan " << command << ": " << status.message() << "\n";
  return 1;
}

Result<fs::path> existing_model_dir(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return Status::not_found(str_cat("model directory ", dir, ": no such directory"));
  return fs::path(dir);
}

Result<std::shared_ptr<const model::BpeTokenizer>> load_tokenizer(const fs::path& dir) {
  return model::BpeTokenizer::load(dir / "tokenizer.json");
}

// Parses stdin of `tokenize --chat`: [{"role": ..., "content": ...}, ...].
Result<std::vector<core::ChatMessage>> parse_messages(const std::string& text) {
  const json messages = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (messages.is_discarded()) return Status::invalid_argument("stdin: not valid JSON (expected a list of messages)");
  if (!messages.is_array()) return Status::invalid_argument("stdin: expected a JSON list of messages");
  std::vector<core::ChatMessage> result;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& message = messages[i];
    if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
        !message.contains("content") || !message["content"].is_string()) {
      return Status::invalid_argument(str_cat("stdin: [", i, "]: expected {\"role\": string, \"content\": string}"));
    }
    result.push_back({message["role"].get<std::string>(), message["content"].get<std::string>()});
  }
  return result;
}

// Ids of stdin as a run's prompt encoder (model/prompt_encoder.h) sees them.
Result<std::vector<int32_t>> tokenize(const std::string& dir_flag, bool add_special, bool chat) {
  CARAVAN_ASSIGN_OR_RETURN(fs::path dir, existing_model_dir(dir_flag));
  CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<const model::PromptEncoder> encoder,
                           model::open_prompt_encoder(dir, model::ModelOptions{}, /*fallback_eos=*/{}));
  const std::string input = read_stdin();
  if (!chat) return add_special ? encoder->encode_text(input) : encoder->tokenizer().encode(input);
  // The template carries its own special tokens: --add-special adds nothing here.
  const model::PromptFormat& format = encoder->format();
  if (!format.chat_format) return Status::failed_precondition(str_cat("--chat: ", format.chat_template_origin));
  CARAVAN_ASSIGN_OR_RETURN(std::vector<core::ChatMessage> messages, parse_messages(input));
  model::ChatRenderOptions options = format.render;
  options.add_generation_prompt = false;
  CARAVAN_ASSIGN_OR_RETURN(model::RenderedChat rendered, model::render_chat(*format.chat_format, messages, options));
  return encoder->tokenizer().encode(rendered.text);
}

Result<std::string> detokenize(const std::string& dir_flag) {
  CARAVAN_ASSIGN_OR_RETURN(fs::path dir, existing_model_dir(dir_flag));
  CARAVAN_ASSIGN_OR_RETURN(std::shared_ptr<const model::BpeTokenizer> tokenizer, load_tokenizer(dir));
  const json ids_json = json::parse(read_stdin(), nullptr, /*allow_exceptions=*/false);
  if (ids_json.is_discarded() || !ids_json.is_array()) {
    return Status::invalid_argument("stdin: expected a JSON array of token ids");
  }
  std::vector<int32_t> ids;
  for (size_t i = 0; i < ids_json.size(); ++i) {
    const json& id = ids_json[i];
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return Status::invalid_argument(str_cat("stdin: [", i, "]: expected a non-negative integer token id"));
    }
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return tokenizer->decode(ids);
}

struct ModelSummary {
  std::string architecture;
  core::TransformerConfig config;
  int64_t parameters = 0;
  // dtype -> number of parameters stored in it.
  std::map<std::string, int64_t> dtypes;
  std::string main_dtype;
  int64_t main_dtype_bytes = 0;
  int64_t kv_cache_bytes_per_token = 0;
};

Result<ModelSummary> summarize(const std::string& dir_arg) {
  CARAVAN_ASSIGN_OR_RETURN(fs::path dir, existing_model_dir(dir_arg));
  ModelSummary summary;
  CARAVAN_ASSIGN_OR_RETURN(summary.config, model::read_model_config(dir));
  summary.architecture = core::class_name(summary.config.architecture);
  CARAVAN_ASSIGN_OR_RETURN(std::vector<fs::path> files, model::weight_files(dir));
  std::map<std::string, int64_t> dtype_bytes;
  for (const fs::path& path : files) {
    CARAVAN_ASSIGN_OR_RETURN(std::vector<model::TensorInfo> tensors, model::read_safetensors_header(path));
    for (const model::TensorInfo& tensor : tensors) {
      summary.parameters += tensor.numel();
      summary.dtypes[tensor.dtype] += tensor.numel();
      dtype_bytes[tensor.dtype] = tensor.element_bytes;
    }
  }
  // The KV cache is kept in the dtype most of the parameters are stored in.
  int64_t most = -1;
  for (const auto& [dtype, count] : summary.dtypes) {
    if (count > most) {
      most = count;
      summary.main_dtype = dtype;
    }
  }
  if (summary.main_dtype.empty()) return Status::invalid_argument(str_cat(dir.string(), ": the weights hold no tensors"));
  summary.main_dtype_bytes = dtype_bytes[summary.main_dtype];
  const core::TransformerConfig& c = summary.config;
  // K and V, per layer and KV head, head_dim wide (which need not be hidden_size / num_heads).
  summary.kv_cache_bytes_per_token = 2 * c.num_layers * c.num_kv_heads * c.head_dim() * summary.main_dtype_bytes;
  return summary;
}

const char* qk_norm_text(core::QkNorm norm) {
  switch (norm) {
    case core::QkNorm::kNone: return "none";
    case core::QkNorm::kPerHead: return "per_head";
    case core::QkNorm::kFull: return "full";
  }
  return "unknown";
}

// "none", or the rope_type and the keys of the rope_scaling dict as config.json spells them:
// "yarn factor=4.0 original_max_position_embeddings=32768".
std::string rope_scaling_text(const core::RopeScaling& scaling) {
  const json dict = model::rope_scaling_json(scaling);
  if (dict.is_null()) return "none";
  std::string text(core::enum_name(scaling.type));
  for (const auto& [key, value] : dict.items()) {
    if (key != "rope_type" && key != "type") text += str_cat(" ", key, "=", value.dump());
  }
  return text;
}

std::string dtypes_text(const ModelSummary& summary) {
  std::string text;
  for (const auto& [dtype, count] : summary.dtypes) text += str_cat(text.empty() ? "" : ", ", dtype);
  return text;
}

json summary_json(const ModelSummary& s) {
  const core::TransformerConfig& c = s.config;
  return json{{"architecture", s.architecture},
              {"parameters", s.parameters},
              {"dtype", s.main_dtype},
              {"dtypes", s.dtypes},
              {"vocab_size", c.vocab_size},
              {"hidden_size", c.hidden_size},
              {"intermediate_size", c.intermediate_size},
              {"num_layers", c.num_layers},
              {"num_heads", c.num_heads},
              {"num_kv_heads", c.num_kv_heads},
              {"head_dim", c.head_dim()},
              {"context_length", c.max_position_embeddings},
              {"rope_theta", c.rope_theta},
              {"rope_scaling", model::rope_scaling_json(c.rope_scaling)},
              {"qk_norm", qk_norm_text(c.qk_norm())},
              {"qkv_bias", c.qkv_bias()},
              {"post_norm", c.post_norm()},
              {"tie_word_embeddings", c.tie_word_embeddings},
              {"kv_cache_bytes_per_token", s.kv_cache_bytes_per_token}};
}

std::string summary_text(const ModelSummary& s) {
  const core::TransformerConfig& c = s.config;
  std::ostringstream rope_theta;
  rope_theta << c.rope_theta;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"architecture", s.architecture},
      {"parameters", std::to_string(s.parameters)},
      {"dtype", dtypes_text(s)},
      {"vocab_size", std::to_string(c.vocab_size)},
      {"hidden_size", std::to_string(c.hidden_size)},
      {"intermediate_size", std::to_string(c.intermediate_size)},
      {"num_layers", std::to_string(c.num_layers)},
      {"num_heads", std::to_string(c.num_heads)},
      {"num_kv_heads", std::to_string(c.num_kv_heads)},
      {"head_dim", std::to_string(c.head_dim())},
      {"context_length", std::to_string(c.max_position_embeddings)},
      {"rope_theta", rope_theta.str()},
      {"rope_scaling", rope_scaling_text(c.rope_scaling)},
      {"qk_norm", qk_norm_text(c.qk_norm())},
      {"qkv_bias", c.qkv_bias() ? "true" : "false"},
      {"post_norm", c.post_norm() ? "true" : "false"},
      {"tie_word_embeddings", c.tie_word_embeddings ? "true" : "false"},
      {"kv_cache_bytes_per_token", str_cat(s.kv_cache_bytes_per_token, " (", s.main_dtype, ")")}};
  size_t width = 0;
  for (const auto& [key, value] : rows) width = std::max(width, key.size());
  std::string text;
  for (const auto& [key, value] : rows) text += str_cat(key, ":", std::string(width - key.size() + 1, ' '), value, "\n");
  return text;
}

// {"inv_freq": [...], "attention_factor": x} of dir/config.json, as transformers' rotary
// embedding holds them at construction (seq_len nullopt) or for a forward whose largest position
// is seq_len - 1.
Result<json> rope_json(const std::string& dir_arg, std::optional<int64_t> seq_len) {
  CARAVAN_ASSIGN_OR_RETURN(fs::path dir, existing_model_dir(dir_arg));
  CARAVAN_ASSIGN_OR_RETURN(const core::TransformerConfig config, model::read_rope_config(dir));
  CARAVAN_ASSIGN_OR_RETURN(const core::RopeSpec spec, core::resolve_rope(config));
  const model::RopeFrequencies frequencies = model::rope_frequencies(spec, seq_len);
  const at::Tensor inv_freq = frequencies.inv_freq.to(at::kDouble).contiguous();
  const std::vector<double> values(inv_freq.data_ptr<double>(), inv_freq.data_ptr<double>() + inv_freq.numel());
  return json{{"inv_freq", values}, {"attention_factor", frequencies.attention_factor}};
}

} // namespace

int tokenize_command(int argc, char** argv) {
  core::CommandLine cli("caravan tokenize", "Read UTF-8 text on stdin and print its token ids as one JSON array.");
  cli.flag("--model", "DIR", "model directory holding tokenizer.json (required)");
  cli.switch_flag("--add-special", "add the special tokens tokenizer(text) adds (Llama 3: <|begin_of_text|>; none for Qwen);\n"
                                   "ignored with --chat: the template holds its specials");
  cli.switch_flag("--chat", "stdin is a JSON list of {role, content}; apply the chat template of tokenizer_config.json");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  std::optional<std::string> dir = cli.value("--model");
  if (!dir) {
    std::cerr << "caravan tokenize: --model DIR is required (see --help)\n";
    return 2;
  }
  Result<std::vector<int32_t>> ids = tokenize(*dir, cli.is_set("--add-special"), cli.is_set("--chat"));
  if (!ids.ok()) return fail("tokenize", ids.status());
  std::cout << json(*ids).dump() << "\n";
  return 0;
}

int detokenize_command(int argc, char** argv) {
  core::CommandLine cli("caravan detokenize", "Read a JSON array of token ids on stdin and write their exact bytes to stdout.");
  cli.flag("--model", "DIR", "model directory holding tokenizer.json (required)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  std::optional<std::string> dir = cli.value("--model");
  if (!dir) {
    std::cerr << "caravan detokenize: --model DIR is required (see --help)\n";
    return 2;
  }
  Result<std::string> text = detokenize(*dir);
  if (!text.ok()) return fail("detokenize", text.status());
  std::cout.write(text->data(), static_cast<std::streamsize>(text->size()));
  std::cout.flush();
  return 0;
}

int inspect_command(int argc, char** argv) {
  core::CommandLine cli("caravan inspect",
                  "Print a model directory's architecture, parameter count, dtype, context length, head_dim,\n"
                  "RoPE settings (incl. scaling), q/k norm and bias layout, and KV-cache bytes per token\n"
                  "(reads config.json and the safetensors headers only).");
  cli.positional("MODEL_DIR", "Hugging Face model directory (config.json + safetensors weights)");
  cli.switch_flag("--json", "print one JSON object instead of aligned key: value lines");
  cli.switch_flag("--rope-json",
                  "print the RoPE's {\"inv_freq\": [...], \"attention_factor\": x} as transformers computes "
                  "them, from config.json's RoPE keys alone (no weights needed)");
  cli.flag("--seq-len", "N",
           "with --rope-json: for a forward whose largest position is N - 1 (dynamic and longrope "
           "depend on it; default: as at construction)");
  if (std::optional<int> exit_code = cli.parse_or_exit(argc, argv, /*first=*/2)) return *exit_code;
  if (cli.is_set("--rope-json")) {
    std::optional<int64_t> seq_len;
    if (cli.value("--seq-len")) {
      Result<double> n = cli.positive_number("--seq-len", 0, /*integer=*/true);
      if (!n.ok()) {
        std::cerr << n.status().message() << "\n";  // names the program and the flag
        return 2;
      }
      seq_len = static_cast<int64_t>(*n);
    }
    Result<json> rope = rope_json(cli.positional_value(0), seq_len);
    if (!rope.ok()) return fail("inspect", rope.status());
    std::cout << rope->dump() << "\n";
    return 0;
  }
  if (cli.value("--seq-len")) {
    std::cerr << "caravan inspect: --seq-len needs --rope-json (see --help)\n";
    return 2;
  }
  Result<ModelSummary> summary = summarize(cli.positional_value(0));
  if (!summary.ok()) return fail("inspect", summary.status());
  if (cli.is_set("--json")) {
    std::cout << summary_json(*summary).dump(2) << "\n";
  } else {
    std::cout << summary_text(*summary);
  }
  return 0;
}

} // namespace caravan::apps
