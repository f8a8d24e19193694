#include "model/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"

namespace caravan::model {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

using Json = nlohmann::ordered_json;

constexpr size_t kLengthPrefixBytes = 8;
// The reference implementation refuses larger headers too.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

struct DtypeName {
  std::string_view name;
  at::ScalarType type;
};
constexpr std::array<DtypeName, 10> kDtypes = {{
    {"F64", at::kDouble},
    {"F32", at::kFloat},
    {"F16", at::kHalf},
    {"BF16", at::kBFloat16},
    {"I64", at::kLong},
    {"I32", at::kInt},
    {"I16", at::kShort},
    {"I8", at::kChar},
    {"U8", at::kByte},
    {"BOOL", at::kBool},
}};

std::optional<at::ScalarType> dtype_from_name(std::string_view name) {
  for (const auto& dtype : kDtypes) {
    if (dtype.name == name) return dtype.type;
  }
  return std::nullopt;
}

std::optional<std::string_view> dtype_name(at::ScalarType type) {
  for (const auto& dtype : kDtypes) {
    if (dtype.type == type) return dtype.name;
  }
  return std::nullopt;
}

// One parsed header entry.
struct Entry {
  std::string name;
  at::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

// Parses and validates one header entry against a data section of `data_bytes` bytes.
// Messages name the tensor; the caller adds the file.
Result<Entry> parse_entry(const std::string& name, const Json& value, uint64_t data_bytes) {
  const std::string where = str_cat("tensor '", name, "'");
  if (!value.is_object()) return Status::invalid_argument(str_cat(where, ": entry is not a JSON object"));
  const auto dtype = value.find("dtype");
  const auto shape = value.find("shape");
  const auto offsets = value.find("data_offsets");
  if (dtype == value.end() || !dtype->is_string()) {
    return Status::invalid_argument(str_cat(where, ": missing string \"dtype\""));
  }
  if (shape == value.end() || !shape->is_array()) {
    return Status::invalid_argument(str_cat(where, ": missing array \"shape\""));
  }
  if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    return Status::invalid_argument(str_cat(where, ": \"data_offsets\" must be [begin, end] unsigned integers"));
  }
  const auto type = dtype_from_name(dtype->get<std::string>());
  if (!type) return Status::invalid_argument(str_cat(where, ": unknown dtype \"", dtype->get<std::string>(), "\""));

  Entry entry{.name = name, .type = *type, .shape = {}, .begin = (*offsets)[0].get<uint64_t>(), .end = (*offsets)[1].get<uint64_t>()};
  uint64_t bytes = at::elementSize(*type);
  for (const Json& dim : *shape) {
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Status::invalid_argument(str_cat(where, ": shape ", shape->dump(), " has a non-integer or negative dim"));
    }
    const uint64_t size = dim.get<uint64_t>();
    if (__builtin_mul_overflow(bytes, size, &bytes)) {
      return Status::invalid_argument(str_cat(where, ": shape ", shape->dump(), " overflows"));
    }
    entry.shape.push_back(static_cast<int64_t>(size));
  }
  if (entry.begin > entry.end || entry.end > data_bytes) {
    return Status::invalid_argument(str_cat(where, ": data_offsets [", entry.begin, ", ", entry.end,
                                            "] out of range of the ", data_bytes,
                                            "-byte data section (truncated file?)"));
  }
  if (entry.end - entry.begin != bytes) {
    return Status::invalid_argument(str_cat(where, ": data_offsets [", entry.begin, ", ", entry.end, "] span ",
                                            entry.end - entry.begin, " bytes but ", dtype->get<std::string>(), " ",
                                            shape->dump(), " needs ", bytes));
  }
  return entry;
}

// Parses the JSON header; entries come back sorted by data offset (file order).
Result<std::vector<Entry>> parse_header(const std::string& text, uint64_t data_bytes) {
  Json header;
  try {
    header = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Status::invalid_argument(str_cat("invalid JSON header: ", e.what()));
  }
  if (!header.is_object()) return Status::invalid_argument("header is not a JSON object");
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      const bool strings_only = value.is_object() && std::all_of(value.begin(), value.end(),
                                                                 [](const Json& v) { return v.is_string(); });
      if (!strings_only) return Status::invalid_argument("\"__metadata__\" must map strings to strings");
      continue;
    }
    CARAVAN_ASSIGN_OR_RETURN(Entry entry, parse_entry(name, value, data_bytes));
    entries.push_back(std::move(entry));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
  return entries;
}

// A read-only, private mapping of a whole file; unmapped (and the descriptor closed) on
// destruction. Non-copyable, non-movable: it lives on the stack of visit_file only.
class FileMapping {
 public:
  FileMapping() = default;
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;
  ~FileMapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
  }

  // kNotFound (no such file), kUnavailable (open, fstat or mmap failure). An empty file maps
  // to an empty span.
  Status open(const std::filesystem::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      const int code = errno;
      const std::string message = str_cat("cannot open for reading: ", std::strerror(code));
      return code == ENOENT ? Status::not_found(message) : Status::unavailable(message);
    }
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return Status::unavailable(str_cat("fstat: ", std::strerror(errno)));
    if (!S_ISREG(info.st_mode)) return Status::unavailable("not a regular file");
    size_ = static_cast<size_t>(info.st_size);
    if (size_ == 0) return Status::ok_status();
    void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (data == MAP_FAILED) return Status::unavailable(str_cat("mmap: ", std::strerror(errno)));
    data_ = data;
    return Status::ok_status();
  }

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), data_ ? size_ : 0}; }

 private:
  int fd_ = -1;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Maps `path` and calls `visit` with a view of every tensor inside the mapping; the mapping is
// gone on return.
Status visit_file(const std::filesystem::path& path, const TensorVisitor& visit) {
  FileMapping mapping;
  CARAVAN_RETURN_IF_ERROR(mapping.open(path));
  const std::span<const std::byte> file = mapping.bytes();
  const uint64_t file_bytes = file.size();
  if (file_bytes < kLengthPrefixBytes) {
    return Status::data_loss(str_cat("truncated: ", file_bytes, " bytes, shorter than the 8-byte header length"));
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, file.data(), sizeof(header_bytes));
  if (header_bytes > kMaxHeaderBytes || header_bytes > file_bytes - kLengthPrefixBytes) {
    return Status::data_loss(str_cat("header length ", header_bytes, " exceeds the ",
                                     file_bytes - kLengthPrefixBytes, " bytes after the length prefix (truncated?)"));
  }
  const std::string header_text(reinterpret_cast<const char*>(file.data()) + kLengthPrefixBytes, header_bytes);
  const uint64_t data_start = kLengthPrefixBytes + header_bytes;
  // parse_entry checks every [begin, end) against this size, so the views below stay in bounds.
  CARAVAN_ASSIGN_OR_RETURN(std::vector<Entry> entries, parse_header(header_text, file_bytes - data_start));
  for (const Entry& entry : entries) {
    const at::TensorOptions options = at::TensorOptions().dtype(entry.type);
    // The mapping is read-only; visitors only read the view (documented in the header).
    void* data = const_cast<std::byte*>(file.data() + data_start + entry.begin);
    const at::Tensor view = entry.end > entry.begin ? at::from_blob(data, entry.shape, options) : at::empty(entry.shape, options);
    CARAVAN_RETURN_IF_ERROR(visit(entry.name, view));
  }
  return Status::ok_status();
}

} // namespace

Status save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::vector<at::Tensor> contiguous;
  contiguous.reserve(tensors.size());
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const std::string where = str_cat(path.string(), ": tensor '", name, "'");
    if (name.empty() || name == kMetadataKey || !names.insert(name).second) {
      return Status::invalid_argument(str_cat(where, ": empty, reserved or duplicate name"));
    }
    const auto dtype = dtype_name(tensor.scalar_type());
    if (!dtype) return Status::invalid_argument(str_cat(where, ": unsupported dtype ", tensor.scalar_type()));
    contiguous.push_back(tensor.detach().to(at::kCPU).contiguous());
    const uint64_t end = offset + contiguous.back().nbytes();
    header[name] = {{"dtype", *dtype}, {"shape", tensor.sizes().vec()}, {"data_offsets", {offset, end}}};
    offset = end;
  }

  std::string header_text = header.dump();
  header_text.append((kLengthPrefixBytes - header_text.size() % kLengthPrefixBytes) % kLengthPrefixBytes, ' ');
  const uint64_t header_bytes = header_text.size();
  std::array<std::byte, kLengthPrefixBytes> prefix{};
  std::memcpy(prefix.data(), &header_bytes, sizeof(header_bytes));

  std::vector<std::span<const std::byte>> chunks = {prefix, core::as_bytes(header_text)};
  for (const at::Tensor& tensor : contiguous) {
    chunks.emplace_back(static_cast<const std::byte*>(tensor.data_ptr()), tensor.nbytes());
  }
  return core::write_file_atomically(path, chunks);
}

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (const int64_t dim : shape) count *= dim;
  return count;
}

Result<std::vector<TensorInfo>> read_safetensors_header(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found(str_cat(path.string(), ": cannot open for reading"));
  std::error_code error;
  const uint64_t file_bytes = std::filesystem::file_size(path, error);
  if (error) return Status::unavailable(str_cat(path.string(), ": file size: ", error.message()));
  uint64_t header_bytes = 0;
  if (file_bytes < kLengthPrefixBytes || !file.read(reinterpret_cast<char*>(&header_bytes), sizeof(header_bytes))) {
    return Status::data_loss(str_cat(path.string(), ": truncated: ", file_bytes,
                                     " bytes, shorter than the 8-byte header length"));
  }
  if (header_bytes > kMaxHeaderBytes || header_bytes > file_bytes - kLengthPrefixBytes) {
    return Status::data_loss(str_cat(path.string(), ": header length ", header_bytes, " exceeds the ",
                                     file_bytes - kLengthPrefixBytes, " bytes after the length prefix (truncated?)"));
  }
  std::string header_text(header_bytes, '\0');
  if (!file.read(header_text.data(), static_cast<std::streamsize>(header_bytes))) {
    return Status::unavailable(str_cat(path.string(), ": cannot read the header"));
  }
  Result<std::vector<Entry>> entries =
      parse_header(header_text, file_bytes - kLengthPrefixBytes - header_bytes);
  if (!entries.ok()) return entries.status().with_context(path.string());
  std::vector<TensorInfo> infos;
  infos.reserve(entries->size());
  for (const Entry& entry : *entries) {
    infos.push_back({.name = entry.name,
                     .dtype = std::string(*dtype_name(entry.type)),
                     .type = entry.type,
                     .shape = entry.shape,
                     .element_bytes = static_cast<int64_t>(at::elementSize(entry.type)),
                     .data_begin = entry.begin,
                     .data_end = entry.end});
  }
  return infos;
}

Status visit_safetensors(const std::filesystem::path& path, const TensorVisitor& visit) {
  const Status status = visit_file(path, visit);
  if (!status.ok()) return status.with_context(path.string());
  return status;
}

Result<NamedTensors> load_safetensors(const std::filesystem::path& path) {
  NamedTensors tensors;
  CARAVAN_RETURN_IF_ERROR(visit_safetensors(path, [&](const std::string& name, const at::Tensor& view) {
    tensors.emplace_back(name, view.clone());
    return Status::ok_status();
  }));
  return tensors;
}

} // namespace caravan::model
