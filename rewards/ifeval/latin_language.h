// File: rewards/ifeval/latin_language.h
// Tells apart the Latin-script languages that IFEval prompts ask answers to be written in
// ("language:response_language" with langdetect codes en, es, pt, fr, de, it, pl, vi, sw, fi)
// by counting each language's most frequent function words ("the", "und", "que", "của", ...).
// Function words make up a third or more of running text in every one of these languages and
// rarely coincide across them, so a paragraph is decided reliably; where they do coincide
// ("de" in es/pt/fr/pl... ) the language-specific ones break the tie. This replaces langdetect's
// character n-gram model, which is statistical and not available here.
//
//   detect_latin_language("Das ist nicht der Weg, und wir wissen es.")  // "de"
//   detect_latin_language("OK 42")                                       // "" (no evidence)
#pragma once

#include <string_view>

namespace caravan::rewards::ifeval {

// The code of the language whose function words occur most often among the words of `text`
// (ASCII case-insensitive), or "" when none occurs or two languages tie for the most. Pure and
// thread-safe; linear in the text.
std::string_view detect_latin_language(std::string_view text);

// Whether detect_latin_language() can return `code`.
bool is_detectable_latin_language(std::string_view code);

} // namespace caravan::rewards::ifeval
