// File: core/reward_record.h
// The JSON layout of one sample's reward breakdown, as the run's sample files (samples/*.jsonl,
// field "reward") and `caravan reward-test --out` record it. It is made from the Reward message
// a verifier sends (proto/caravan.capnp): the controller only ever sees that message, and
// reward-test builds the same message with rewards::write_reward(), so both write one layout:
//
//   {"verifier": "math", "status": "ok", "detail": "", "raw_score": 1.0,
//    "steps": [{"name": "weight", "value": 0.5}, {"name": "format", "value": 1.0}],
//    "final_reward": 0.5, "trainable": true, "config_version": "0123456789ab"}
//
// "verifier" judged the sample; "raw_score" is its score; "steps" are the reward rules applied,
// in order (rewards/reward_composer.h); "final_reward" is what the learner trains on when
// "trainable"; "config_version" is empty without a reward config. Numbers are the message's
// float32 values written as the shortest decimal that reads back as the same float (0.1, not
// 0.10000000149011612).
#pragma once

#include <nlohmann/json.hpp>

#include "proto/caravan.capnp.h"

namespace caravan::core {

// "ok", "wrong", "timeout", "error" or "sandbox_violation".
const char* reward_status_name(proto::RewardStatus status);

// The layout above. Pure; thread-safe.
nlohmann::json reward_record(const proto::Reward::Reader& reward);

} // namespace caravan::core
