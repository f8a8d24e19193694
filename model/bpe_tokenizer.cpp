#include "model/bpe_tokenizer.h"

#include <algorithm>
#include <fstream>
#include <queue>
#include <tuple>

#include <nlohmann/json.hpp>

namespace caravan::model {
namespace {

using nlohmann::json;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Builds "<file>: <path>: <message>" errors.
class FieldErrors {
 public:
  explicit FieldErrors(std::string file) : file_(std::move(file)) {}
  Status invalid(std::string_view path, std::string_view message) const {
    return Status::invalid_argument(str_cat(file_, ": ", path, ": ", message));
  }

 private:
  std::string file_;
};

// The string at `node[key]`, or an error naming `path.key`. Missing or null -> `fallback` if given.
Result<std::string> get_string(const json& node, const std::string& key, const std::string& path,
                               const FieldErrors& errors, std::optional<std::string> fallback = std::nullopt) {
  auto it = node.find(key);
  if (it == node.end() || it->is_null()) {
    if (fallback) return *fallback;
    return errors.invalid(str_cat(path, ".", key), "missing");
  }
  if (!it->is_string()) return errors.invalid(str_cat(path, ".", key), str_cat("expected a string, got ", it->type_name()));
  return it->get<std::string>();
}

Result<bool> get_bool(const json& node, const std::string& key, const std::string& path, const FieldErrors& errors,
                      bool fallback) {
  auto it = node.find(key);
  if (it == node.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) return errors.invalid(str_cat(path, ".", key), str_cat("expected a boolean, got ", it->type_name()));
  return it->get<bool>();
}

Result<int32_t> get_id(const json& value, const std::string& path, const FieldErrors& errors) {
  if (!value.is_number_integer()) return errors.invalid(path, str_cat("expected an integer id, got ", value.type_name()));
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= (int64_t{1} << 30)) return errors.invalid(path, str_cat("id ", id, " is outside [0, 2^30)"));
  return static_cast<int32_t>(id);
}

// A field that must be absent, null or equal to `allowed` (an unsupported feature otherwise).
Status require_default(const json& node, const std::string& key, const std::string& path, const FieldErrors& errors,
                       const json& allowed) {
  auto it = node.find(key);
  if (it == node.end() || it->is_null() || *it == allowed) return Status();
  return errors.invalid(str_cat(path, ".", key), str_cat("unsupported value ", it->dump()));
}

// Unicode White_Space (what Rust's char::is_whitespace, and so HF's lstrip/rstrip, strip).
bool is_white_space(uint32_t code_point) {
  return (code_point >= 0x09 && code_point <= 0x0D) || code_point == 0x20 || code_point == 0x85 ||
         code_point == 0xA0 || code_point == 0x1680 || (code_point >= 0x2000 && code_point <= 0x200A) ||
         code_point == 0x2028 || code_point == 0x2029 || code_point == 0x202F || code_point == 0x205F ||
         code_point == 0x3000;
}

// Length of the whitespace character starting at text[position], or 0.
size_t white_space_at(std::string_view text, size_t position) {
  const auto byte = static_cast<unsigned char>(text[position]);
  if (byte < 0x80) return is_white_space(byte) ? 1 : 0;
  size_t length = (byte & 0xE0) == 0xC0 ? 2 : (byte & 0xF0) == 0xE0 ? 3 : 0;
  if (length == 0 || position + length > text.size()) return 0;
  uint32_t code_point = length == 2 ? (byte & 0x1F) : (byte & 0x0F);
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[position + i]);
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  return is_white_space(code_point) ? length : 0;
}

// Length of the whitespace character ending at text[end - 1], or 0.
size_t white_space_before(std::string_view text, size_t end) {
  for (size_t length = 1; length <= 3 && length <= end; ++length) {
    if (white_space_at(text, end - length) == length) return length;
  }
  return 0;
}

std::optional<size_t> find_added(const std::vector<std::string>& contents, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    auto it = std::find(contents.begin(), contents.end(), name);
    if (it != contents.end()) return static_cast<size_t>(it - contents.begin());
  }
  return std::nullopt;
}

// The special token ids a TemplateProcessing puts before the sequence of a single input
// (`tokenizer(text)` with add_special_tokens): its "single" template's leading SpecialToken
// pieces, resolved through its "special_tokens" map.
Result<std::vector<int32_t>> template_prefix(const json& node, const std::string& path, const FieldErrors& errors) {
  const auto single = node.find("single");
  if (single == node.end() || !single->is_array()) return errors.invalid(path + ".single", "missing or not an array");
  std::vector<int32_t> prefix;
  for (size_t index = 0; index < single->size(); ++index) {
    const json& piece = (*single)[index];
    const auto special = piece.is_object() ? piece.find("SpecialToken") : piece.end();
    if (special == piece.end()) break;  // the sequence itself ("Sequence": {"id": "A"})
    const std::string piece_path = str_cat(path, ".single[", index, "].SpecialToken");
    CARAVAN_ASSIGN_OR_RETURN(const std::string name, get_string(*special, "id", piece_path, errors));
    const json& tokens = node.value("special_tokens", json::object());
    const json& entry = tokens.is_object() && tokens.contains(name) ? tokens[name] : json();
    if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array()) {
      return errors.invalid(str_cat(path, ".special_tokens"), str_cat("no ids for '", name, "'"));
    }
    for (const json& id : entry["ids"]) {
      CARAVAN_ASSIGN_OR_RETURN(const int32_t value, get_id(id, str_cat(path, ".special_tokens.", name, ".ids"), errors));
      prefix.push_back(value);
    }
  }
  return prefix;
}

// What the post_processor puts before a single sequence: TemplateProcessing (also inside a
// Sequence) contributes its template prefix; ByteLevel adds nothing.
Result<std::vector<int32_t>> post_processor_prefix(const json& node, const std::string& path,
                                                   const FieldErrors& errors) {
  if (node.is_null()) return std::vector<int32_t>();
  if (!node.is_object()) return errors.invalid(path, "expected an object");
  CARAVAN_ASSIGN_OR_RETURN(const std::string type, get_string(node, "type", path, errors));
  if (type == "ByteLevel") return std::vector<int32_t>();
  if (type == "TemplateProcessing") return template_prefix(node, path, errors);
  if (type != "Sequence") {
    return errors.invalid(path + ".type", str_cat("unsupported post-processor '", type,
                                                  "' (ByteLevel, TemplateProcessing, Sequence)"));
  }
  const auto list = node.find("processors");
  if (list == node.end() || !list->is_array()) return errors.invalid(path + ".processors", "missing or not an array");
  std::vector<int32_t> prefix;
  for (size_t index = 0; index < list->size(); ++index) {
    CARAVAN_ASSIGN_OR_RETURN(const std::vector<int32_t> part,
                             post_processor_prefix((*list)[index], str_cat(path, ".processors[", index, "]"), errors));
    prefix.insert(prefix.end(), part.begin(), part.end());
  }
  return prefix;
}

} // namespace

Result<std::shared_ptr<const BpeTokenizer>> BpeTokenizer::load(const std::filesystem::path& tokenizer_json,
                                                                const BpeSpecialTokens& special_tokens) {
  const FieldErrors errors(tokenizer_json.string());
  std::ifstream in(tokenizer_json, std::ios::binary);
  if (!in) return Status::not_found(str_cat(tokenizer_json.string(), ": cannot open tokenizer.json"));
  const json root = json::parse(in, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::invalid_argument(str_cat(tokenizer_json.string(), ": not valid JSON"));
  if (!root.is_object()) return errors.invalid("$", "expected an object");

  auto tokenizer = std::make_shared<BpeTokenizer>(Key());

  // --- model ---
  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object()) return errors.invalid("model", "missing or not an object");
  const json& model = *model_it;
  CARAVAN_ASSIGN_OR_RETURN(std::string type, get_string(model, "type", "model", errors, std::string("BPE")));
  if (type != "BPE") return errors.invalid("model.type", str_cat("unsupported model type '", type, "' (only BPE)"));
  CARAVAN_RETURN_IF_ERROR(require_default(model, "dropout", "model", errors, json()));
  CARAVAN_RETURN_IF_ERROR(require_default(model, "continuing_subword_prefix", "model", errors, json("")));
  CARAVAN_RETURN_IF_ERROR(require_default(model, "end_of_word_suffix", "model", errors, json("")));
  CARAVAN_RETURN_IF_ERROR(require_default(model, "byte_fallback", "model", errors, json(false)));
  CARAVAN_ASSIGN_OR_RETURN(tokenizer->ignore_merges_, get_bool(model, "ignore_merges", "model", errors, false));

  auto vocab_it = model.find("vocab");
  if (vocab_it == model.end() || !vocab_it->is_object()) return errors.invalid("model.vocab", "missing or not an object");
  int32_t max_id = -1;
  for (const auto& [token, value] : vocab_it->items()) {
    CARAVAN_ASSIGN_OR_RETURN(int32_t id, get_id(value, str_cat("model.vocab[\"", token, "\"]"), errors));
    tokenizer->vocab_.emplace(token, id);
    max_id = std::max(max_id, id);
  }
  const auto& table = byte_level_table();
  for (int byte = 0; byte < 256; ++byte) {
    auto it = tokenizer->vocab_.find(table[byte]);
    if (it == tokenizer->vocab_.end()) {
      return errors.invalid("model.vocab", str_cat("no entry for the byte-level symbol '", table[byte], "' of byte ",
                                                   byte, " (every byte must encode)"));
    }
    tokenizer->byte_ids_[byte] = it->second;
  }

  auto merges_it = model.find("merges");
  if (merges_it == model.end() || !merges_it->is_array()) return errors.invalid("model.merges", "missing or not an array");
  for (size_t rank = 0; rank < merges_it->size(); ++rank) {
    const json& entry = (*merges_it)[rank];
    const std::string path = str_cat("model.merges[", rank, "]");
    std::string left;
    std::string right;
    if (entry.is_string()) {
      const std::string text = entry.get<std::string>();
      const size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        return errors.invalid(path, str_cat("expected \"left right\" with one space, got \"", text, "\""));
      }
      left = text.substr(0, space);
      right = text.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      return errors.invalid(path, str_cat("expected \"left right\" or [left, right], got ", entry.dump()));
    }
    auto left_it = tokenizer->vocab_.find(left);
    auto right_it = tokenizer->vocab_.find(right);
    auto merged_it = tokenizer->vocab_.find(left + right);
    if (left_it == tokenizer->vocab_.end()) return errors.invalid(path, str_cat("'", left, "' is not in model.vocab"));
    if (right_it == tokenizer->vocab_.end()) return errors.invalid(path, str_cat("'", right, "' is not in model.vocab"));
    if (merged_it == tokenizer->vocab_.end()) {
      return errors.invalid(path, str_cat("merged token '", left, right, "' is not in model.vocab"));
    }
    // A repeated pair keeps its first (lowest) rank, as in HF.
    tokenizer->merges_.emplace(pair_key(left_it->second, right_it->second),
                               Merge{static_cast<int32_t>(rank), merged_it->second});
  }

  // --- added_tokens ---
  if (auto added_it = root.find("added_tokens"); added_it != root.end() && !added_it->is_null()) {
    if (!added_it->is_array()) return errors.invalid("added_tokens", "expected an array");
    for (size_t index = 0; index < added_it->size(); ++index) {
      const json& entry = (*added_it)[index];
      const std::string path = str_cat("added_tokens[", index, "]");
      if (!entry.is_object()) return errors.invalid(path, "expected an object");
      AddedToken token;
      auto id_it = entry.find("id");
      if (id_it == entry.end()) return errors.invalid(path + ".id", "missing");
      CARAVAN_ASSIGN_OR_RETURN(token.id, get_id(*id_it, path + ".id", errors));
      CARAVAN_ASSIGN_OR_RETURN(token.content, get_string(entry, "content", path, errors));
      if (token.content.empty()) return errors.invalid(path + ".content", "empty");
      CARAVAN_ASSIGN_OR_RETURN(token.special, get_bool(entry, "special", path, errors, false));
      CARAVAN_ASSIGN_OR_RETURN(token.normalized, get_bool(entry, "normalized", path, errors, !token.special));
      CARAVAN_ASSIGN_OR_RETURN(token.lstrip, get_bool(entry, "lstrip", path, errors, false));
      CARAVAN_ASSIGN_OR_RETURN(token.rstrip, get_bool(entry, "rstrip", path, errors, false));
      CARAVAN_ASSIGN_OR_RETURN(bool single_word, get_bool(entry, "single_word", path, errors, false));
      if (single_word) return errors.invalid(path + ".single_word", "unsupported: true");
      max_id = std::max(max_id, token.id);
      tokenizer->added_tokens_.push_back(std::move(token));
    }
  }

  // --- normalizer, pre_tokenizer, decoder ---
  if (auto it = root.find("normalizer"); it != root.end()) {
    CARAVAN_ASSIGN_OR_RETURN(tokenizer->normalizer_,
                             Normalizer::parse(*it, str_cat(tokenizer_json.string(), ": normalizer")));
  }
  auto pre_it = root.find("pre_tokenizer");
  if (pre_it == root.end() || !pre_it->is_object()) {
    return errors.invalid("pre_tokenizer", "missing (a byte-level BPE needs a ByteLevel pre-tokenizer)");
  }
  std::vector<std::pair<const json*, std::string>> steps;  // (node, path)
  CARAVAN_ASSIGN_OR_RETURN(std::string pre_type, get_string(*pre_it, "type", "pre_tokenizer", errors));
  if (pre_type == "Sequence") {
    auto list = pre_it->find("pretokenizers");
    if (list == pre_it->end() || !list->is_array()) return errors.invalid("pre_tokenizer.pretokenizers", "missing or not an array");
    for (size_t index = 0; index < list->size(); ++index) {
      steps.emplace_back(&(*list)[index], str_cat("pre_tokenizer.pretokenizers[", index, "]"));
    }
  } else {
    steps.emplace_back(&*pre_it, "pre_tokenizer");
  }
  bool has_byte_level = false;
  for (const auto& [node, path] : steps) {
    if (!node->is_object()) return errors.invalid(path, "expected an object");
    CARAVAN_ASSIGN_OR_RETURN(std::string step_type, get_string(*node, "type", path, errors));
    if (has_byte_level) return errors.invalid(path, "unsupported: a pre-tokenizer after ByteLevel");
    if (step_type == "ByteLevel") {
      has_byte_level = true;
      CARAVAN_ASSIGN_OR_RETURN(tokenizer->pre_tokenizer_.add_prefix_space,
                               get_bool(*node, "add_prefix_space", path, errors, true));
      CARAVAN_ASSIGN_OR_RETURN(bool use_regex, get_bool(*node, "use_regex", path, errors, true));
      if (tokenizer->pre_tokenizer_.add_prefix_space && !tokenizer->pre_tokenizer_.splits.empty()) {
        // HF would prepend the space to every piece of the earlier Split; not implemented.
        return errors.invalid(path + ".add_prefix_space", "unsupported: true after a Split");
      }
      if (use_regex) {
        CARAVAN_ASSIGN_OR_RETURN(RegexSplitter splitter, RegexSplitter::compile(kGpt2SplitPattern));
        tokenizer->pre_tokenizer_.splits.push_back(std::move(splitter));
      }
    } else if (step_type == "Split") {
      auto pattern_it = node->find("pattern");
      if (pattern_it == node->end() || !pattern_it->is_object()) return errors.invalid(path + ".pattern", "missing or not an object");
      RegexSplitter::Syntax syntax = RegexSplitter::Syntax::kRegex;
      std::string pattern;
      if (pattern_it->contains("Regex")) {
        CARAVAN_ASSIGN_OR_RETURN(pattern, get_string(*pattern_it, "Regex", path + ".pattern", errors));
      } else if (pattern_it->contains("String")) {
        syntax = RegexSplitter::Syntax::kLiteral;
        CARAVAN_ASSIGN_OR_RETURN(pattern, get_string(*pattern_it, "String", path + ".pattern", errors));
      } else {
        return errors.invalid(path + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
      }
      CARAVAN_ASSIGN_OR_RETURN(std::string behavior, get_string(*node, "behavior", path, errors));
      if (behavior != "Isolated") return errors.invalid(path + ".behavior", str_cat("unsupported behavior '", behavior, "' (only Isolated)"));
      CARAVAN_ASSIGN_OR_RETURN(bool invert, get_bool(*node, "invert", path, errors, false));
      if (invert) return errors.invalid(path + ".invert", "unsupported: true");
      auto splitter = RegexSplitter::compile(pattern, syntax);
      if (!splitter.ok()) return errors.invalid(path + ".pattern", splitter.status().message());
      tokenizer->pre_tokenizer_.splits.push_back(std::move(splitter).value());
    } else {
      return errors.invalid(path + ".type", str_cat("unsupported pre-tokenizer '", step_type, "' (ByteLevel, Split, Sequence)"));
    }
  }
  if (!has_byte_level) return errors.invalid("pre_tokenizer", "no ByteLevel step (only byte-level BPE is supported)");
  if (auto it = root.find("decoder"); it != root.end() && !it->is_null()) {
    CARAVAN_ASSIGN_OR_RETURN(std::string decoder, get_string(*it, "type", "decoder", errors));
    if (decoder != "ByteLevel") return errors.invalid("decoder.type", str_cat("unsupported decoder '", decoder, "' (only ByteLevel)"));
  }

  if (auto it = root.find("post_processor"); it != root.end()) {
    CARAVAN_ASSIGN_OR_RETURN(tokenizer->single_prefix_ids_, post_processor_prefix(*it, "post_processor", errors));
  }

  // --- id tables ---
  tokenizer->id_bytes_.assign(static_cast<size_t>(max_id + 1), std::string());
  tokenizer->id_kinds_.assign(static_cast<size_t>(max_id + 1), IdKind::kNone);
  for (const auto& [token, id] : tokenizer->vocab_) {
    // Like HF's ByteLevel decoder: a token with a symbol outside the table decodes to its own bytes.
    std::optional<std::string> bytes = byte_level_decode(token);
    tokenizer->id_bytes_[id] = bytes ? std::move(*bytes) : token;
    tokenizer->id_kinds_[id] = IdKind::kVocab;
  }
  std::vector<std::string> added_contents;
  for (const AddedToken& token : tokenizer->added_tokens_) {
    tokenizer->id_bytes_[token.id] = token.content;
    tokenizer->id_kinds_[token.id] = token.special ? IdKind::kSpecial : IdKind::kAdded;
    added_contents.push_back(token.content);
  }
  for (const AddedToken& token : tokenizer->added_tokens_) {
    AddedTokenMatcher& matcher = token.normalized ? tokenizer->normalized_added_ : tokenizer->raw_added_;
    // Like HF, a normalized token's content is normalized too, so it matches normalized text.
    std::string content = token.normalized ? tokenizer->normalizer_.apply(token.content) : token.content;
    const auto first = static_cast<unsigned char>(content[0]);
    matcher.by_first_byte[first].push_back({std::move(content), token.id, token.lstrip, token.rstrip});
    matcher.empty = false;
  }
  for (AddedTokenMatcher* matcher : {&tokenizer->raw_added_, &tokenizer->normalized_added_}) {
    for (auto& candidates : matcher->by_first_byte) {
      std::stable_sort(candidates.begin(), candidates.end(), [](const AddedTokenMatcher::Entry& a,
                                                                const AddedTokenMatcher::Entry& b) {
        return a.content.size() > b.content.size();
      });
    }
  }

  // --- bos / eos / pad ---
  auto pick = [&](const std::string& requested, std::string_view role,
                  std::initializer_list<std::string_view> names) -> Result<std::optional<int32_t>> {
    std::optional<size_t> index;
    if (!requested.empty()) {
      index = find_added(added_contents, {requested});
      if (!index) return errors.invalid("added_tokens", str_cat("no added token '", requested, "' for ", role));
    } else {
      index = find_added(added_contents, names);
    }
    if (!index) return std::optional<int32_t>();
    return std::optional<int32_t>(tokenizer->added_tokens_[*index].id);
  };
  CARAVAN_ASSIGN_OR_RETURN(std::optional<int32_t> eos,
                           pick(special_tokens.eos, "eos",
                                {"<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>", "</s>"}));
  if (!eos) return errors.invalid("added_tokens", "cannot identify an eos token; name it in BpeSpecialTokens");
  CARAVAN_ASSIGN_OR_RETURN(std::optional<int32_t> bos,
                           pick(special_tokens.bos, "bos", {"<|begin_of_text|>", "<s>", "<|startoftext|>", "<|endoftext|>"}));
  CARAVAN_ASSIGN_OR_RETURN(std::optional<int32_t> pad,
                           pick(special_tokens.pad, "pad", {"<|pad|>", "<|finetune_right_pad_id|>", "<pad>", "<|endoftext|>"}));
  tokenizer->eos_id_ = *eos;
  tokenizer->bos_id_ = bos.value_or(*eos);
  tokenizer->pad_id_ = pad.value_or(*eos);
  return std::shared_ptr<const BpeTokenizer>(std::move(tokenizer));
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& added : added_tokens_) {
    if (added.content == token) return added.id;
  }
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::optional<BpeTokenizer::AddedTokenMatcher::Match> BpeTokenizer::AddedTokenMatcher::find(std::string_view text,
                                                                                             size_t from) const {
  if (empty) return std::nullopt;
  for (size_t position = from; position < text.size(); ++position) {
    for (const Entry& entry : by_first_byte[static_cast<unsigned char>(text[position])]) {  // longest first
      if (text.compare(position, entry.content.size(), entry.content) != 0) continue;
      Match match{position, position + entry.content.size(), entry.id};
      if (entry.lstrip) {
        while (match.begin > from) {
          const size_t length = white_space_before(text, match.begin);
          if (length == 0 || match.begin - length < from) break;
          match.begin -= length;
        }
      }
      if (entry.rstrip) {
        while (match.end < text.size()) {
          const size_t length = white_space_at(text, match.end);
          if (length == 0) break;
          match.end += length;
        }
      }
      return match;
    }
  }
  return std::nullopt;
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  size_t segment_start = 0;
  while (std::optional<AddedTokenMatcher::Match> match = raw_added_.find(text, segment_start)) {
    encode_unnormalized(text.substr(segment_start, match->begin - segment_start), ids);
    ids.push_back(match->id);
    segment_start = match->end;
  }
  encode_unnormalized(text.substr(segment_start), ids);
  return ids;
}

void BpeTokenizer::encode_unnormalized(std::string_view raw, std::vector<int32_t>& ids) const {
  if (raw.empty()) return;
  std::string normalized;
  std::string_view text = raw;
  if (!normalizer_.is_identity()) {
    normalized = normalizer_.apply(raw);
    text = normalized;
  }
  size_t segment_start = 0;
  while (std::optional<AddedTokenMatcher::Match> match = normalized_added_.find(text, segment_start)) {
    encode_ordinary(text.substr(segment_start, match->begin - segment_start), ids);
    ids.push_back(match->id);
    segment_start = match->end;
  }
  encode_ordinary(text.substr(segment_start), ids);
}

void BpeTokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& ids) const {
  if (text.empty()) return;
  std::string prefixed;
  if (pre_tokenizer_.add_prefix_space && text.front() != ' ') {
    prefixed = str_cat(" ", text);
    text = prefixed;
  }
  std::vector<std::string_view> pieces{text};
  for (const RegexSplitter& splitter : pre_tokenizer_.splits) {
    std::vector<std::string_view> next;
    for (std::string_view piece : pieces) {
      for (std::string_view part : splitter.split(piece)) next.push_back(part);
    }
    pieces = std::move(next);
  }
  for (std::string_view piece : pieces) encode_word(piece, ids);
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.size() == 1) {
    ids.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> word_ids;
  auto whole = ignore_merges_ ? vocab_.find(byte_level_encode(word)) : vocab_.end();
  if (whole != vocab_.end()) {
    word_ids.push_back(whole->second);
  } else {
    word_ids = merge_word(word);
  }
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(word_ids));
}

std::vector<int32_t> BpeTokenizer::merge_word(std::string_view bytes) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  const int32_t count = static_cast<int32_t>(bytes.size());
  std::vector<Symbol> word(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) {
    word[i] = Symbol{byte_ids_[static_cast<unsigned char>(bytes[i])], i - 1, i + 1 < count ? i + 1 : -1, true};
  }
  // (rank, position, merged id); the lowest rank first, then the leftmost position (HF order).
  using Candidate = std::tuple<int32_t, int32_t, int32_t>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t position) {
    if (position < 0 || word[position].next < 0) return;
    auto it = merges_.find(pair_key(word[position].id, word[word[position].next].id));
    if (it != merges_.end()) queue.emplace(it->second.rank, position, it->second.merged_id);
  };
  for (int32_t i = 0; i + 1 < count; ++i) push_pair(i);
  while (!queue.empty()) {
    const auto [rank, position, merged_id] = queue.top();
    queue.pop();
    Symbol& left = word[position];
    if (!left.alive || left.next < 0) continue;
    // Stale if either symbol changed since the candidate was pushed.
    auto it = merges_.find(pair_key(left.id, word[left.next].id));
    if (it == merges_.end() || it->second.rank != rank || it->second.merged_id != merged_id) continue;
    Symbol& right = word[left.next];
    left.id = merged_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) word[left.next].prev = position;
    push_pair(left.prev);
    push_pair(position);
  }
  std::vector<int32_t> ids;
  for (int32_t i = 0; i >= 0; i = word[i].next) ids.push_back(word[i].id);
  return ids;
}

Result<std::string> BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  for (size_t position = 0; position < ids.size(); ++position) {
    const int32_t id = ids[position];
    if (id < 0 || id >= vocab_size()) {
      return Status::invalid_argument(str_cat("BpeTokenizer::decode: id ", id, " at position ", position,
                                              " is outside [0, ", vocab_size(), ")"));
    }
    switch (id_kinds_[id]) {
      case IdKind::kNone:
        return Status::invalid_argument(str_cat("BpeTokenizer::decode: id ", id, " at position ", position,
                                                " is not assigned to any token"));
      case IdKind::kSpecial:
        break;
      case IdKind::kVocab:
      case IdKind::kAdded:
        text += id_bytes_[id];
        break;
    }
  }
  return text;
}

} // namespace caravan::model
