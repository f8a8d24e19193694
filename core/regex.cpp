#include "core/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/str_cat.h"
#include "core/utf8.h"

namespace caravan::core {
namespace {

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const noexcept { pcre2_match_data_free(data); }
};
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

struct MatchContextDeleter {
  void operator()(pcre2_match_context* context) const noexcept { pcre2_match_context_free(context); }
};

std::string pcre2_message(int error_code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(error_code, buffer, sizeof(buffer));
  if (length < 0) return str_cat("PCRE2 error ", error_code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

} // namespace

struct Regex::Code {
  struct Deleter {
    void operator()(pcre2_code* code) const noexcept { pcre2_code_free(code); }
  };
  std::unique_ptr<pcre2_code, Deleter> code;
  // Match and heap limits; read-only after compile(), so shared by all threads.
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context;
  bool jit = false;
};

Result<Regex> Regex::compile(std::string_view pattern, Syntax syntax) {
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  switch (syntax) {
    case Syntax::kRegex:
      options |= PCRE2_UCP;
      break;
    case Syntax::kLiteral:
      // PCRE2 rejects UCP with LITERAL (no character classes to apply it to).
      options |= PCRE2_LITERAL;
      break;
  }
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* raw = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                                  &error_code, &error_offset, nullptr);
  if (raw == nullptr) {
    return Status::invalid_argument(str_cat("regex '", pattern, "': ", pcre2_message(error_code), " at offset ",
                                            error_offset));
  }
  auto code = std::make_shared<Code>();
  code->code.reset(raw);
  code->context.reset(pcre2_match_context_create(nullptr));
  CARAVAN_CHECK(code->context != nullptr, "pcre2_match_context_create: out of memory");
  pcre2_set_match_limit(code->context.get(), kMatchLimit);
  pcre2_set_heap_limit(code->context.get(), kHeapLimitKiB);
  uint32_t has_jit = 0;
  if (pcre2_config(PCRE2_CONFIG_JIT, &has_jit) >= 0 && has_jit != 0) {
    // JIT failure (e.g. no executable memory) is not an error: the interpreter still works.
    code->jit = pcre2_jit_compile(raw, PCRE2_JIT_COMPLETE) == 0;
  }
  return Regex(std::string(pattern), std::move(code));
}

int Regex::match_at(pcre2_match_data* match, std::string_view text, size_t start) const {
  const Code& code = *code_;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const int rc = pcre2_match(code.code.get(), subject, text.size(), start, 0, match, code.context.get());
  if (rc != PCRE2_ERROR_JIT_STACKLIMIT || !code.jit) return rc;
  // The JIT's fixed machine stack overflowed; the interpreter keeps its backtracking on the heap.
  return pcre2_match(code.code.get(), subject, text.size(), start, PCRE2_NO_JIT, match, code.context.get());
}

Status Regex::failure(int rc, size_t text_size) const {
  if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT) {
    return Status::resource_exhausted(str_cat("regex '", pattern_, "': ", pcre2_message(rc), " on a ", text_size,
                                              "-byte text"));
  }
  return Status::internal(str_cat("regex '", pattern_, "': ", pcre2_message(rc)));
}

Result<std::optional<Regex::Span>> Regex::find(std::string_view text, size_t start) const {
  CARAVAN_CHECK(start <= text.size(), "find start ", start, " is past the end of a ", text.size(), "-byte text");
  MatchDataPtr match(pcre2_match_data_create_from_pattern(code_->code.get(), nullptr));
  CARAVAN_CHECK(match != nullptr, "pcre2_match_data_create_from_pattern: out of memory");
  const int rc = match_at(match.get(), text, start);
  if (rc == PCRE2_ERROR_NOMATCH) return std::optional<Span>();
  if (rc < 0) return failure(rc, text.size());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
  return std::optional<Span>(Span{ovector[0], ovector[1]});
}

Result<std::vector<Regex::Span>> Regex::find_all(std::string_view text) const {
  std::vector<Span> spans;
  if (text.empty()) return spans;
  MatchDataPtr match(pcre2_match_data_create_from_pattern(code_->code.get(), nullptr));
  CARAVAN_CHECK(match != nullptr, "pcre2_match_data_create_from_pattern: out of memory");
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
  size_t start = 0;
  while (start < text.size()) {
    const int rc = match_at(match.get(), text, start);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) return failure(rc, text.size());
    const Span span{ovector[0], ovector[1]};
    if (span.end > span.begin) {
      spans.push_back(span);
      start = span.end;
    } else {
      // An empty match (possible at the very end) moves the search on by one code point.
      start = span.begin + (span.begin < text.size() ? utf8_sequence_length(static_cast<unsigned char>(text[span.begin])) : 1);
    }
  }
  return spans;
}

} // namespace caravan::core
