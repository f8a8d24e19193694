#include "rewards/ifeval/latin_language.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <vector>

#include "rewards/ifeval/text_scan.h"

namespace caravan::rewards::ifeval {
namespace {

struct FunctionWords {
  std::string_view code;
  std::initializer_list<std::string_view> words;
};

// About thirty of the most frequent words of each language (articles, pronouns, prepositions,
// conjunctions, auxiliaries), lowercase.
const std::array<FunctionWords, 10> kLanguages{{
    {"en", {"the", "and", "is", "are", "of", "to", "in", "that", "it", "was", "for", "on", "with", "this", "be",
            "at", "by", "not", "have", "from", "or", "an", "they", "you", "he", "she", "we", "but", "his", "her",
            "their", "which", "will", "would", "can", "there", "what", "has", "been", "were", "my", "your", "i"}},
    {"es", {"el", "la", "los", "las", "y", "en", "es", "de", "que", "por", "con", "para", "una", "un", "del",
            "se", "no", "lo", "más", "pero", "como", "su", "al", "muy", "también", "está", "son", "este", "esta",
            "yo", "tu", "hay", "fue", "sus"}},
    {"pt", {"o", "os", "as", "e", "em", "do", "da", "dos", "das", "não", "um", "uma", "com", "para", "por", "mais",
            "de", "que", "se", "ao", "na", "no", "é", "são", "também", "muito", "mas", "como", "seu", "sua", "eu",
            "você", "está", "foi", "isso"}},
    {"fr", {"le", "la", "les", "de", "des", "et", "est", "un", "une", "du", "en", "que", "qui", "dans", "pour",
            "pas", "ne", "sur", "au", "avec", "il", "elle", "nous", "vous", "sont", "ce", "cette", "mais", "plus",
            "aux", "je", "on", "par", "son", "ses", "être"}},
    {"de", {"der", "die", "das", "und", "ist", "nicht", "ein", "eine", "zu", "ich", "sie", "es", "mit", "den",
            "auf", "für", "von", "sich", "dem", "auch", "wie", "im", "sind", "war", "wir", "aber", "oder",
            "wenn", "noch", "nur", "kann", "werden", "einen", "dass", "bei"}},
    {"it", {"il", "di", "che", "e", "la", "per", "un", "una", "non", "sono", "è", "del", "della", "in", "con",
            "si", "le", "gli", "ma", "come", "anche", "più", "questo", "questa", "alla", "nel", "dei", "ha", "lo",
            "al", "da", "io", "essere", "molto"}},
    {"pl", {"i", "w", "z", "na", "się", "nie", "do", "to", "że", "jest", "o", "jak", "ale", "po", "co", "tak",
            "za", "od", "są", "jego", "przez", "ten", "tym", "dla", "czy", "może", "także", "który", "która",
            "które", "jestem", "bardzo"}},
    {"vi", {"và", "của", "là", "có", "không", "được", "cho", "một", "những", "các", "trong", "người", "với",
            "này", "đã", "để", "khi", "từ", "rất", "cũng", "như", "tôi", "bạn", "đến", "về", "nhưng", "thì", "sẽ",
            "ra", "làm"}},
    {"sw", {"na", "ya", "wa", "kwa", "ni", "za", "katika", "la", "cha", "kuwa", "hii", "hiyo", "yake", "lakini",
            "pia", "au", "kama", "sana", "watu", "mimi", "wewe", "yeye", "sisi", "hapa", "kwamba", "ili", "zaidi",
            "baada", "kabla", "kila"}},
    {"fi", {"ja", "on", "ei", "se", "että", "hän", "oli", "ovat", "mutta", "kuin", "tai", "myös", "joka", "jos",
            "kun", "niin", "vain", "sen", "hänen", "ole", "olla", "mitä", "minä", "sinä", "tämä", "nyt", "sitten",
            "voi", "kanssa", "olen"}},
}};

using LanguagesByWord = std::unordered_map<std::string_view, std::vector<size_t>>;

// word -> indexes into kLanguages of every language that uses it.
LanguagesByWord index_function_words() {
  LanguagesByWord index;
  for (size_t language = 0; language < kLanguages.size(); ++language) {
    for (std::string_view word : kLanguages[language].words) index[word].push_back(language);
  }
  return index;
}

} // namespace

std::string_view detect_latin_language(std::string_view text) {
  static const LanguagesByWord index = index_function_words();
  std::array<size_t, kLanguages.size()> hits{};
  const std::string lower = to_lower(text);
  for (std::string_view word : word_runs(lower)) {
    if (const auto it = index.find(word); it != index.end()) {
      for (size_t language : it->second) ++hits[language];
    }
  }
  const auto best = std::max_element(hits.begin(), hits.end());
  if (*best == 0 || std::count(hits.begin(), hits.end(), *best) > 1) return {};
  return kLanguages[static_cast<size_t>(best - hits.begin())].code;
}

bool is_detectable_latin_language(std::string_view code) {
  return std::any_of(kLanguages.begin(), kLanguages.end(),
                     [&](const FunctionWords& language) { return language.code == code; });
}

} // namespace caravan::rewards::ifeval
