#include "model/tokenizer_config.h"

#include <nlohmann/json.hpp>

#include "core/read_file.h"

namespace caravan::model {
namespace {

using Json = nlohmann::json;

Status bad_key(const std::string& file, const char* key, const std::string& message) {
  return Status::invalid_argument(str_cat(file, ": key '", key, "': ", message));
}

// A special token given as "<s>", null or {"content": "<s>", ...}; empty when absent or null.
Result<std::string> special_token(const Json& root, const char* key, const std::string& file) {
  const auto it = root.find(key);
  if (it == root.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
    return (*it)["content"].get<std::string>();
  }
  return bad_key(file, key, str_cat("expected a string, null or {\"content\": string}, got ", it->dump()));
}

Result<std::string> chat_template_of(const Json& root, const std::string& file) {
  const auto it = root.find("chat_template");
  if (it == root.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) return bad_key(file, "chat_template", "expected a string or a list of {name, template}");
  for (const Json& entry : *it) {
    if (entry.is_object() && entry.value("name", Json()) == "default" && entry.contains("template") &&
        entry["template"].is_string()) {
      return entry["template"].get<std::string>();
    }
  }
  return bad_key(file, "chat_template", "the list has no \"default\" template");
}

}  // namespace

Result<TokenizerConfig> read_tokenizer_config(const std::filesystem::path& dir) {
  TokenizerConfig config;
  std::error_code error;
  const std::filesystem::path path = dir / kTokenizerConfigFile;
  if (std::filesystem::exists(path, error)) {
    const std::string file = path.string();
    CARAVAN_ASSIGN_OR_RETURN(const std::string text, core::read_file(path, "tokenizer config"));
    const Json root = Json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded()) return Status::invalid_argument(str_cat(file, ": invalid JSON"));
    if (!root.is_object()) return Status::invalid_argument(str_cat(file, ": expected a JSON object"));
    CARAVAN_ASSIGN_OR_RETURN(config.chat_template, chat_template_of(root, file));
    if (!config.chat_template.empty()) config.chat_template_file = file;
    CARAVAN_ASSIGN_OR_RETURN(config.bos_token, special_token(root, "bos_token", file));
    CARAVAN_ASSIGN_OR_RETURN(config.eos_token, special_token(root, "eos_token", file));
    CARAVAN_ASSIGN_OR_RETURN(config.pad_token, special_token(root, "pad_token", file));
    if (const auto add_bos = root.find("add_bos_token"); add_bos != root.end() && !add_bos->is_null()) {
      if (!add_bos->is_boolean()) return bad_key(file, "add_bos_token", str_cat("expected a boolean, got ", add_bos->dump()));
      config.add_bos_token = add_bos->get<bool>();
    }
  }
  const std::filesystem::path jinja = dir / kChatTemplateFile;
  if (std::filesystem::exists(jinja, error)) {
    CARAVAN_ASSIGN_OR_RETURN(config.chat_template, core::read_file(jinja, "chat template"));
    config.chat_template_file = jinja.string();
  }
  return config;
}

} // namespace caravan::model
