// File: model/safetensors.h
// Reader and writer of the safetensors format (https://github.com/huggingface/safetensors):
//   [8 bytes: header length N, little-endian u64]
//   [N bytes: JSON {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
//                   ..., "__metadata__": {"<key>": "<value>"}}, space-padded to 8-byte alignment]
//   [data: raw little-endian tensor bytes; offsets are relative to the start of this section]
// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
//
//   CARAVAN_RETURN_IF_ERROR(model::save_safetensors(dir / "model.safetensors",
//                                                   {{"w", weight}}, {{"format", "pt"}}));
//   CARAVAN_ASSIGN_OR_RETURN(auto tensors, model::load_safetensors(dir / "model.safetensors"));
//   CARAVAN_ASSIGN_OR_RETURN(auto infos, model::read_safetensors_header(dir / "model.safetensors"));
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/status.h"

namespace caravan::model {

// Named tensors in file order.
using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One tensor's header entry, without its data. A copyable value.
struct TensorInfo {
  std::string name;
  // The safetensors spelling: "F32", "BF16", ...
  std::string dtype;
  // The same as a LibTorch dtype.
  at::ScalarType type = at::kFloat;
  std::vector<int64_t> shape;
  // Bytes per element of dtype.
  int64_t element_bytes = 0;
  // Byte range [data_begin, data_end) within the data section.
  uint64_t data_begin = 0;
  uint64_t data_end = 0;

  // Number of elements (1 for a scalar).
  int64_t numel() const;
};

// Writes `tensors` (any device, any strides; copied to contiguous CPU) in the given order,
// with `metadata` as "__metadata__", atomically (see model/atomic_file.h).
// Errors: kInvalidArgument for an unsupported dtype, an empty, duplicate or "__metadata__"
// tensor name (naming the tensor); kUnavailable for I/O failures. Blocks on disk I/O.
Status save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                        const std::map<std::string, std::string>& metadata);

// Called with each tensor's name and a read-only, contiguous CPU view of its bytes inside the
// file's memory mapping. The view is valid only during the call: copy what you keep (copy_ into
// a parameter converts dtype and device on the way). Returning an error stops the walk.
using TensorVisitor = std::function<Status(const std::string& name, const at::Tensor& view)>;

// Memory-maps `path` (read-only, MAP_PRIVATE) and calls `visit` for every tensor in the order of
// their data offsets, with no intermediate copy: loading a checkpoint touches each byte once.
// Validation and errors are those of load_safetensors; an error from `visit` is returned with
// the file name prefixed. The file must not be truncated by another process during the call.
Status visit_safetensors(const std::filesystem::path& path, const TensorVisitor& visit);

// Reads every tensor of `path` into owned, contiguous CPU tensors, in the order of their data
// offsets. The file is memory-mapped (read-only, MAP_PRIVATE) for the duration of the call and
// each tensor is copied out of the mapping, so the result never refers to the file: it may be
// replaced or deleted afterwards. Every offset is validated against the file size first; the
// file must not be truncated by another process during the call (that would raise SIGBUS).
// Every message names the file, and the tensor where one is at fault.
// Errors: kNotFound (no such file); kDataLoss (file shorter than its 8-byte length prefix or
// than the header length it declares); kInvalidArgument (invalid JSON, a malformed entry,
// unknown dtype, data_offsets out of the data section or inconsistent with dtype x shape);
// kUnavailable (open, fstat or mmap failure, or not a regular file).
Result<NamedTensors> load_safetensors(const std::filesystem::path& path);

// Reads and validates only the length prefix and the JSON header of `path` (no tensor data is
// read), returning the entries in file order. Validation and errors are those of
// load_safetensors (offsets are checked against the file size); every message names the file.
Result<std::vector<TensorInfo>> read_safetensors_header(const std::filesystem::path& path);

} // namespace caravan::model
