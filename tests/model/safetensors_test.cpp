#include "model/safetensors.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/temp_dir.h"

namespace caravan::model {
namespace {

using caravan::testing::TempDir;

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A file with the given JSON header (unpadded) followed by `data`.
std::string make_file(const std::string& header, const std::string& data) {
  const uint64_t length = header.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &length, 8);
  return bytes + header + data;
}

// Bitwise equality, NaNs and signed zeros included.
bool same_bits(const at::Tensor& a, const at::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes() == b.sizes() &&
         std::memcmp(a.contiguous().data_ptr(), b.contiguous().data_ptr(), a.nbytes()) == 0;
}

void expect_error(const Result<NamedTensors>& result, StatusCode code, const std::vector<std::string>& needles) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status().to_string();
  for (const auto& needle : needles) {
    EXPECT_NE(result.status().message().find(needle), std::string::npos)
        << "'" << needle << "' not in: " << result.status().message();
  }
}

TEST(Safetensors, RoundTripIsBitIdenticalAndKeepsOrder) {
  TempDir dir;
  const auto path = dir.path() / "t.safetensors";
  const at::Tensor f32 = at::tensor({1.5f, -0.0f, std::numeric_limits<float>::infinity(),
                                     std::numeric_limits<float>::quiet_NaN(), 1e-40f, 3.25f})
                             .view({2, 3});
  const at::Tensor bf16 = at::randn({4, 5}).to(at::kBFloat16);
  const at::Tensor i64 = at::tensor({int64_t{1} << 62, int64_t{-7}, int64_t{0}}, at::kLong);
  const NamedTensors tensors = {{"z.f32", f32},
                                {"a.bf16", bf16},
                                {"m.i64", i64},
                                {"transposed", at::randn({3, 2}).t()},
                                {"scalar", at::tensor(4, at::kInt).reshape({})},
                                {"empty", at::zeros({0, 3}, at::kHalf)},
                                {"flags", at::tensor({1, 0, 1}).to(at::kBool)},
                                {"bytes", at::tensor({0, 255, 7}, at::kByte)}};
  ASSERT_TRUE(save_safetensors(path, tensors, {{"format", "pt"}}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "t.safetensors.tmp"));

  const Result<NamedTensors> loaded = load_safetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_EQ(loaded->size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ((*loaded)[i].first, tensors[i].first);
    EXPECT_TRUE(same_bits((*loaded)[i].second, tensors[i].second)) << tensors[i].first;
    EXPECT_TRUE((*loaded)[i].second.is_contiguous());
  }
}

TEST(Safetensors, WritesTheSpecifiedLayout) {
  TempDir dir;
  const auto path = dir.path() / "w.safetensors";
  ASSERT_TRUE(save_safetensors(path, {{"w", at::tensor({1.0f, 2.0f})}}, {{"format", "pt"}}).ok());
  const std::string bytes = read_bytes(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ((8 + header_length) % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + header_length + 8);
  const auto header = nlohmann::json::parse(bytes.substr(8, header_length));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["w"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(bytes.substr(8 + header_length), std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8));  // 1.0f, 2.0f
}

TEST(Safetensors, ReadsAHandWrittenFile) {
  TempDir dir;
  const auto path = dir.path() / "hand.safetensors";
  // Entries listed out of data order: loading returns file (offset) order.
  write_bytes(path, make_file(R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[2,6]},)"
                              R"("a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})",
                              std::string("\x80\x3f\x05\x00\x00\x00", 6)));
  const Result<NamedTensors> loaded = load_safetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].first, "a");
  EXPECT_EQ((*loaded)[0].second.scalar_type(), at::kBFloat16);
  EXPECT_EQ((*loaded)[0].second.to(at::kFloat).item<float>(), 1.0f);
  EXPECT_EQ((*loaded)[1].first, "b");
  EXPECT_EQ((*loaded)[1].second.item<int32_t>(), 5);
}

class MalformedSafetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(save_safetensors(path_, {{"first", at::ones({4})}, {"second.weight", at::ones({2, 2})}}, {}).ok());
    bytes_ = read_bytes(path_);
  }
  TempDir dir_;
  std::filesystem::path path_ = dir_.path() / "bad.safetensors";
  std::string bytes_;
};

TEST_F(MalformedSafetensors, TruncatedData) {
  write_bytes(path_, bytes_.substr(0, bytes_.size() - 4));
  expect_error(load_safetensors(path_), StatusCode::kInvalidArgument,
               {"bad.safetensors", "tensor 'second.weight'", "out of range"});
}

TEST_F(MalformedSafetensors, ShorterThanLengthPrefix) {
  write_bytes(path_, bytes_.substr(0, 5));
  expect_error(load_safetensors(path_), StatusCode::kDataLoss, {"bad.safetensors", "truncated"});
}

TEST_F(MalformedSafetensors, HeaderLengthLargerThanFile) {
  const uint64_t lie = bytes_.size();
  std::memcpy(bytes_.data(), &lie, 8);
  write_bytes(path_, bytes_);
  expect_error(load_safetensors(path_), StatusCode::kDataLoss, {"bad.safetensors", "header length"});
}

TEST_F(MalformedSafetensors, OffsetsOutOfRange) {
  write_bytes(path_, make_file(R"({"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}})", std::string(8, '\0')));
  expect_error(load_safetensors(path_), StatusCode::kInvalidArgument, {"bad.safetensors", "tensor 'w'", "out of range"});
}

TEST_F(MalformedSafetensors, OffsetsInconsistentWithShape) {
  write_bytes(path_, make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0')));
  expect_error(load_safetensors(path_), StatusCode::kInvalidArgument, {"bad.safetensors", "tensor 'w'", "needs 12"});
}

TEST_F(MalformedSafetensors, UnknownDtype) {
  write_bytes(path_, make_file(R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})", std::string(8, '\0')));
  expect_error(load_safetensors(path_), StatusCode::kInvalidArgument, {"bad.safetensors", "tensor 'w'", "F8_E9"});
}

TEST_F(MalformedSafetensors, InvalidJson) {
  write_bytes(path_, make_file(R"({"w":{"dtype":"F32",)", std::string(8, '\0')));
  expect_error(load_safetensors(path_), StatusCode::kInvalidArgument, {"bad.safetensors", "invalid JSON"});
}

TEST(Safetensors, LoadedTensorsDoNotReferToTheMappedFile) {
  TempDir dir;
  const auto path = dir.path() / "model.safetensors";
  const at::Tensor weight = at::arange(12, at::kFloat).reshape({3, 4});
  const at::Tensor empty = at::empty({0, 5}, at::kBFloat16);
  ASSERT_TRUE(save_safetensors(path, {{"w", weight}, {"empty", empty}}, {}).ok());
  const Result<NamedTensors> loaded = load_safetensors(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  // Overwrite, then delete, the file: the tensors own copies, not views of the old mapping.
  ASSERT_TRUE(save_safetensors(path, {{"w", at::zeros({3, 4})}}, {}).ok());
  std::filesystem::remove(path);
  ASSERT_EQ(loaded->size(), 2U);
  EXPECT_TRUE(same_bits((*loaded)[0].second, weight));
  EXPECT_TRUE(same_bits((*loaded)[1].second, empty));
}

TEST(Safetensors, EmptyFileOrDirectoryIsAnError) {
  TempDir dir;
  write_bytes(dir.path() / "empty.safetensors", "");
  const Status empty = load_safetensors(dir.path() / "empty.safetensors").status();
  EXPECT_EQ(empty.code(), StatusCode::kDataLoss);
  EXPECT_NE(empty.message().find("empty.safetensors: truncated"), std::string::npos) << empty.message();
  const Status directory = load_safetensors(dir.path()).status();
  EXPECT_EQ(directory.code(), StatusCode::kUnavailable);
  EXPECT_NE(directory.message().find(dir.path().string()), std::string::npos) << directory.message();
}

TEST(Safetensors, MissingFileIsNotFound) {
  TempDir dir;
  expect_error(load_safetensors(dir.path() / "nope.safetensors"), StatusCode::kNotFound, {"nope.safetensors"});
}

TEST(Safetensors, SaveRejectsUnsupportedDtypeAndDuplicateNames) {
  TempDir dir;
  const auto path = dir.path() / "x.safetensors";
  const Status complex = save_safetensors(path, {{"c", at::zeros({2}, at::kComplexFloat)}}, {});
  EXPECT_EQ(complex.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(complex.message().find("tensor 'c'"), std::string::npos) << complex.message();
  const Status duplicate = save_safetensors(path, {{"d", at::zeros({1})}, {"d", at::zeros({1})}}, {});
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path));
}

} // namespace
} // namespace caravan::model

namespace caravan::model {
namespace {

TEST(SafetensorsHeader, ListsEntriesInFileOrderWithoutReadingData) {
  TempDir dir;
  const auto path = dir.path() / "hand.safetensors";
  write_bytes(path, make_file(R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},)"
                              R"("a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},)"
                              R"("__metadata__":{"format":"pt"}})",
                              std::string(12, '\0')));
  const Result<std::vector<TensorInfo>> infos = read_safetensors_header(path);
  ASSERT_TRUE(infos.ok()) << infos.status().to_string();
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ((*infos)[0].name, "a");
  EXPECT_EQ((*infos)[0].dtype, "BF16");
  EXPECT_EQ((*infos)[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ((*infos)[0].numel(), 4);
  EXPECT_EQ((*infos)[0].element_bytes, 2);
  EXPECT_EQ((*infos)[0].data_begin, 0u);
  EXPECT_EQ((*infos)[0].data_end, 8u);
  EXPECT_EQ((*infos)[1].name, "b");
  EXPECT_EQ((*infos)[1].dtype, "I32");
  EXPECT_EQ((*infos)[1].numel(), 1);
}

TEST(SafetensorsHeader, MatchesASavedFile) {
  TempDir dir;
  const auto path = dir.path() / "saved.safetensors";
  ASSERT_TRUE(save_safetensors(path, {{"w", at::ones({3, 5})}, {"s", at::zeros({}, at::kDouble)}}, {}).ok());
  const Result<std::vector<TensorInfo>> infos = read_safetensors_header(path);
  ASSERT_TRUE(infos.ok()) << infos.status().to_string();
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_EQ((*infos)[0].name, "w");
  EXPECT_EQ((*infos)[0].numel(), 15);
  EXPECT_EQ((*infos)[1].name, "s");
  EXPECT_EQ((*infos)[1].dtype, "F64");
  EXPECT_EQ((*infos)[1].numel(), 1);
}

TEST(SafetensorsHeader, ErrorsNameTheFile) {
  TempDir dir;
  const auto missing = dir.path() / "nope.safetensors";
  Result<std::vector<TensorInfo>> result = read_safetensors_header(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find("nope.safetensors"), std::string::npos);

  const auto truncated = dir.path() / "short.safetensors";
  write_bytes(truncated, make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')));
  result = read_safetensors_header(truncated);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("short.safetensors"), std::string::npos) << result.status().message();
  EXPECT_NE(result.status().message().find("out of range"), std::string::npos) << result.status().message();

  const auto tiny = dir.path() / "tiny.safetensors";
  write_bytes(tiny, "abc");
  result = read_safetensors_header(tiny);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss);
}

} // namespace
} // namespace caravan::model
