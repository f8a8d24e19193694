// The sampling fields of RolloutRequest: validation naming each field, their mapping onto
// SamplingParams (one seed per sample), and what a Completion carries back
// (top logprobs, the stop-string finish reason).
#include <gtest/gtest.h>

#include "actors/rollout/rollout_batch.h"
#include "core/capnp_lists.h"
#include "tests/common/tiny_transformer.h"

namespace caravan::rollout {
namespace {

AcceptedRequest make_request(const std::function<void(proto::RolloutRequest::Builder)>& edit) {
  AcceptedRequest accepted{.envelope = std::make_unique<capnp::MallocMessageBuilder>(),
                           .arrived = std::chrono::steady_clock::now()};
  auto request = accepted.envelope->initRoot<proto::Envelope>().initRolloutRequest();
  request.setRequestId(4);
  request.setSeed(11);
  request.setSamplesPerPrompt(1);
  request.setMaxNewTokens(3);
  request.setTemperature(1.0f);
  auto prompts = request.initPrompts(1);
  prompts[0].setPromptId(40);
  core::copy_into(prompts[0].initTokens(2), std::vector<int32_t>{1, 2});
  edit(request);
  return accepted;
}

TEST(RolloutRequestTest, InvalidSamplingFieldsAreRejectedNamingTheField) {
  const core::TransformerConfig config = caravan::testing::tiny_transformer_config(/*vocab_size=*/40);
  const auto expect_invalid = [&](const std::function<void(proto::RolloutRequest::Builder)>& edit,
                                  const std::string& field) {
    const AcceptedRequest request = make_request(edit);
    const Status status = validate_rollout_request(request.request(), config);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(status.message().find("RolloutRequest." + field), std::string::npos) << status.message();
  };
  expect_invalid([](auto r) { r.setTemperature(-1.0f); }, "temperature");
  expect_invalid([](auto r) { r.setTopP(0.0f); }, "topP");
  expect_invalid([](auto r) { r.setMinP(1.0f); }, "minP");
  expect_invalid([](auto r) { r.setRepetitionPenalty(0.0f); }, "repetitionPenalty");
  expect_invalid([](auto r) { r.setPresencePenalty(2.5f); }, "presencePenalty");
  expect_invalid([](auto r) { r.setFrequencyPenalty(-3.0f); }, "frequencyPenalty");
  expect_invalid(
      [](auto r) {
        auto stops = r.initStopStrings(2);
        stops.set(0, "ok");
        stops.set(1, "");
      },
      "stopStrings[1]");
  expect_invalid([](auto r) { r.setTopLogprobs(21); }, "topLogprobs");
  EXPECT_TRUE(validate_rollout_request(make_request([](auto) {}).request(), config).ok());
}

TEST(RolloutRequestTest, EveryFieldReachesTheSamplingParams) {
  const AcceptedRequest request = make_request([](auto r) {
    r.setTopP(0.9f);
    r.setTopK(5);
    r.setMinP(0.25f);
    r.setRepetitionPenalty(1.5f);
    r.setPresencePenalty(0.5f);
    r.setFrequencyPenalty(-0.25f);
    auto stops = r.initStopStrings(1);
    stops.set(0, "</answer>");
    r.setTopLogprobs(3);
  });
  const SamplingParams params = request_sampling(request.request(), {7});
  EXPECT_EQ(params.temperature, 1.0);
  EXPECT_FLOAT_EQ(static_cast<float>(params.top_p), 0.9f);
  EXPECT_EQ(params.top_k, 5);
  EXPECT_EQ(params.min_p, 0.25);
  EXPECT_EQ(params.repetition_penalty, 1.5);
  EXPECT_EQ(params.presence_penalty, 0.5);
  EXPECT_EQ(params.frequency_penalty, -0.25);
  EXPECT_EQ(params.max_new_tokens, 3);
  EXPECT_EQ(params.stop_ids, std::vector<int32_t>{7});
  EXPECT_EQ(params.stop_strings, std::vector<std::string>{"</answer>"});
  EXPECT_EQ(params.top_logprobs, 3);
  EXPECT_EQ(params.seed, 11u);
  EXPECT_TRUE(params.validate().ok());
}

TEST(RolloutRequestTest, EachSampleGetsTheRequestSettingsWithItsOwnSeed) {
  const AcceptedRequest request = make_request([](auto r) { r.setTopK(3); });
  const SamplingParams first = sampling_params(request.request(), /*prompt=*/0, /*sample=*/0, {7});
  const SamplingParams second = sampling_params(request.request(), /*prompt=*/0, /*sample=*/1, {7});
  EXPECT_EQ(first.top_k, 3);
  EXPECT_EQ(first.seed, sampling_seed(11, 0, 0));
  EXPECT_EQ(second.seed, sampling_seed(11, 0, 1));
  SamplingParams same_but_seed = second;
  same_but_seed.seed = first.seed;
  EXPECT_EQ(same_but_seed, first);
}

TEST(RolloutRequestTest, TheCompletionCarriesTopLogprobsAndTheStopStringReason) {
  RolloutBatch batch;
  RolloutBatch::Added added = batch.add(make_request([](auto r) {
                                          r.setTopLogprobs(2);
                                          r.initStopStrings(1).set(0, "!");
                                        }),
                                        {7});
  ASSERT_EQ(added.prompts.size(), 1u);
  SequenceOutput sequence{.request_id = added.prompts[0].id,
                          .sample = 0,
                          .tokens = {3, 4},
                          .logprobs = {-0.5f, -0.25f},
                          .top_logprobs = {{{3, -0.5f}, {8, -1.5f}}, {{4, -0.25f}, {9, -2.0f}}},
                          .policy_versions = {5, 6},
                          .finish_reason = FinishReason::kStopString};
  RolloutBatch::Ended ended = batch.record(std::move(sequence));
  ASSERT_EQ(ended.completions.size(), 1u);
  const auto sample = ended.completions[0]->getRoot<proto::Envelope>().asReader().getCompletion().getSamples()[0];
  EXPECT_EQ(sample.getFinishReason(), proto::FinishReason::STOP_STRING);
  EXPECT_EQ(core::to_vector(sample.getTokenPolicyVersions()), (std::vector<uint64_t>{5, 6}));
  ASSERT_EQ(sample.getTopLogprobs().size(), 2u);
  EXPECT_EQ(core::to_vector(sample.getTopLogprobs()[1].getTokens()), (std::vector<int32_t>{4, 9}));
  EXPECT_EQ(core::to_vector(sample.getTopLogprobs()[1].getLogprobs()), (std::vector<float>{-0.25f, -2.0f}));
  // Without top logprobs the list stays empty.
  RolloutBatch plain_batch;
  RolloutBatch::Added plain = plain_batch.add(make_request([](auto) {}), {7});
  ended = plain_batch.record(SequenceOutput{.request_id = plain.prompts[0].id,
                                            .sample = 0,
                                            .tokens = {3},
                                            .logprobs = {-0.5f},
                                            .top_logprobs = {},
                                            .policy_versions = {1},
                                            .finish_reason = FinishReason::kStopToken});
  const auto plain_sample = ended.completions[0]->getRoot<proto::Envelope>().asReader().getCompletion().getSamples()[0];
  EXPECT_EQ(plain_sample.getFinishReason(), proto::FinishReason::STOP);
  EXPECT_EQ(plain_sample.getTopLogprobs().size(), 0u);
}

}  // namespace
} // namespace caravan::rollout
