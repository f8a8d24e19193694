#include "weights_sync/bucket_pipeline.h"

#include <cstring>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "weights_sync/checksum64.h"
#include "weights_sync/sync_messages.h"
#include "weights_sync/weight_manifest.h"
#include "weights_sync/xor_delta.h"

namespace caravan::wsync {
namespace {

TEST(Checksum64, MatchesTheXxh64ReferenceValues) {
  EXPECT_EQ(checksum64("", 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(checksum64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(checksum64("abc", 3), 0x44BC2CF5AD770999ULL);
  const char* long_text = "Nobody inspects the spammish repetition";
  EXPECT_EQ(checksum64(long_text, std::strlen(long_text)), 0xFBCEA83C8A378BF1ULL);
  EXPECT_EQ(hex64(0xabcULL), "0x0000000000000abc");
}

// Mixed dtypes and odd sizes, cut into buckets of an odd size that split tensors, come back
// byte for byte, and every bucket's trailer verifies.
TEST(BucketPipeline, PackingRoundTripsMixedDtypesAndOddSizes) {
  const std::vector<at::Tensor> tensors = {at::randn({3, 7}),
                                           at::randn({5}).to(at::kBFloat16),
                                           at::randint(0, 100, {13}, at::kLong),
                                           at::randint(0, 100, {9}, at::kByte),
                                           at::zeros({0}),
                                           at::randn({2, 3}).to(at::kHalf).t(),
                                           at::randn({1}).to(at::kDouble)};
  std::vector<int64_t> sizes;
  for (const at::Tensor& t : tensors) sizes.push_back(static_cast<int64_t>(t.nbytes()));
  TensorPayload payload(sizes, [&](size_t i) { return tensors[i].contiguous(); });
  const BucketLayout layout{.payload_bytes = payload.total_bytes(), .bucket_bytes = 37};
  ASSERT_GT(layout.count(), 5);
  std::vector<uint8_t> received;
  BucketPipeline pipeline(layout, payload);
  int64_t index = 0;
  while (std::optional<std::span<uint8_t>> bucket = pipeline.next()) {
    ASSERT_EQ(static_cast<int64_t>(bucket->size()), layout.wire_size(index));
    EXPECT_TRUE(verify_bucket(index, bucket->data(), layout.payload_size(index)).ok());
    received.insert(received.end(), bucket->begin(), bucket->end() - BucketLayout::kTrailerBytes);
    ++index;
  }
  EXPECT_EQ(index, layout.count());
  ASSERT_EQ(static_cast<int64_t>(received.size()), layout.payload_bytes);
  int64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Tensor back = at::empty(tensors[i].sizes(), tensors[i].options());
    std::memcpy(back.data_ptr(), received.data() + offset, back.nbytes());
    offset += static_cast<int64_t>(back.nbytes());
    EXPECT_TRUE(at::equal(back, tensors[i].contiguous())) << "tensor " << i;
    EXPECT_EQ(payload.checksums()[i], checksum64(tensors[i].contiguous().data_ptr(), tensors[i].nbytes()));
  }
}

TEST(BucketPipeline, CorruptedTrailerNamesTheBucketAndBothChecksums) {
  std::vector<uint8_t> bucket(20 + BucketLayout::kTrailerBytes, 7);
  seal_bucket(bucket.data(), 20);
  ASSERT_TRUE(verify_bucket(3, bucket.data(), 20).ok());
  bucket[5] ^= 1;
  const Status status = verify_bucket(3, bucket.data(), 20);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_NE(status.message().find("bucket 3"), std::string::npos) << status.to_string();
  EXPECT_NE(status.message().find("sent 0x"), std::string::npos) << status.to_string();
}

TEST(WeightManifest, SortsByNameConvertsFloatsAndHashesTheLayout) {
  const NamedTensors tensors{{"b", at::ones({2, 3})}, {"a", at::ones({4}, at::kLong)}};
  auto manifest = WeightManifest::make(tensors, at::kBFloat16);
  ASSERT_TRUE(manifest.ok()) << manifest.status().to_string();
  EXPECT_EQ(manifest->name(0), "a");
  EXPECT_EQ(manifest->wire_dtype(0), at::kLong);
  EXPECT_EQ(manifest->wire_dtype(1), at::kBFloat16);
  EXPECT_EQ(manifest->total_wire_bytes(), 32 + 12);
  // Another order, same manifest; a renamed, reshaped or re-typed tensor, another one.
  const NamedTensors reordered{tensors[1], tensors[0]};
  EXPECT_EQ(WeightManifest::make(reordered, at::kBFloat16)->hash(), manifest->hash());
  EXPECT_NE(WeightManifest::make({{"c", at::ones({2, 3})}, tensors[1]}, at::kBFloat16)->hash(), manifest->hash());
  EXPECT_NE(WeightManifest::make({{"b", at::ones({3, 2})}, tensors[1]}, at::kBFloat16)->hash(), manifest->hash());
  EXPECT_NE(WeightManifest::make(tensors, at::kFloat)->hash(), manifest->hash());
  const Status duplicate = WeightManifest::make({tensors[0], tensors[0]}, at::kFloat).status();
  EXPECT_EQ(duplicate.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(duplicate.message().find("\"b\""), std::string::npos) << duplicate.to_string();
  EXPECT_EQ(floating_dtype_of({{"x", at::ones({1}, at::kLong)}}).value(), at::kFloat);
  EXPECT_EQ(floating_dtype_of({{"x", at::ones({1}, at::kHalf)}, {"y", at::ones({1}, at::kFloat)}}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(XorDelta, RoundTripsAndCompressesUnchangedWords) {
  at::Tensor base = at::randn({1001}).to(at::kBFloat16);
  at::Tensor current = base.clone();
  current.narrow(0, 100, 3).add_(1.0);
  current.narrow(0, 700, 1).add_(1.0);
  const auto* c = static_cast<const uint8_t*>(current.data_ptr());
  const auto* b = static_cast<const uint8_t*>(base.data_ptr());
  std::vector<uint8_t> delta;
  xor_delta_encode(c, b, current.nbytes(), delta);
  EXPECT_LT(delta.size(), 30U);  // 4 changed words of 1001
  at::Tensor out = at::empty_like(base);
  ASSERT_TRUE(xor_delta_decode(delta.data(), delta.size(), b, static_cast<uint8_t*>(out.data_ptr()), out.nbytes()).ok());
  EXPECT_TRUE(at::equal(out, current));
  // In place over the base, and an odd byte count.
  std::vector<uint8_t> odd_base{1, 2, 3, 4, 5}, odd_current{1, 2, 9, 4, 6}, odd_delta;
  xor_delta_encode(odd_current.data(), odd_base.data(), 5, odd_delta);
  ASSERT_TRUE(xor_delta_decode(odd_delta.data(), odd_delta.size(), odd_base.data(), odd_base.data(), 5).ok());
  EXPECT_EQ(odd_base, odd_current);
  // Truncated or padded deltas are data loss, never a silent partial result.
  EXPECT_EQ(xor_delta_decode(delta.data(), delta.size() - 1, b, static_cast<uint8_t*>(out.data_ptr()), out.nbytes()).code(),
            StatusCode::kDataLoss);
  delta.push_back(0);
  EXPECT_EQ(xor_delta_decode(delta.data(), delta.size(), b, static_cast<uint8_t*>(out.data_ptr()), out.nbytes()).code(),
            StatusCode::kDataLoss);
}

TEST(SyncMessages, HeaderRoundTripsAndTruncationIsDataLoss) {
  SyncHeader header;
  header.version = 9;
  header.manifest_hash = 0x1234;
  header.mode = DeltaMode::kXorBf16;
  header.payload_bytes = 77;
  header.bucket_bytes = 4096;
  header.tensors = {1, 4};
  header.encoded_bytes = {30, 47};
  const std::string bytes = encode(header);
  auto back = decode_header(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->version, 9U);
  EXPECT_EQ(back->mode, DeltaMode::kXorBf16);
  EXPECT_EQ(back->tensors, header.tensors);
  EXPECT_EQ(back->encoded_bytes, header.encoded_bytes);
  EXPECT_EQ(decode_header(bytes.substr(0, 20)).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(parse_delta_mode("changed_tensors").value(), DeltaMode::kChangedTensors);
  const Status bad = parse_delta_mode("zstd").status();
  EXPECT_NE(bad.message().find("[weights_sync] delta"), std::string::npos) << bad.to_string();
}

} // namespace
} // namespace caravan::wsync
