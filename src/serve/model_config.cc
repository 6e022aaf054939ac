// config.json parsing and its reconciliation with the model's declared signature.
#include "serve/model_config.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

namespace tessera::serve {

namespace {

using nlohmann::json;

// Largest values accepted: far above any real use, low enough that arithmetic on them cannot overflow.
constexpr int64_t kMaxBatchSizeLimit = 1 << 20;
constexpr int64_t kMaxQueueDelayUs = 60'000'000;  // one minute
constexpr int64_t kMaxInstances = 256;
constexpr int64_t kMaxThreads = 4096;
constexpr int64_t kMaxVersion = 999'999'999'999'999'999;  // 18 digits, as the repository reads them

class ConfigReader {
 public:
  explicit ConfigReader(const std::string& model_name) : model_name_(model_name) {}

  Status Error(const std::string& field, const std::string& what) const {
    return InvalidArgument("model '" + model_name_ + "': config.json: " + (field.empty() ? "" : "'" + field + "' ") +
                           what);
  }

  // Only the listed keys may appear in `object`.
  Status CheckKeys(const json& object, const std::string& where, std::initializer_list<const char*> allowed) const {
    if (!object.is_object()) return Error(where, "must be an object");
    for (const auto& item : object.items()) {
      const std::string& key = item.key();
      bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        std::string expected = list.empty() ? "no fields are allowed here" : "expected one of " + list;
        return Error(where.empty() ? key : where + "." + key, "is not a known field (" + expected + ")");
      }
    }
    return Status::Ok();
  }

  StatusOr<int64_t> Integer(const json& value, const std::string& field, int64_t min, int64_t max) const {
    if (!value.is_number_integer()) return Error(field, "must be an integer");
    // Unsigned values above int64's range read as negative through get<int64_t>(): check them first.
    if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max)) {
      return Error(field, "must be at most " + std::to_string(max));
    }
    int64_t v = value.get<int64_t>();
    if (v < min || v > max) {
      return Error(field, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                              std::to_string(v));
    }
    return v;
  }

 private:
  std::string model_name_;
};

StatusOr<DynamicBatchingConfig> ParseDynamicBatching(const json& j, const ConfigReader& r) {
  TS_RETURN_IF_ERROR(r.CheckKeys(j, "dynamic_batching", {"preferred_batch_size", "max_queue_delay_microseconds"}));
  DynamicBatchingConfig d;
  if (j.contains("preferred_batch_size")) {
    const json& sizes = j["preferred_batch_size"];
    if (!sizes.is_array()) return r.Error("dynamic_batching.preferred_batch_size", "must be an array of integers");
    for (const json& s : sizes) {
      TS_ASSIGN_OR_RETURN(int64_t v, r.Integer(s, "dynamic_batching.preferred_batch_size", 1, kMaxBatchSizeLimit));
      d.preferred_batch_sizes.push_back(v);
    }
    std::sort(d.preferred_batch_sizes.begin(), d.preferred_batch_sizes.end());
    d.preferred_batch_sizes.erase(std::unique(d.preferred_batch_sizes.begin(), d.preferred_batch_sizes.end()),
                                  d.preferred_batch_sizes.end());
  }
  if (j.contains("max_queue_delay_microseconds")) {
    TS_ASSIGN_OR_RETURN(d.max_queue_delay_us,
                        r.Integer(j["max_queue_delay_microseconds"], "dynamic_batching.max_queue_delay_microseconds", 0,
                                  kMaxQueueDelayUs));
  }
  return d;
}

StatusOr<VersionPolicy> ParseVersionPolicy(const json& j, const ConfigReader& r) {
  TS_RETURN_IF_ERROR(r.CheckKeys(j, "version_policy", {"latest", "all", "specific"}));
  if (j.size() != 1) return r.Error("version_policy", "must hold exactly one of latest, all, specific");
  VersionPolicy p;
  if (j.contains("latest")) {
    TS_RETURN_IF_ERROR(r.CheckKeys(j["latest"], "version_policy.latest", {"num_versions"}));
    p.kind = VersionPolicy::Kind::kLatest;
    if (j["latest"].contains("num_versions")) {
      TS_ASSIGN_OR_RETURN(p.num_versions,
                          r.Integer(j["latest"]["num_versions"], "version_policy.latest.num_versions", 1, 1024));
    }
  } else if (j.contains("all")) {
    TS_RETURN_IF_ERROR(r.CheckKeys(j["all"], "version_policy.all", {}));
    p.kind = VersionPolicy::Kind::kAll;
  } else {
    const json& s = j["specific"];
    TS_RETURN_IF_ERROR(r.CheckKeys(s, "version_policy.specific", {"versions"}));
    p.kind = VersionPolicy::Kind::kSpecific;
    if (!s.contains("versions") || !s["versions"].is_array() || s["versions"].empty()) {
      return r.Error("version_policy.specific.versions", "must be a non-empty array of version numbers");
    }
    for (const json& v : s["versions"]) {
      TS_ASSIGN_OR_RETURN(int64_t n, r.Integer(v, "version_policy.specific.versions", 0, kMaxVersion));
      p.versions.push_back(n);
    }
    std::sort(p.versions.begin(), p.versions.end());
    p.versions.erase(std::unique(p.versions.begin(), p.versions.end()), p.versions.end());
  }
  return p;
}

StatusOr<ParallelConfig> ParseParallel(const json& j, const ConfigReader& r) {
  TS_RETURN_IF_ERROR(r.CheckKeys(j, "parallel", {"dp", "pp", "tp"}));
  ParallelConfig p;
  for (auto [key, field] : {std::pair{"dp", &p.dp}, std::pair{"pp", &p.pp}, std::pair{"tp", &p.tp}}) {
    if (!j.contains(key)) continue;
    TS_ASSIGN_OR_RETURN(int64_t v, r.Integer(j[key], std::string("parallel.") + key, 1, 1024));
    *field = static_cast<int>(v);
  }
  return p;
}

}  // namespace

StatusOr<ModelConfig> ParseModelConfig(const std::string& json_text, const std::string& model_name) {
  ConfigReader r(model_name);
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    return r.Error("", std::string("is not valid JSON: ") + e.what());
  }
  TS_RETURN_IF_ERROR(r.CheckKeys(j, "",
                                 {"max_batch_size", "dynamic_batching", "instance_count", "threads", "max_queue_size",
                                  "version_policy", "parallel"}));
  ModelConfig c;
  if (j.contains("max_batch_size")) {
    TS_ASSIGN_OR_RETURN(c.max_batch_size, r.Integer(j["max_batch_size"], "max_batch_size", 0, kMaxBatchSizeLimit));
  }
  if (j.contains("dynamic_batching")) {
    TS_ASSIGN_OR_RETURN(c.dynamic_batching, ParseDynamicBatching(j["dynamic_batching"], r));
    if (!c.max_batch_size || *c.max_batch_size == 0) {
      return r.Error("dynamic_batching",
                     "needs a max_batch_size above 0 (the largest batch the merged requests may form)");
    }
    for (int64_t s : c.dynamic_batching->preferred_batch_sizes) {
      if (s > *c.max_batch_size) {
        return r.Error("dynamic_batching.preferred_batch_size",
                       std::to_string(s) + " exceeds max_batch_size " + std::to_string(*c.max_batch_size));
      }
    }
  }
  if (j.contains("instance_count")) {
    TS_ASSIGN_OR_RETURN(int64_t v, r.Integer(j["instance_count"], "instance_count", 1, kMaxInstances));
    c.instance_count = static_cast<int>(v);
  }
  if (j.contains("threads")) {
    TS_ASSIGN_OR_RETURN(int64_t v, r.Integer(j["threads"], "threads", 0, kMaxThreads));
    c.threads = static_cast<int>(v);
  }
  if (j.contains("max_queue_size")) {
    TS_ASSIGN_OR_RETURN(c.max_queue_size, r.Integer(j["max_queue_size"], "max_queue_size", 0, kMaxBatchSizeLimit));
  }
  if (j.contains("version_policy")) {
    TS_ASSIGN_OR_RETURN(c.version_policy, ParseVersionPolicy(j["version_policy"], r));
  }
  if (j.contains("parallel")) {
    TS_ASSIGN_OR_RETURN(c.parallel, ParseParallel(j["parallel"], r));
  }
  return c;
}

namespace {

// Whether `info` has a leading dim that may vary (a symbol or unknown), as a batch axis needs.
bool HasDynamicBatchDim(const TensorInfo& info) { return !info.has_shape || (!info.dims.empty() && info.dims[0] < 0); }

}  // namespace

StatusOr<std::vector<int64_t>> SelectVersions(const VersionPolicy& policy, const std::vector<int64_t>& available,
                                              const std::string& model_name) {
  switch (policy.kind) {
    case VersionPolicy::Kind::kAll:
      return available;
    case VersionPolicy::Kind::kLatest: {
      size_t n = std::min(available.size(), static_cast<size_t>(policy.num_versions));
      return std::vector<int64_t>(available.end() - static_cast<std::ptrdiff_t>(n), available.end());
    }
    case VersionPolicy::Kind::kSpecific:
      for (int64_t v : policy.versions) {
        if (!std::binary_search(available.begin(), available.end(), v)) {
          return NotFound("model '" + model_name + "': version_policy names version " + std::to_string(v) +
                          ", which has no " + std::to_string(v) + "/model.onnx");
        }
      }
      return policy.versions;
  }
  return available;
}

int InstanceThreads(const ModelConfig& config, int default_threads) {
  if (config.threads > 0) return config.threads;
  if (default_threads > 0) return default_threads;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, config.instance_count));
}

StatusOr<ServingPlan> ResolveModelConfig(const ModelConfig& config, const std::vector<TensorInfo>& inputs,
                                         const std::vector<TensorInfo>& outputs, const std::string& model_name,
                                         int default_threads) {
  ServingPlan plan;
  const TensorInfo* fixed = nullptr;  // the first tensor whose dim 0 cannot be a batch
  for (const auto* list : {&inputs, &outputs}) {
    for (const TensorInfo& t : *list) {
      if (!fixed && !HasDynamicBatchDim(t)) fixed = &t;
    }
  }
  if (config.max_batch_size) {
    if (*config.max_batch_size > 0 && fixed) {
      std::string shape = fixed->dims.empty() ? "a scalar" : "dim 0 fixed to " + std::to_string(fixed->dims[0]);
      return InvalidArgument("model '" + model_name + "': config.json sets max_batch_size " +
                             std::to_string(*config.max_batch_size) + " but '" + fixed->name + "' has " + shape +
                             "; batching needs a dynamic dim 0 on every input and output");
    }
    plan.batchable = *config.max_batch_size > 0;
    plan.max_batch_size = *config.max_batch_size;
  } else {
    // Read from the model, an input of unknown shape is not assumed to batch (it may take a scalar);
    // an explicit max_batch_size asserts that it does.
    bool inputs_declare_batch = std::all_of(inputs.begin(), inputs.end(), [](const TensorInfo& t) { return t.has_shape; });
    plan.batchable = fixed == nullptr && !inputs.empty() && inputs_declare_batch;
    plan.max_batch_size = 0;
  }
  if (plan.batchable) plan.dynamic_batching = config.dynamic_batching;
  plan.instance_count = config.instance_count;
  plan.max_queue_size = config.max_queue_size;
  plan.parallel = config.parallel;
  plan.threads = InstanceThreads(config, default_threads);
  return plan;
}

}  // namespace tessera::serve
