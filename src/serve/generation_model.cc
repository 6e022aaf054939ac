// GenerationModel (generation_model.h): loading a decoder for serving and timing its tokens.
#include "serve/generation_model.h"

#include <chrono>
#include <filesystem>
#include <optional>

#include "serve/distributed/mpi_serving.h"

namespace tessera::serve {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ModelMetrics::sequences_ended is indexed by StopReason.
static_assert(static_cast<int>(generate::StopReason::kCancelled) == 3);

bool IsDecoderFolder(const std::string& model_path) {
  const fs::path folder = fs::path(model_path).parent_path();
  std::error_code ec;
  for (const char* name : {"config.json", "generation_config.json", "genai_config.json"}) {
    if (fs::is_regular_file(folder / name, ec)) return true;
  }
  return false;
}

StatusOr<std::shared_ptr<GenerationModel>> GenerationModel::Load(const std::string& name, const std::string& version,
                                                                 const std::string& model_path,
                                                                 const ParallelConfig& parallel, int threads,
                                                                 const generate::SchedulerLimits& limits,
                                                                 std::shared_ptr<ModelMetrics> metrics) {
  const std::string label = "model '" + name + "' version " + version;
  generate::DecoderOptions options;
  options.threads = threads;
  // In-place KV caches (decoder_model.h) batch by pool slot: the pool holds as many sequences as step
  // together, so no running sequence is left to step apart.
  options.kv_cache_slots = std::max(1, limits.max_running);
  const std::string folder = fs::path(model_path).parent_path().string();
  Parts parts;
  if (parallel.distributed()) {
    auto distributed = TakeDistributedDecoder(model_path, parallel, name);
    if (!distributed.ok()) return distributed.status().WithContext(label);
    parts.decoder = std::move(distributed->decoder);
    parts.driver = std::move(distributed->driver);
  } else {
    auto decoder = generate::DecoderModel::Load(folder, options);
    if (!decoder.ok())
      return decoder.status().WithContext(label + " (a decoder: config files lie beside its graph)");
    parts.decoder = std::move(*decoder);
  }
  auto codec = generate::LoadTextCodec(folder);
  if (codec.ok()) {
    parts.codec = std::move(*codec);
  } else {
    parts.no_codec_reason = codec.status().message();
  }
  // A template that does not parse leaves the model serving /v1/completions; chat requests get the reason.
  auto chat_template = generate::ChatTemplate::Load(folder);
  if (chat_template.ok()) {
    parts.chat_template = std::move(*chat_template);
  } else {
    parts.no_chat_template_reason = chat_template.status().message();
  }
  return Create(name, version, std::move(parts), limits, std::move(metrics));
}

std::shared_ptr<GenerationModel> GenerationModel::Create(const std::string& name, const std::string& version,
                                                         Parts parts, const generate::SchedulerLimits& limits,
                                                         std::shared_ptr<ModelMetrics> metrics) {
  std::shared_ptr<GenerationModel> model(new GenerationModel());
  model->name_ = name;
  model->version_ = version;
  model->codec_ = std::move(parts.codec);
  model->no_codec_reason_ = std::move(parts.no_codec_reason);
  model->chat_template_ = std::move(parts.chat_template);
  model->no_chat_template_reason_ = std::move(parts.no_chat_template_reason);
  model->metrics_ = std::move(metrics);
  model->metrics_->generation.store(true);
  model->created_ =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  model->scheduler_ =
      std::make_unique<generate::SequenceScheduler>(std::move(parts.decoder), model->codec_.get(), limits,
                                                   std::move(parts.driver));
  ModelMetrics* m = model->metrics_.get();
  model->scheduler_->SetStatsListener([m](const generate::SchedulerStats& s) {
    m->running_sequences.store(s.running);
    m->waiting_sequences.store(s.waiting);
    m->kv_cache_bytes.store(s.cache_bytes);
  });
  return model;
}

StatusOr<std::shared_ptr<generate::GenerationTicket>> GenerationModel::Submit(generate::GenerationRequest request,
                                                                             generate::GenerationSink sink) {
  // The timing state lives with the sink, on the scheduler's thread only.
  struct Timing {
    Clock::time_point submitted = Clock::now();
    std::optional<Clock::time_point> last_token;
  };
  auto timing = std::make_shared<Timing>();
  std::shared_ptr<ModelMetrics> metrics = metrics_;
  generate::GenerationSink timed;
  timed.on_token = [timing, metrics, inner = std::move(sink.on_token)](generate::TokenId token,
                                                                       const std::string& text) {
    const Clock::time_point now = Clock::now();
    const Clock::time_point since = timing->last_token.value_or(timing->submitted);
    (timing->last_token ? metrics->inter_token_seconds : metrics->time_to_first_token_seconds)
        .Observe(std::chrono::duration<double>(now - since).count());
    timing->last_token = now;
    if (inner) inner(token, text);
  };
  timed.on_done = [timing, metrics, inner = std::move(sink.on_done)](StatusOr<generate::GenerationResult> result) {
    if (result.ok()) {
      metrics->generated_tokens.fetch_add(result->tokens.size());
      metrics->sequences_ended[static_cast<size_t>(result->stop_reason)].fetch_add(1);
      metrics->success.fetch_add(1);
    } else {
      metrics->failure.fetch_add(1);
    }
    metrics->request_seconds.Observe(std::chrono::duration<double>(Clock::now() - timing->submitted).count());
    if (inner) inner(std::move(result));
  };
  return scheduler_->Submit(std::move(request), std::move(timed));
}

}  // namespace tessera::serve
