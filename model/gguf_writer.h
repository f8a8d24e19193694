// File: model/gguf_writer.h
// Writer of GGUF version 3, the model file format of llama.cpp/ggml (spec: ggml's
// docs/gguf.md). All integers little-endian; a string is a u64 byte length and the bytes:
//   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
//   metadata: string key | u32 value type (GgufType) | value (an array: u32 element type,
//             u64 count, elements)
//   tensor infos: string name | u32 n_dims | u64 dims[n_dims] (fastest-varying first: a
//             row-major [rows, cols] tensor has dims {cols, rows}) | u32 ggml type | u64 offset
//   zero padding to the alignment (general.alignment, 32 by default), then the tensor data,
//   each tensor starting at its offset (relative to the data section, a multiple of the alignment).
//
//   GgufWriter writer;
//   writer.add_string("general.architecture", "qwen3");
//   writer.add_uint32("qwen3.block_count", 28);
//   writer.add_tensor("token_embd.weight", embedding);   // float32 [vocab, hidden]
//   CARAVAN_RETURN_IF_ERROR(writer.write("model.gguf"));
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"

namespace caravan::model {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // the bytes "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint64_t kGgufAlignment = 32;

// The spec's gguf_metadata_value_type.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// The ggml tensor type this writer stores (ggml's GGML_TYPE_F32).
inline constexpr uint32_t kGgmlTypeF32 = 0;

// Collects metadata and tensors, then writes them in the order added. A value type; the added
// tensors are referenced (not copied) until write(). Keys and tensor names are chosen by code:
// an empty or repeated one is a CARAVAN_CHECK failure.
class GgufWriter {
 public:
  void add_uint32(const std::string& key, uint32_t value);
  void add_float32(const std::string& key, float value);
  void add_string(const std::string& key, const std::string& value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& values);
  // A float32 tensor (CARAVAN_CHECK), on any device and with any strides (made contiguous on
  // the CPU here). Its GGUF dims are its shape reversed.
  void add_tensor(const std::string& name, const at::Tensor& tensor);

  // Writes the file atomically (core/atomic_file.h). Errors: kUnavailable naming the file.
  // Blocks on disk I/O.
  Status write(const std::filesystem::path& file) const;

 private:
  void add_key(const std::string& key, GgufType type);

  // The encoded metadata entries, back to back.
  std::string metadata_;
  uint64_t metadata_count_ = 0;
  std::vector<std::string> keys_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
};

} // namespace caravan::model
