// `tessera generate`: text generation with a decoder-only model (src/generate/).
//
// Output: without --json, tokens stream to stdout as they are chosen: text when the model has a
// tokenizer, else the generated ids separated by spaces, then a newline. With --json, one object at the
// end: {"tokens": [generated ids, prompt excluded, a final stop token included], "text": string, or null
// without a tokenizer, "stop_reason": "length" | "stop_token" | "stop_string", "prompt_tokens": n,
// "prefill_ms": x, "decode_ms_per_token": y}.
//
// --chat TEXT (with an optional --system TEXT) is one user turn through the model's chat template, with the
// generation prompt, encoded without adding special tokens (the template writes them), as transformers'
// apply_chat_template does; --show-chat-prompt prints that prompt text and stops.
// --op-times prints, after the result, rank 0's time per op type per step over the prompt and the tokens
// (under --tp the collectives' share, their waiting included) and every rank's time in nodes.
// --pp N under mpirun: pipeline stages (generate/pipeline_stage.h), each rank holding its layers and their
// cache; sequences go through the stages one at a time (the memory is split, not yet the time).
// --pp P --tp T under mpirun -np P*T: stage s on ranks s*T .. s*T+T-1, each stage split over its T ranks
// (generate/pipeline_stage.h: cuts between blocks only, rank t of a stage sending to rank t of the next).
// --tp N under mpirun (N ranks): tensor-parallel generation (generate/decoder_model.h). Every rank loads
// the model and keeps its slice of the weights and the KV cache of its heads; all ranks step in lockstep
// and every rank gets the whole logits (the vocabulary projection is gathered), so each samples the same
// token with the same seeded sampler: no token is sent between ranks. Rank 0 alone prints.
// Exit status 2 for a bad command line or a request the model cannot take (context length, ids outside
// the vocabulary); 1 when the model cannot be loaded or run.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/op_times.h"
#include "cli/rank_command.h"
#include "generate/chat_template/chat_template.h"
#include "generate/decoder_model.h"
#include "generate/generation.h"
#include "generate/text_codec.h"

namespace tessera::cli {

namespace {

using generate::TokenId;

constexpr const char* kGenerateUsage =
    "usage: tessera generate MODEL (--prompt TEXT | --prompt-ids 1,2,3 | --chat TEXT [--system TEXT]\n"
    "    [--show-chat-prompt]) [--max-new-tokens N] [--temperature T]\n"
    "    [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--stop TEXT ...] [--ignore-eos]\n"
    "    [--threads N] [--tp N] [--pp N] (under mpirun -np tp*pp) [--op-times]\n"
    "    [--json] [--warmup] [--shared-kv-buffer] [--decoder-form auto|optimum|genai]\n"
    "    [--input-ids-name N] [--attention-mask-name N]"
    " [--position-ids-name N] [--logits-name N] [--past-names T1,T2 --present-names T1,T2]";

StatusOr<float> GetFloat(const CommandLine& cl, const std::string& flag, float fallback) {
  if (!cl.Has(flag)) return fallback;
  const std::string v = cl.Get(flag);
  char* end = nullptr;
  errno = 0;
  const float f = std::strtof(v.c_str(), &end);
  if (v.empty() || end != v.c_str() + v.size() || errno != 0 || !std::isfinite(f)) {
    return InvalidArgument("--" + flag + " must be a number, got '" + v + "'");
  }
  return f;
}

StatusOr<std::vector<TokenId>> ParseIds(const std::string& text) {
  std::vector<TokenId> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty() || item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(item) > INT32_MAX) {
      return InvalidArgument("--prompt-ids must be comma-separated token ids (e.g. 1,2,3), got '" + text + "'");
    }
    ids.push_back(static_cast<TokenId>(std::stoll(item)));
  }
  if (ids.empty() || text.back() == ',') return InvalidArgument("--prompt-ids must list at least one id, got '" + text + "'");
  return ids;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

StatusOr<generate::DecoderOptions> ParseDecoderOptions(const CommandLine& cl) {
  generate::DecoderOptions o;
  TS_ASSIGN_OR_RETURN(int64_t threads, cl.GetInt("threads", 0, 1, 1024));
  o.threads = static_cast<int>(threads);
  const std::string form = cl.Get("decoder-form", "auto");
  if (form == "optimum") {
    o.form = generate::DecoderForm::kOptimum;
  } else if (form == "genai") {
    o.form = generate::DecoderForm::kGenAi;
  } else if (form != "auto") {
    return InvalidArgument("--decoder-form must be auto, optimum or genai, got '" + form + "'");
  }
  o.shared_kv_buffer = cl.Has("shared-kv-buffer");
  o.names.input_ids = cl.Get("input-ids-name");
  o.names.attention_mask = cl.Get("attention-mask-name");
  o.names.position_ids = cl.Get("position-ids-name");
  o.names.logits = cl.Get("logits-name");
  o.names.cache.past = SplitComma(cl.Get("past-names"));
  o.names.cache.present = SplitComma(cl.Get("present-names"));
  if (o.names.cache.past.size() != o.names.cache.present.size()) {
    return InvalidArgument("--past-names and --present-names must list as many templates (e.g. "
                           "past_key_values.%d.key,past_key_values.%d.value and present.%d.key,present.%d.value)");
  }
  return o;
}

StatusOr<generate::GenerationRequest> ParseRequest(const CommandLine& cl) {
  generate::GenerationRequest r;
  TS_ASSIGN_OR_RETURN(r.max_new_tokens, cl.GetInt("max-new-tokens", 64, 1, 1 << 24));
  TS_ASSIGN_OR_RETURN(r.sampling.temperature, GetFloat(cl, "temperature", 0.0f));
  TS_ASSIGN_OR_RETURN(int64_t top_k, cl.GetInt("top-k", 0, 0, INT32_MAX));
  r.sampling.top_k = static_cast<int32_t>(top_k);
  TS_ASSIGN_OR_RETURN(r.sampling.top_p, GetFloat(cl, "top-p", 1.0f));
  TS_ASSIGN_OR_RETURN(r.sampling.min_p, GetFloat(cl, "min-p", 0.0f));
  TS_ASSIGN_OR_RETURN(r.sampling.repetition_penalty, GetFloat(cl, "repetition-penalty", 1.0f));
  TS_ASSIGN_OR_RETURN(int64_t seed, cl.GetInt("seed", 0, 0, INT64_MAX));
  r.sampling.seed = static_cast<uint64_t>(seed);
  TS_RETURN_IF_ERROR(generate::ValidateSamplingOptions(r.sampling));
  r.stop_at_eos = !cl.Has("ignore-eos");
  r.stop_strings = cl.All("stop");
  if (cl.Has("prompt") + cl.Has("prompt-ids") + cl.Has("chat") != 1) {
    return InvalidArgument("give exactly one of --prompt, --prompt-ids and --chat");
  }
  if (!cl.Has("chat") && (cl.Has("system") || cl.Has("show-chat-prompt"))) {
    return InvalidArgument("--system and --show-chat-prompt go with --chat");
  }
  if (cl.Has("prompt-ids")) {
    TS_ASSIGN_OR_RETURN(r.prompt, ParseIds(cl.Get("prompt-ids")));
  }
  return r;
}

// The --chat prompt: [system,] user through the model's chat template, with the generation prompt.
StatusOr<std::string> ChatPromptText(const CommandLine& cl, const std::string& folder) {
  auto chat_template = generate::ChatTemplate::Load(folder);
  if (!chat_template.ok()) return chat_template.status().WithContext("--chat needs the model's chat template");
  generate::ChatInput input;
  if (cl.Has("system")) input.messages.push_back({{"role", "system"}, {"content", cl.Get("system")}});
  input.messages.push_back({{"role", "user"}, {"content", cl.Get("chat")}});
  return (*chat_template)->Render(input);
}

std::string ResultJson(const generate::GenerationResult& result, size_t prompt_tokens, bool has_codec) {
  nlohmann::json j;
  j["tokens"] = result.tokens;
  // dump() below replaces invalid UTF-8 rather than throwing: decoded text may end inside a character.
  j["text"] = has_codec ? nlohmann::json(result.text) : nlohmann::json(nullptr);
  j["stop_reason"] = generate::StopReasonName(result.stop_reason);
  j["prompt_tokens"] = prompt_tokens;
  j["prefill_ms"] = result.prefill_ms;
  j["decode_ms_per_token"] = result.decode_ms_per_token;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int GenerateCommand(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args,
                               {"prompt", "prompt-ids", "max-new-tokens", "temperature", "top-k", "top-p", "min-p",
                                "repetition-penalty", "seed", "threads", "stop", "decoder-form", "input-ids-name",
                                "attention-mask-name", "position-ids-name", "logits-name", "past-names",
                                "present-names", "chat", "system", "tp", "pp", "link-key"},
                               {"json", "ignore-eos", "shared-kv-buffer", "warmup", "show-chat-prompt", "op-times"});
  if (!cl.ok()) return Fail(cl.status(), kExitUsage);
  if (cl->positional().size() != 1) return Fail(InvalidArgument(kGenerateUsage), kExitUsage);
  auto options = ParseDecoderOptions(*cl);
  if (!options.ok()) return Fail(options.status(), kExitUsage);
  auto request = ParseRequest(*cl);
  if (!request.ok()) return Fail(request.status(), kExitUsage);

  std::optional<CommandWorld> world;
  // Ranks of the pp x tp grid: stage s holds ranks s*T .. s*T+T-1 (its tensor group); the ranks of equal
  // tensor rank t across the stages form a pipeline group, so stage boundaries connect matching ranks.
  std::unique_ptr<Communicator> tensor_group, pipeline_group;
  if (cl->Has("tp") || cl->Has("pp")) {
    int exit_code = kExitOk;
    world = CommandWorld::Open(exit_code, cl->Get("link-key"));
    if (!world) return exit_code;
    auto tp = cl->GetInt("tp", 1, 1, 4096);
    if (!tp.ok()) return world->FailOnce(tp.status(), kExitUsage);
    auto pp = cl->GetInt("pp", 1, 1, 4096);
    if (!pp.ok()) return world->FailOnce(pp.status(), kExitUsage);
    const int64_t ranks = *tp * *pp;
    if (ranks != world->comm().size()) {
      const std::string plan = (cl->Has("tp") ? "--tp " + std::to_string(*tp) : std::string()) +
                               (cl->Has("tp") && cl->Has("pp") ? " x " : "") +
                               (cl->Has("pp") ? "--pp " + std::to_string(*pp) : std::string());
      return world->FailOnce(InvalidArgument(plan + " needs " + std::to_string(ranks) + " ranks; this job has " +
                                             std::to_string(world->comm().size()) + " (mpirun -np " +
                                             std::to_string(ranks) + ")"),
                             kExitUsage);
    }
    if (*tp > 1 && *pp > 1) {
      const int rank = world->comm().rank(), t = static_cast<int>(*tp);
      auto tensor = world->comm().Split(rank / t, rank % t);
      if (!tensor.ok()) return world->FailOnce(tensor.status(), kExitFailure);
      auto pipe = world->comm().Split(rank % t, rank / t);
      if (!pipe.ok()) return world->FailOnce(pipe.status(), kExitFailure);
      tensor_group = std::move(tensor).value();
      pipeline_group = std::move(pipe).value();
      options->tensor_group = tensor_group.get();
      options->pipeline_group = pipeline_group.get();
    } else {
      (*tp > 1 ? options->tensor_group : options->pipeline_group) = &world->comm();
    }
  }
  // Under --tp every rank sees the same failures (same model, same flags): rank 0 reports them.
  const bool root = !world || world->root();
  auto fail = [&](const Status& s, int code = kExitFailure) { return root ? Fail(s, code) : code; };

  auto model = generate::DecoderModel::Load(cl->positional()[0], *options);
  // pp x tp: a stage's split can fail on its ranks alone (its own layers), so each failing rank says so.
  if (!model.ok()) return tensor_group ? Fail(model.status(), kExitFailure) : fail(model.status());
  std::string chat_prompt;
  if (cl->Has("chat")) {
    auto text = ChatPromptText(*cl, (*model)->files().folder);
    if (!text.ok()) return fail(text.status(), kExitUsage);
    if (cl->Has("show-chat-prompt")) {
      if (root) {
        std::fwrite(text->data(), 1, text->size(), stdout);
        std::printf("\n");
      }
      return kExitOk;
    }
    chat_prompt = std::move(*text);
  }
  std::unique_ptr<generate::TextCodec> codec;
  if (auto loaded = generate::LoadTextCodec((*model)->files().folder); loaded.ok()) {
    codec = std::move(loaded).value();
  } else if (cl->Has("prompt") || cl->Has("chat")) {
    return fail(loaded.status(), kExitUsage);
  }
  if (cl->Has("prompt") || cl->Has("chat")) {
    auto ids = cl->Has("chat") ? codec->EncodeWithoutSpecialTokens(chat_prompt) : codec->Encode(cl->Get("prompt"));
    if (!ids.ok()) return fail(ids.status());
    request->prompt = *ids;
  }
  if (Status s = generate::ValidateGenerationRequest(**model, *request, codec.get()); !s.ok()) {
    return fail(s, kExitUsage);
  }

  if (cl->Has("warmup")) {
    // Benchmarks compare steady-state steps: an untimed run of the same prompt for 2 tokens first sets
    // up what depends on the shapes (oneDNN primitives for this prompt length, scratch buffers), as a
    // server has done once a length has been seen.
    generate::GenerationRequest warmup = *request;
    warmup.max_new_tokens = 2;
    warmup.stop_at_eos = false;
    warmup.stop_strings.clear();
    auto warm = generate::Generate(**model, warmup, nullptr, [](TokenId, const std::string&) {});
    if (!warm.ok()) return fail(warm.status());
  }
  const bool json = cl->Has("json");
  bool first = true;
  auto stream = [&](TokenId token, const std::string& new_text) {
    if (json || !root) return;
    if (codec) {
      std::fwrite(new_text.data(), 1, new_text.size(), stdout);
    } else {
      std::printf(first ? "%d" : " %d", token);
    }
    first = false;
    std::fflush(stdout);
  };
  NodeProfiler profiler;
  std::optional<NodeProfiler::Scope> profiling;
  if (cl->Has("op-times")) profiling.emplace(profiler);
  const auto start = std::chrono::steady_clock::now();
  auto result = generate::Generate(**model, *request, codec.get(), stream);
  const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  profiling.reset();
  if (!result.ok()) {
    if (!json && !first) std::printf("\n");
    return fail(result.status());
  }
  std::vector<double> busy_ms;
  if (cl->Has("op-times") && world && world->comm().size() > 1) {
    auto gathered = GatherBusyTimes(world->comm(), profiler);
    if (!gathered.ok()) return fail(gathered.status());
    busy_ms = std::move(gathered).value();
  }
  if (!root) return kExitOk;
  if (json) {
    std::printf("%s\n", ResultJson(*result, request->prompt.size(), codec != nullptr).c_str());
  } else {
    std::printf("\n");
  }
  if (cl->Has("op-times")) {
    // Per model step: the prompt's step and one per later token (the collectives' waits included).
    std::fflush(stdout);
    PrintOpTimes(profiler, total_ms, result->tokens.size(),
                 "the prompt and " + std::to_string(result->tokens.size()) + " tokens (per step)", busy_ms);
  }
  return kExitOk;
}

}  // namespace tessera::cli
