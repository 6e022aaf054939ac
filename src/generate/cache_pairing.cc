// The cache pairing rule of cache_pairing.h.
#include "generate/cache_pairing.h"

#include <map>
#include <set>

namespace tessera::generate {

namespace {

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Decides growing vs fixed from the input's dims (see the header); an error names the value.
Status ClassifySlot(const std::string& model_name, const TensorInfo& input, CacheSlot& slot) {
  slot.dtype = input.dtype;
  slot.dims = input.dims;
  if (!input.has_shape || input.dims.empty()) {
    return InvalidArgument("model '" + model_name + "': cache input '" + input.name +
                           "' declares no shape, so its batch and sequence axes are unknown");
  }
  std::vector<int64_t> unknown;
  for (size_t a = 1; a < input.dims.size(); ++a) {
    if (input.dims[a] < 0) unknown.push_back(static_cast<int64_t>(a));
  }
  if (unknown.empty()) return Status::Ok();  // fixed-size state
  slot.grows = true;
  if (unknown.size() == 1) {
    slot.seq_axis = unknown[0];
  } else if (input.dims.size() == 4 && input.dims[2] < 0) {
    slot.seq_axis = 2;  // [batch, heads, sequence, head_dim]; the other unknown dims must be known to feed it
  } else {
    return InvalidArgument("model '" + model_name + "': cache input '" + input.name + "' has " +
                           std::to_string(unknown.size()) +
                           " unknown dims past the batch; cannot tell which is the sequence axis");
  }
  for (int64_t a : unknown) {
    if (a != slot.seq_axis) {
      return InvalidArgument("model '" + model_name + "': cache input '" + input.name + "' has unknown dim " +
                             std::to_string(a) + " (besides batch and sequence), so its empty cache cannot be made");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ExpandLayerTemplate(const std::string& name_template, int layer) {
  std::string out = name_template;
  size_t at = out.find("%d");
  if (at != std::string::npos) out.replace(at, 2, std::to_string(layer));
  return out;
}

std::vector<std::string> PresentNameCandidates(const std::string& past_input) {
  std::vector<std::string> out;
  const std::string kv = "past_key_values";
  if (StartsWith(past_input, kv)) {
    out.push_back("present" + past_input.substr(kv.size()));
    out.push_back("present_key_values" + past_input.substr(kv.size()));
  }
  if (StartsWith(past_input, "past")) out.push_back("present" + past_input.substr(4));
  out.push_back("present_" + past_input);
  out.push_back("present." + past_input);
  out.push_back(past_input + "_out");
  return out;
}

StatusOr<std::vector<CacheSlot>> PairCacheValues(const std::string& model_name,
                                                 const std::vector<TensorInfo>& cache_inputs,
                                                 const std::vector<TensorInfo>& outputs,
                                                 const std::vector<std::string>& reserved_outputs,
                                                 const CacheNameTemplates& templates) {
  if (templates.past.size() != templates.present.size()) {
    return InvalidArgument("model '" + model_name + "': " + std::to_string(templates.past.size()) +
                           " past name templates but " + std::to_string(templates.present.size()) + " present ones");
  }
  std::map<std::string, const TensorInfo*> free_outputs;
  for (const TensorInfo& o : outputs) free_outputs[o.name] = &o;
  for (const std::string& r : reserved_outputs) free_outputs.erase(r);

  // Rule 1 first, so an explicit template wins over a name the generic rules would also match.
  std::map<std::string, std::string> by_template;
  for (size_t t = 0; t < templates.past.size(); ++t) {
    for (int layer = 0;; ++layer) {
      std::string past = ExpandLayerTemplate(templates.past[t], layer);
      bool is_input = false;
      for (const TensorInfo& in : cache_inputs) is_input |= in.name == past;
      if (!is_input || past == templates.past[t]) break;  // no "%d": the template names one value at most
      by_template[past] = ExpandLayerTemplate(templates.present[t], layer);
    }
  }

  std::vector<CacheSlot> slots;
  for (const TensorInfo& in : cache_inputs) {
    std::vector<std::string> candidates;
    if (auto it = by_template.find(in.name); it != by_template.end()) {
      candidates = {it->second};
    } else {
      candidates = PresentNameCandidates(in.name);
    }
    CacheSlot slot;
    slot.past_input = in.name;
    for (const std::string& c : candidates) {
      if (free_outputs.count(c)) {
        slot.present_output = c;
        break;
      }
    }
    if (slot.present_output.empty()) {
      std::string tried;
      for (const std::string& c : candidates) tried += (tried.empty() ? "'" : ", '") + c + "'";
      return InvalidArgument("model '" + model_name + "': input '" + in.name +
                             "' is not a known decoder input and pairs with no output (looked for " + tried +
                             "); name its output with --present-names or check the model's cache names");
    }
    const TensorInfo& out = *free_outputs[slot.present_output];
    if (out.dtype != in.dtype && out.dtype != DType::kUndefined) {
      return InvalidArgument("model '" + model_name + "': cache input '" + in.name + "' is " + DTypeName(in.dtype) +
                             " but its output '" + out.name + "' is " + DTypeName(out.dtype));
    }
    free_outputs.erase(slot.present_output);
    TS_RETURN_IF_ERROR(ClassifySlot(model_name, in, slot));
    slots.push_back(std::move(slot));
  }
  for (const auto& [name, info] : free_outputs) {
    if (StartsWith(name, "present")) {
      return InvalidArgument("model '" + model_name + "': output '" + name +
                             "' looks like a cache but no input pairs with it (expected an input such as '" +
                             (StartsWith(name, "present.") ? "past_key_values" + name.substr(7) : "past" + name.substr(7)) +
                             "')");
    }
  }
  return slots;
}

}  // namespace tessera::generate
