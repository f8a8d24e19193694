#include "learner/learner_worker.h"

#include <chrono>
#include <optional>

#include "core/capnp_lists.h"
#include "core/log.h"
#include "learner/checkpoint.h"
#include "model/byte_tokenizer_files.h"

namespace caravan::learner {
namespace {

using Clock = std::chrono::steady_clock;

// SFT draws its problems from a stream of its own, so RL never starts on the same sequence.
constexpr uint64_t kSftStreamSalt = 0x5f7a11e5c0ffeeULL;

std::unique_ptr<capnp::MallocMessageBuilder> train_result(uint64_t request_id, uint64_t step, uint64_t version,
                                                          double loss, double kl, double clip_fraction,
                                                          double grad_norm, int64_t tokens, double seconds) {
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto result = reply->initRoot<proto::Envelope>().initTrainResult();
  result.setRequestId(request_id);
  result.setStep(step);
  result.setPolicyVersion(version);
  result.setLoss(loss);
  result.setKlMean(kl);
  result.setClipFraction(clip_fraction);
  result.setGradNorm(grad_norm);
  result.setTokens(static_cast<uint64_t>(tokens));
  result.setSeconds(seconds);
  return reply;
}

// `text` as the absolute path of an existing directory; kInvalidArgument naming `field` otherwise.
Result<std::filesystem::path> checkpoint_directory(const std::string& text, const char* field) {
  const std::filesystem::path dir(text);
  std::error_code error;
  if (!dir.is_absolute() || !std::filesystem::is_directory(dir, error)) {
    return Status::invalid_argument(str_cat(field, ": expected the absolute path of an existing directory, got \"",
                                            text, "\""));
  }
  return dir;
}

}  // namespace

LearnerWorker::LearnerWorker(LearnerOptions config, const model::ModelSpec& spec, model::Llama policy,
                             model::WeightTransport& transport, const core::ArithmeticTask* sft_task,
                             const core::RunDirectory& run_dir, std::stop_token stop, LearnerMetrics* metrics,
                             const LearnerRanks* ranks)
    : config_(std::move(config)), spec_(spec), policy_(std::move(policy)), transport_(transport), sft_task_(sft_task),
      run_dir_(run_dir), stop_(std::move(stop)), metrics_(metrics), ranks_(ranks) {}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::handle(const proto::Envelope::Reader& message) {
  if (message.isSftRequest()) return run_sft(message.getSftRequest());
  if (message.isTrainBatch()) return train(message.getTrainBatch());
  if (message.isSyncWeights()) return sync(message.getSyncWeights());
  if (message.isSaveCheckpoint()) return save(message.getSaveCheckpoint());
  if (message.isRestoreCheckpoint()) return restore(message.getRestoreCheckpoint());
  if (message.isExportModel()) return export_model(message.getExportModel());
  return Status::invalid_argument(str_cat("learner: unexpected message kind ", static_cast<int>(message.which())));
}

std::vector<SftExample> LearnerWorker::sft_batch() {
  std::vector<SftExample> batch;
  batch.reserve(static_cast<size_t>(config_.sft.batch_size));
  for (int64_t i = 0; i < config_.sft.batch_size; ++i) {
    const core::ArithmeticProblem problem = sft_task_->training_problem(config_.seed ^ kSftStreamSalt, sft_cursor_++);
    SftExample example;
    example.prompt = spec_.prompts->encode_text(problem.prompt());
    example.target = spec_.prompts->encode_answer(problem.answer());
    batch.push_back(std::move(example));
  }
  return batch;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::run_sft(const proto::SftRequest::Reader& request) {
  if (grpo_ != nullptr) return Status::failed_precondition("SftRequest after RL started");
  if (sft_task_ == nullptr && request.getSteps() > 0) {
    return Status::failed_precondition(str_cat("SftRequest for ", request.getSteps(), " steps, but [task] kind = \"",
                                               config_.task_kind, "\" has no reference completions to train on"));
  }
  const auto started = Clock::now();
  SftTrainer trainer(policy_, config_.sft, spec_.tokenizer->pad_id());
  SftStepStats stats;
  int64_t tokens = 0;
  const int64_t steps = request.getSteps();
  const int64_t report_every = std::max<int64_t>(1, steps / 10);
  for (int64_t step = 1; step <= steps; ++step) {
    if (stop_.stop_requested()) return Status::cancelled(str_cat("SFT stopped at step ", step - 1, " of ", steps));
    CARAVAN_ASSIGN_OR_RETURN(stats, trainer.step(sft_batch()));
    tokens += stats.tokens;
    if (step % report_every == 0 || step == steps) {
      log::info("event=sft_progress step=", step, "/", steps, " loss=", stats.loss, " lr=", stats.learning_rate);
    }
  }
  if (steps > 0) ++policy_version_;
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return train_result(request.getRequestId(), 0, policy_version_, stats.loss, 0, 0, stats.grad_norm, tokens, seconds);
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::train(const proto::TrainBatch::Reader& batch) {
  CARAVAN_RETURN_IF_ERROR(forward_to_ranks([&](proto::Envelope::Builder envelope) { envelope.setTrainBatch(batch); }));
  // The reference of the KL penalty is the policy as RL starts: the SFT result (rank 0's).
  if (grpo_ == nullptr) {
    if (ranks_ != nullptr) CARAVAN_RETURN_IF_ERROR(ranks_->data_parallel.copy_from_rank0(policy_->parameters()));
    CARAVAN_ASSIGN_OR_RETURN(grpo_, make_trainer());
  }
  std::vector<RolloutGroup> groups;
  groups.reserve(batch.getGroups().size());
  for (const auto group : batch.getGroups()) {
    RolloutGroup converted;
    converted.prompt_id = group.getPromptId();
    converted.prompt_tokens = core::to_vector(group.getPromptTokens());
    for (const auto sample : group.getSamples()) {
      RolloutSample member;
      member.tokens = core::to_vector(sample.getTokens());
      member.logprobs = core::to_vector(sample.getLogprobs());
      member.reward = sample.getReward();
      member.judged = !sample.getNoReward();
      member.policy_version = sample.getPolicyVersion();
      member.weight = sample.getWeight();
      converted.samples.push_back(std::move(member));
    }
    groups.push_back(std::move(converted));
  }
  std::vector<RolloutGroup> share;
  if (ranks_ != nullptr) {
    const auto [begin, end] = ranks_->data_parallel.share(groups.size());
    share.assign(groups.begin() + static_cast<ptrdiff_t>(begin), groups.begin() + static_cast<ptrdiff_t>(end));
  }
  CARAVAN_ASSIGN_OR_RETURN(GrpoStepStats stats, grpo_->step(ranks_ != nullptr ? share : groups, policy_version_));
  ++policy_version_;
  if (metrics_ != nullptr) metrics_->record_grpo_step(stats, groups, policy_version_);
  auto reply = train_result(batch.getRequestId(), batch.getStep(), policy_version_, stats.loss, stats.kl_mean,
                            stats.clip_fraction, stats.grad_norm, stats.tokens, stats.seconds);
  auto terms = reply->getRoot<proto::Envelope>().getTrainResult().initTerms(static_cast<unsigned>(stats.terms.size()));
  for (size_t i = 0; i < stats.terms.size(); ++i) {
    terms[static_cast<unsigned>(i)].setName(stats.terms[i].first);
    terms[static_cast<unsigned>(i)].setValue(stats.terms[i].second);
  }
  return reply;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::sync(const proto::SyncWeights::Reader& request) {
  if (request.getPolicyVersion() != policy_version_) {
    return Status::failed_precondition(str_cat("SyncWeights announces version ", request.getPolicyVersion(),
                                               " but the learner holds version ", policy_version_));
  }
  Result<model::WeightSyncStats> synced =
      transport_.synchronize(*policy_, policy_version_, model::weight_group_from_proto(request.getGroup()));
  if (metrics_ != nullptr) {
    if (synced.ok()) {
      metrics_->weight_sync().record(synced->bytes, synced->seconds);
    } else {
      metrics_->weight_sync().record_error();
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(model::WeightSyncStats stats, std::move(synced));
  log::debug("event=weights_sent policy_version=", stats.version, " bytes=", stats.bytes, " seconds=", stats.seconds);
  return model::weights_synced_reply(request.getRequestId(), stats);
}

Result<std::unique_ptr<GrpoTrainer>> LearnerWorker::make_trainer() {
  DataParallel* data_parallel = ranks_ != nullptr ? &ranks_->data_parallel : nullptr;
  CARAVAN_ASSIGN_OR_RETURN(std::unique_ptr<ValueTrainer> value_trainer,
                           make_value_trainer(config_.value_model, policy_, spec_.compute_dtype,
                                              {.max_grad_norm = config_.grpo.max_grad_norm,
                                               .aggregation = config_.grpo.loss.aggregation,
                                               .max_tokens = config_.rollout.max_new_tokens,
                                               .gradient_checkpointing = config_.grpo.gradient_checkpointing,
                                               .bf16_autocast = config_.grpo.bf16_autocast},
                                              data_parallel));
  return std::make_unique<GrpoTrainer>(policy_, config_.grpo, config_.rollout, spec_.tokenizer->pad_id(),
                                       std::move(value_trainer), data_parallel);
}

Status LearnerWorker::forward_to_ranks(const std::function<void(proto::Envelope::Builder)>& fill) {
  if (ranks_ == nullptr || !ranks_->forward) return {};
  capnp::MallocMessageBuilder forwarded;
  fill(forwarded.initRoot<proto::Envelope>());
  return ranks_->forward(forwarded);
}

int LearnerWorker::rank() const { return ranks_ != nullptr ? ranks_->data_parallel.rank() : 0; }

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::save(const proto::SaveCheckpoint::Reader& request) {
  const std::filesystem::path dir(request.getDirectory().cStr());
  // Rank 0 checks the directory before the other ranks join the save; they take its word.
  if (rank() == 0) CARAVAN_RETURN_IF_ERROR(checkpoint_directory(dir.string(), "SaveCheckpoint.directory").status());
  CARAVAN_RETURN_IF_ERROR(
      forward_to_ranks([&](proto::Envelope::Builder envelope) { envelope.setSaveCheckpoint(request); }));
  const CheckpointContents contents{.step = static_cast<int64_t>(request.getStep()),
                                    .policy_version = policy_version_,
                                    .sft_cursor = sft_cursor_,
                                    .rl_started = grpo_ != nullptr};
  std::optional<GatheredRanks> gathered;
  if (ranks_ != nullptr) {
    Result<std::optional<GatheredRanks>> sent = gather_ranks_state(ranks_->data_parallel, policy_, grpo_.get());
    CARAVAN_RETURN_IF_ERROR_CTX(sent.status(), str_cat("checkpoint step ", contents.step));
    gathered = std::move(*sent);
  }
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto saved = reply->initRoot<proto::Envelope>().initCheckpointSaved();
  saved.setRequestId(request.getRequestId());
  saved.setDirectory(dir.string());
  if (rank() != 0) return reply;  // rank 0 writes for every rank
  CARAVAN_RETURN_IF_ERROR_CTX(write_checkpoint(dir, contents, policy_, spec_.config, model::save_options(spec_),
                                               grpo_.get(), gathered ? &*gathered : nullptr),
                              str_cat("checkpoint step ", contents.step));
  log::info("event=checkpoint_part_written dir=", dir.string(), " step=", contents.step,
            " policy_version=", policy_version_);
  return reply;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::restore(
    const proto::RestoreCheckpoint::Reader& request) {
  const std::filesystem::path dir(request.getDirectory().cStr());
  if (rank() == 0) CARAVAN_RETURN_IF_ERROR(checkpoint_directory(dir.string(), "RestoreCheckpoint.directory").status());
  CARAVAN_RETURN_IF_ERROR(
      forward_to_ranks([&](proto::Envelope::Builder envelope) { envelope.setRestoreCheckpoint(request); }));
  Result<CheckpointContents> restored = read_checkpoint(dir, policy_, grpo_, [this] { return make_trainer(); }, rank());
  if (ranks_ != nullptr) {
    // Every rank reads alone; they go on only if all of them restored (a rank that failed logs why).
    std::vector<double> failed(static_cast<size_t>(ranks_->data_parallel.ranks()), 0.0);
    failed[static_cast<size_t>(rank())] = restored.ok() ? 0.0 : 1.0;
    const Result<std::vector<double>> failed_ranks = ranks_->data_parallel.sum(failed);
    CARAVAN_RETURN_IF_ERROR_CTX(failed_ranks.status(), "learner ranks: agreeing on the restore");
    if (restored.ok()) {
      for (size_t r = 0; r < failed_ranks->size(); ++r) {
        if ((*failed_ranks)[r] != 0) {
          return Status::failed_precondition(str_cat(dir.string(), ": learner rank ", r,
                                                     " could not restore the checkpoint (its log says why)"));
        }
      }
    }
  }
  CARAVAN_ASSIGN_OR_RETURN(const CheckpointContents contents, std::move(restored));
  policy_version_ = contents.policy_version;
  if (metrics_ != nullptr) metrics_->set_policy_version(policy_version_);
  sft_cursor_ = contents.sft_cursor;
  log::info("event=checkpoint_restored dir=", dir.string(), " step=", contents.step,
            " policy_version=", policy_version_, " rl_started=", contents.rl_started, " rank=", rank());
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto restored_reply = reply->initRoot<proto::Envelope>().initCheckpointRestored();
  restored_reply.setRequestId(request.getRequestId());
  restored_reply.setStep(static_cast<uint64_t>(contents.step));
  restored_reply.setPolicyVersion(policy_version_);
  return reply;
}

Result<std::unique_ptr<capnp::MallocMessageBuilder>> LearnerWorker::export_model(
    const proto::ExportModel::Reader& request) {
  const std::string name = request.getDirectory();
  if (name.empty() || std::filesystem::path(name).is_absolute() || name.find("..") != std::string::npos) {
    return Status::invalid_argument(str_cat("ExportModel.directory: expected a name inside the run directory, got \"",
                                            name, "\""));
  }
  const std::filesystem::path dir = run_dir_.root() / name;
  std::error_code error;
  if (std::filesystem::exists(dir, error)) return Status::failed_precondition(str_cat(dir.string(), ": already exists"));
  CARAVAN_RETURN_IF_ERROR(model::save_model(dir, policy_, spec_.config, model::save_options(spec_)));
  // An inline model's directory needs the byte tokenizer's files to load as a next run's [model] path.
  if (!spec_.pretrained()) CARAVAN_RETURN_IF_ERROR(model::write_byte_tokenizer_files(dir));
  auto reply = std::make_unique<capnp::MallocMessageBuilder>();
  auto saved = reply->initRoot<proto::Envelope>().initCheckpointSaved();
  saved.setRequestId(request.getRequestId());
  saved.setDirectory(dir.string());
  return reply;
}

} // namespace caravan::learner
