// File: core/hash.h
// The two non-cryptographic hashes Caravan derives stable ids, seeds and versions from: FNV-1a
// (64-bit) over bytes, and the SplitMix64 finaliser to mix 64-bit values. Both are fixed
// forever: held-out splits, prompt ids and reward-config versions depend on their exact output.
//
//   uint64_t id = core::fnv1a64("37+45=");                      // bytes -> 64 bits
//   uint64_t id2 = core::fnv1a64("more", id);                   // continue a running hash
//   uint64_t seed = core::splitmix64(run_seed ^ core::splitmix64(step));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace caravan::core {

inline constexpr uint64_t kFnv1aOffsetBasis = 0xcbf29ce484222325ULL;
inline constexpr uint64_t kFnv1aPrime = 0x100000001b3ULL;

// FNV-1a 64 of `bytes`, starting from `hash` (the offset basis, or a previous result to extend).
constexpr uint64_t fnv1a64(std::string_view bytes, uint64_t hash = kFnv1aOffsetBasis) {
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * kFnv1aPrime;
  return hash;
}

// SplitMix64's finaliser: a fast, well-mixed bijection of 64-bit values.
constexpr uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// FNV-1a over length-prefixed fields, finalised with SplitMix64, so ("ab", "c") and ("a", "bc")
// hash differently. Content ids of dataset rows (prompt ids, held-out splits) come from it.
//
//   FieldHasher hasher;
//   hasher.add(message.role);
//   hasher.add(message.content);
//   uint64_t id = hasher.value();
class FieldHasher {
 public:
  void add(std::string_view field) {
    hash_ = fnv1a64(std::to_string(field.size()) + ":", hash_);
    hash_ = fnv1a64(field, hash_);
  }
  uint64_t value() const { return splitmix64(hash_); }

 private:
  uint64_t hash_ = kFnv1aOffsetBasis;
};

} // namespace caravan::core
