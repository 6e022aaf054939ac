// GenerationModel: a decoder in the model repository, served for text generation (the OpenAI-compatible
// endpoints, http/openai_endpoints.h) through a SequenceScheduler, with its tokenizer and chat template
// (generate/chat_template/chat_template.h) when it has them.
//
// A version folder REPO/<name>/<n>/ is a decoder when exporter config files (config.json,
// generation_config.json or genai_config.json) lie beside its model.onnx; its calling convention is then
// detected by generate/ (model_files.h, decoder_signature.h) and a graph that does not fit is a load error
// naming what is missing. Such a model answers KServe inference requests with a 400 that points to
// /v1/completions.
//
// Metrics: Submit wraps the sink to record time to first token, inter-token latency, generated tokens and
// how sequences ended, into the model's ModelMetrics; the scheduler's gauges go there after every step.
//
// Thread safety: every method may be called from many threads. Destroying it ends open requests.
#pragma once

#include <memory>
#include <string>

#include "generate/chat_template/chat_template.h"
#include "generate/scheduler.h"
#include "generate/text_codec.h"
#include "serve/model_config.h"
#include "serve/server_metrics.h"

namespace tessera::serve {

// Whether `model_path`'s folder holds the config files an exporter writes beside a decoder.
bool IsDecoderFolder(const std::string& model_path);

class GenerationModel {
 public:
  // `model_path` is the version's model.onnx. With `parallel` asking for tp or pp, the decoder is the
  // one the server's MPI group loaded for it (distributed/mpi_serving.h), stepped across the group.
  static StatusOr<std::shared_ptr<GenerationModel>> Load(const std::string& name, const std::string& version,
                                                         const std::string& model_path,
                                                         const ParallelConfig& parallel, int threads,
                                                         const generate::SchedulerLimits& limits,
                                                         std::shared_ptr<ModelMetrics> metrics);
  // A model from parts already loaded (Load's last step; tests pass a fake codec). `codec` and
  // `chat_template` may be null, with the reason in `no_codec_reason` / `no_chat_template_reason`.
  struct Parts {
    std::unique_ptr<generate::DecoderModel> decoder;
    std::unique_ptr<generate::TextCodec> codec;
    std::string no_codec_reason;
    std::shared_ptr<const generate::ChatTemplate> chat_template;
    std::string no_chat_template_reason;
    std::unique_ptr<generate::StepDriver> driver;  // may be null (scheduler.h)
  };
  static std::shared_ptr<GenerationModel> Create(const std::string& name, const std::string& version, Parts parts,
                                                 const generate::SchedulerLimits& limits,
                                                 std::shared_ptr<ModelMetrics> metrics);

  // As SequenceScheduler::Submit.
  StatusOr<std::shared_ptr<generate::GenerationTicket>> Submit(generate::GenerationRequest request,
                                                               generate::GenerationSink sink);
  void Cancel(generate::GenerationTicket& ticket) { scheduler_->Cancel(ticket); }

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const generate::DecoderModel& decoder() const { return scheduler_->model(); }
  // Null when the model has no tokenizer (or none is built in): prompts must then be token ids.
  const generate::TextCodec* codec() const { return codec_.get(); }
  // Why there is no codec, for error messages; empty when there is one.
  const std::string& no_codec_reason() const { return no_codec_reason_; }
  // Null when the model's folder has no chat template, or one that does not parse.
  const generate::ChatTemplate* chat_template() const { return chat_template_.get(); }
  const std::string& no_chat_template_reason() const { return no_chat_template_reason_; }
  int64_t created_unix_seconds() const { return created_; }

 private:
  GenerationModel() = default;

  std::string name_, version_;
  std::unique_ptr<generate::TextCodec> codec_;  // declared before the scheduler, which uses it
  std::string no_codec_reason_;
  std::shared_ptr<const generate::ChatTemplate> chat_template_;
  std::string no_chat_template_reason_;
  std::shared_ptr<ModelMetrics> metrics_;
  int64_t created_ = 0;
  std::unique_ptr<generate::SequenceScheduler> scheduler_;
};

}  // namespace tessera::serve
