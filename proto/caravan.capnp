# Every message that crosses a Caravan process boundary. Each ZeroMQ frame carries exactly one
# Envelope; the union names the message. Tensors (weights) never travel here: see weights_sync/.
@0xfbb8707fb6616568;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("caravan::proto");

enum Role {
  controller @0;
  rollout @1;
  verifier @2;
  learner @3;
}

# Worker -> controller after connecting, and again by a restarted worker: the controller then
# forgets what the previous process of that identity was doing (its work is re-queued) and tells
# the new one its part.
struct Hello {
  role @0 :Role;
  rank @1 :UInt32;
  pid @2 :UInt32;
  # The address other processes of the run reach this worker's machine at: CARAVAN_HOST of its
  # environment (cluster launchers set it per node), else [cluster] host.
  host @3 :Text;
  # The learner: the port of the weight-sync rendezvous store it serves (picked on its own
  # machine when [cluster] weights_sync_port is 0). 0 for the other roles.
  servicePort @4 :UInt32;
}

# Both directions, every [cluster] heartbeat_interval_s, also while work runs (work runs off
# the socket thread). A worker that misses [cluster] heartbeat_timeout_s of them is dead to the
# controller; a worker that hears nothing from its controller for as long exits by itself.
struct Heartbeat {
  role @0 :Role;
  rank @1 :UInt32;
  # Policy version the sender holds (rollout actors: the weights they decode with now).
  policyVersion @2 :UInt64;
  # Requests the sender has accepted and not yet answered (workers only).
  activeRequests @3 :List(UInt64);
}

# Controller -> worker: stop after the current message and exit 0.
struct Shutdown {
  reason @0 :Text;
}

struct Prompt {
  promptId @0 :UInt64;
  tokens @1 :List(Int32);
}

# Controller -> rollout actor: sample `samplesPerPrompt` completions for every prompt. The actor
# accepts requests while it generates and answers with one Completion per prompt (the prompt's
# whole group), each as soon as that group has finished, in any order.
struct RolloutRequest {
  requestId @0 :UInt64;
  prompts @1 :List(Prompt);
  samplesPerPrompt @2 :UInt32;
  maxNewTokens @3 :UInt32;
  # 0 means greedy decoding.
  temperature @4 :Float32;
  seed @5 :UInt64;
  # Nucleus sampling mass in (0, 1]; 1 samples from the whole distribution.
  topP @6 :Float32 = 1.0;
  # The sampling controls of actors/rollout/sampler.h, which states the order they apply in.
  # Keep the topK most likely tokens; 0 = off.
  topK @7 :UInt32 = 0;
  # Keep tokens with p >= minP * (largest p); [0, 1), 0 = off.
  minP @8 :Float32 = 0.0;
  # > 0, 1 = off: on tokens of the prompt and the completion, positive logits are divided by
  # it, negative ones multiplied (HF/CTRL).
  repetitionPenalty @9 :Float32 = 1.0;
  # [-2, 2], 0 = off (OpenAI/vLLM): subtracted from the logit of every token the completion
  # already contains / times its count there.
  presencePenalty @10 :Float32 = 0.0;
  frequencyPenalty @11 :Float32 = 0.0;
  # A completion ends with the token that completes one of these (matched on the decoded bytes,
  # across token boundaries); each non-empty.
  stopStrings @12 :List(Text);
  # [0, 20], 0 = off: also return the topLogprobs most likely tokens at each position.
  topLogprobs @13 :UInt32 = 0;
}

enum FinishReason {
  stop @0;        # the model emitted one of its stop ids (end of turn, eos)
  length @1;      # maxNewTokens reached (truncated)
  stopString @2;  # the completion's text reached one of the request's stopStrings
}

# The most likely tokens at one position and their logprobs (same distribution as
# Sample.logprobs), most likely first.
struct TopLogprobs {
  tokens @0 :List(Int32);
  logprobs @1 :List(Float32);
}

struct Sample {
  promptId @0 :UInt64;
  sampleIndex @1 :UInt32;
  tokens @2 :List(Int32);
  # Log-probability of each generated token under the sampling policy (same length as tokens).
  logprobs @3 :List(Float32);
  # Policy version of the weights that generated the first token: the oldest of the sample, the
  # one its staleness is measured by.
  policyVersion @4 :UInt64;
  finishReason @5 :FinishReason;
  # Policy version that generated each token (same length as tokens): new weights are
  # installed between decode steps, so a sample may span several versions.
  tokenPolicyVersions @6 :List(UInt64);
  # One entry per token when the request asked for topLogprobs; empty otherwise.
  topLogprobs @7 :List(TopLogprobs);
}

# Rollout actor -> controller: the finished group of one prompt of a RolloutRequest.
struct Completion {
  requestId @0 :UInt64;
  # The group's samples, sampleIndex 0 .. samplesPerPrompt - 1, all of one promptId.
  samples @1 :List(Sample);
  # From the request's arrival to this group's end.
  generationSeconds @2 :Float64;
}

struct RewardItem {
  promptId @0 :UInt64;
  sampleIndex @1 :UInt32;
  # Verifier name, e.g. "arithmetic".
  verifier @2 :Text;
  groundTruth @3 :Text;
  completion @4 :Text;
  # Dataset source the prompt came from ("gsm8k", "arithmetic", ...); selects the reward
  # composition rules of the verifier's reward config. Empty = the config's default source.
  source @5 :Text;
  # Number of generated tokens, the end-of-sequence token excluded (DAPO's overlong penalty
  # measures the answer, not its terminator).
  completionTokens @6 :UInt32;
  # The completion hit maxNewTokens without end-of-sequence.
  truncated @7 :Bool;
}

# Controller -> verifier.
struct RewardRequest {
  requestId @0 :UInt64;
  items @1 :List(RewardItem);
}

enum RewardStatus {
  ok @0;                # verified: the answer is correct
  wrong @1;             # verified: the answer is wrong or missing
  timeout @2;           # the check ran past its deadline; never scored as wrong
  error @3;             # the verifier could not judge (bad ground truth, internal error)
  sandboxViolation @4;  # the checked program broke the sandbox rules
}

# One rule of the reward config applied to a sample's score (format multiplier, overlong
# penalty, ...), as recorded in its breakdown.
struct RewardAdjustment {
  name @0 :Text;
  value @1 :Float32;
}

struct Reward {
  promptId @0 :UInt64;
  sampleIndex @1 :UInt32;
  # The composed reward the learner trains on.
  score @2 :Float32;
  status @3 :RewardStatus;
  detail @4 :Text;
  # Breakdown: the verifier that judged, its own score before composition, the rules applied
  # and the version of the reward config in force (empty when none is configured).
  verifier @5 :Text;
  rawScore @6 :Float32;
  adjustments @7 :List(RewardAdjustment);
  configVersion @8 :Text;
  # The learner trains on `score` (ok, wrong, and sandbox_violation at 0); false (timeout,
  # error) leaves the sample out of the update and of its group's baseline. Decided by the
  # verifier (rewards/reward_composer.h), so the policy lives in one place.
  trainable @9 :Bool;
}

# Verifier -> controller, reply to RewardRequest (items in request order).
struct RewardResult {
  requestId @0 :UInt64;
  rewards @1 :List(Reward);
}

struct TrainSample {
  tokens @0 :List(Int32);
  logprobs @1 :List(Float32);
  reward @2 :Float32;
  policyVersion @3 :UInt64;
  # The verifier could not judge this sample (timeout, error): it gets no gradient and does
  # not count in its group's baseline.
  noReward @4 :Bool;
  # Multiplies the sample's loss terms: 1, or less for a sample older than the pipeline's
  # max_staleness when [pipeline] stale_samples = "downweight".
  weight @5 :Float32 = 1.0;
}

struct TrainGroup {
  promptId @0 :UInt64;
  promptTokens @1 :List(Int32);
  samples @2 :List(TrainSample);
}

# Controller -> learner: one RL step over these groups.
struct TrainBatch {
  requestId @0 :UInt64;
  step @1 :UInt64;
  groups @2 :List(TrainGroup);
}

# Learner -> controller, reply to TrainBatch or SftRequest.
struct TrainResult {
  requestId @0 :UInt64;
  step @1 :UInt64;
  # Version of the weights after this update.
  policyVersion @2 :UInt64;
  loss @3 :Float64;
  klMean @4 :Float64;
  clipFraction @5 :Float64;
  gradNorm @6 :Float64;
  tokens @7 :UInt64;
  seconds @8 :Float64;
  # The loss terms and diagnostics the run's algorithm choices add (learner/grpo_trainer.h
  # GrpoStepStats::terms), in the learner's order; the controller logs and records them as given.
  terms @9 :List(NamedValue);
}

# One named number (a loss term or diagnostic).
struct NamedValue {
  name @0 :Text;
  value @1 :Float64;
}

# Controller -> learner: run the supervised warm-up stage.
struct SftRequest {
  requestId @0 :UInt64;
  steps @1 :UInt32;
}

# The weight-sync group a SyncWeights addresses. The controller forms a new generation whenever
# its members change (an actor restarted or lost); every member then joins the new group before
# the broadcast, and a newly joined actor receives the full weights.
struct WeightGroup {
  # Increases with every re-formation; members of an older generation never meet a newer one.
  generation @0 :UInt64;
  # The recipient's rank: 0 is the learner (the source), rollout actors follow.
  rank @1 :UInt32;
  worldSize @2 :UInt32;
  # Rendezvous of the group (a c10d TCPStore served by the learner), as the controller knows it.
  storeHost @3 :Text;
  storePort @4 :UInt32;
}

# Controller -> learner and every rollout actor: the weight version announcement. All of them
# enter the same broadcast; the learner (rank 0) sends `policyVersion`, the actors receive it.
# A rollout actor installs the weights between two decode steps of whatever it is generating.
struct SyncWeights {
  requestId @0 :UInt64;
  policyVersion @1 :UInt64;
  group @2 :WeightGroup;
}

# Reply to SyncWeights from each participant.
struct WeightsSynced {
  requestId @0 :UInt64;
  # The version the sender now holds (a receiver reports what it installed and verified).
  policyVersion @1 :UInt64;
  # Payload bytes moved (after delta coding) and what a full sync moves: bytes / fullBytes is
  # the delta ratio.
  bytes @2 :UInt64;
  seconds @3 :Float64;
  fullBytes @4 :UInt64;
  buckets @5 :UInt64;
  bucketSecondsMax @6 :Float64;
  # "full", "changed_tensors" or "xor_bf16".
  sentAs @7 :Text;
  # Failed syncs of this process so far.
  failures @8 :UInt64;
}

# Controller -> learner: write the learner's part of a checkpoint (policy, reference model,
# optimizer and schedule, RNG streams, policy version) into `directory`. The checkpoint becomes
# valid only when the controller commits it after every part is written.
struct SaveCheckpoint {
  requestId @0 :UInt64;
  step @1 :UInt64;
  # The checkpoint's directory for this role's part (absolute).
  directory @2 :Text;
}

# Controller -> learner on resume: load the learner's part written by SaveCheckpoint.
struct RestoreCheckpoint {
  requestId @0 :UInt64;
  directory @1 :Text;
}

# Learner -> controller, reply to RestoreCheckpoint.
struct CheckpointRestored {
  requestId @0 :UInt64;
  step @1 :UInt64;
  policyVersion @2 :UInt64;
}

# Controller -> learner: write the current policy as a Hugging Face model directory (config.json,
# safetensors, tokenizer files), atomically; the reply is CheckpointSaved.
struct ExportModel {
  requestId @0 :UInt64;
  # Relative to the run directory ("final_model").
  directory @1 :Text;
}

struct CheckpointSaved {
  requestId @0 :UInt64;
  directory @1 :Text;
}

# Any worker -> controller: a request failed. Errors of work that runs in the background carry
# the id of the request they belong to; 0 means the worker itself is broken.
struct ErrorReply {
  requestId @0 :UInt64;
  message @1 :Text;
  # 0: the request failed. > 0: the worker is overloaded, not broken (back-pressure); the
  # controller resends the same request after this many milliseconds.
  retryAfterMs @2 :UInt32;
}

struct Envelope {
  union {
    hello @0 :Hello;
    heartbeat @1 :Heartbeat;
    shutdown @2 :Shutdown;
    rolloutRequest @3 :RolloutRequest;
    completion @4 :Completion;
    rewardRequest @5 :RewardRequest;
    rewardResult @6 :RewardResult;
    trainBatch @7 :TrainBatch;
    trainResult @8 :TrainResult;
    sftRequest @9 :SftRequest;
    syncWeights @10 :SyncWeights;
    weightsSynced @11 :WeightsSynced;
    saveCheckpoint @12 :SaveCheckpoint;
    checkpointSaved @13 :CheckpointSaved;
    errorReply @14 :ErrorReply;
    exportModel @15 :ExportModel;
    restoreCheckpoint @16 :RestoreCheckpoint;
    checkpointRestored @17 :CheckpointRestored;
  }
}
