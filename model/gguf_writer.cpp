#include "model/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <span>

#include "core/atomic_file.h"

namespace caravan::model {
namespace {

// Little-endian host (x86-64, aarch64): values are appended as their in-memory bytes.
static_assert(std::endian::native == std::endian::little, "GGUF is written little-endian");

template <class T>
void append(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void append_string(std::string& out, const std::string& value) {
  append<uint64_t>(out, value.size());
  out += value;
}

uint64_t padded(uint64_t offset) { return (offset + kGgufAlignment - 1) / kGgufAlignment * kGgufAlignment; }

}  // namespace

void GgufWriter::add_key(const std::string& key, GgufType type) {
  CARAVAN_CHECK(!key.empty() && std::find(keys_.begin(), keys_.end(), key) == keys_.end(),
                "GGUF metadata key empty or repeated: '", key, "'");
  keys_.push_back(key);
  ++metadata_count_;
  append_string(metadata_, key);
  append(metadata_, static_cast<uint32_t>(type));
}

void GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  add_key(key, GgufType::kUint32);
  append(metadata_, value);
}

void GgufWriter::add_float32(const std::string& key, float value) {
  add_key(key, GgufType::kFloat32);
  append(metadata_, value);
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  add_key(key, GgufType::kString);
  append_string(metadata_, value);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  add_key(key, GgufType::kArray);
  append(metadata_, static_cast<uint32_t>(GgufType::kString));
  append<uint64_t>(metadata_, values.size());
  for (const std::string& value : values) append_string(metadata_, value);
}

void GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  add_key(key, GgufType::kArray);
  append(metadata_, static_cast<uint32_t>(GgufType::kInt32));
  append<uint64_t>(metadata_, values.size());
  for (int32_t value : values) append(metadata_, value);
}

void GgufWriter::add_tensor(const std::string& name, const at::Tensor& tensor) {
  CARAVAN_CHECK(tensor.scalar_type() == at::kFloat, "GGUF tensor '", name, "': float32 expected");
  CARAVAN_CHECK(!name.empty() && std::none_of(tensors_.begin(), tensors_.end(),
                                              [&](const auto& added) { return added.first == name; }),
                "GGUF tensor name empty or repeated: '", name, "'");
  tensors_.emplace_back(name, tensor.detach().to(at::kCPU).contiguous());
}

Status GgufWriter::write(const std::filesystem::path& file) const {
  std::string header;
  append(header, kGgufMagic);
  append(header, kGgufVersion);
  append<uint64_t>(header, tensors_.size());
  append<uint64_t>(header, metadata_count_);
  header += metadata_;
  uint64_t offset = 0;
  std::vector<uint64_t> paddings;  // zero bytes after each tensor's data
  for (const auto& [name, tensor] : tensors_) {
    append_string(header, name);
    append<uint32_t>(header, static_cast<uint32_t>(tensor.dim()));
    for (int64_t d = tensor.dim() - 1; d >= 0; --d) append<uint64_t>(header, static_cast<uint64_t>(tensor.size(d)));
    append(header, kGgmlTypeF32);
    append(header, offset);
    const uint64_t bytes = static_cast<uint64_t>(tensor.nbytes());
    paddings.push_back(padded(offset + bytes) - offset - bytes);
    offset = padded(offset + bytes);
  }
  header.resize(padded(header.size()), '\0');
  const std::string zeros(kGgufAlignment, '\0');
  std::vector<std::span<const std::byte>> chunks{core::as_bytes(header)};
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const at::Tensor& tensor = tensors_[i].second;
    chunks.emplace_back(static_cast<const std::byte*>(tensor.data_ptr()), tensor.nbytes());
    chunks.push_back(core::as_bytes(std::string_view(zeros).substr(0, paddings[i])));
  }
  return core::write_file_atomically(file, chunks);
}

} // namespace caravan::model
