// Request checks: every field a client controls, against the model's declared signature.
#include "serve/request_validation.h"

#include <algorithm>

#include "serve/model_repository.h"

namespace tessera::serve {

namespace {

std::string Names(const std::vector<TensorInfo>& infos) {
  std::string out;
  for (const TensorInfo& i : infos) out += (out.empty() ? "'" : ", '") + i.name + "'";
  return out.empty() ? "none" : out;
}

// The tensor's storage must hold every element its shape promises.
Status CheckTensorData(const Tensor& t, const std::string& what) {
  if (!t.defined() || !IsKnownDType(static_cast<int32_t>(t.dtype()))) return InvalidArgument(what + " has no datatype");
  int64_t count = t.element_count();
  if (count < 0) return InvalidArgument(what + " has an invalid shape " + ShapeToString(t.shape()));
  if (count == 0) return Status::Ok();
  if (!t.buffer() || t.raw_data() == nullptr) return InvalidArgument(what + " has no data");
  size_t needed = static_cast<size_t>(count) * DTypeSize(t.dtype());
  if (t.buffer()->bytes() < t.offset() || t.buffer()->bytes() - t.offset() < needed) {
    return InvalidArgument(what + " holds " +
                           std::to_string(t.buffer()->bytes() - std::min(t.offset(), t.buffer()->bytes())) +
                           " bytes but its shape " + ShapeToString(t.shape()) + " of " + DTypeName(t.dtype()) +
                           " needs " + std::to_string(needed));
  }
  return Status::Ok();
}

Status CheckAgainstInfo(const TensorInfo& info, const Tensor& t, const std::string& what) {
  if (t.dtype() != info.dtype) {
    return InvalidArgument(what + " must be " + DTypeName(info.dtype) + ", got " + DTypeName(t.dtype()));
  }
  if (!info.has_shape) return Status::Ok();
  if (t.rank() != static_cast<int64_t>(info.dims.size())) {
    return InvalidArgument(what + " must have rank " + std::to_string(info.dims.size()) + " (shape " +
                           ShapeToString(info.dims) + "), got shape " + ShapeToString(t.shape()));
  }
  for (size_t d = 0; d < info.dims.size(); ++d) {
    if (info.dims[d] >= 0 && t.dim(static_cast<int64_t>(d)) != info.dims[d]) {
      return InvalidArgument(what + " dim " + std::to_string(d) + " must be " + std::to_string(info.dims[d]) +
                             " (shape " + ShapeToString(info.dims) + "), got shape " + ShapeToString(t.shape()));
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ValidatedRequest> ValidateRequest(const ModelSignature& sig, const InferRequest& request) {
  const std::string model = "model '" + sig.model_name + "' version " + sig.version;
  ValidatedRequest out;
  std::vector<const Tensor*> by_input(sig.inputs.size(), nullptr);
  for (const NamedTensor& in : request.inputs) {
    auto it =
        std::find_if(sig.inputs.begin(), sig.inputs.end(), [&](const TensorInfo& i) { return i.name == in.name; });
    if (it == sig.inputs.end()) {
      return InvalidArgument(model + ": unknown input '" + PrintableName(in.name) + "' (the model's inputs are " +
                             Names(sig.inputs) + ")");
    }
    size_t k = static_cast<size_t>(it - sig.inputs.begin());
    if (by_input[k]) return InvalidArgument(model + ": input '" + in.name + "' is given twice");
    std::string what = model + ": input '" + in.name + "'";
    TS_RETURN_IF_ERROR(CheckTensorData(in.tensor, what));
    TS_RETURN_IF_ERROR(CheckAgainstInfo(*it, in.tensor, what));
    by_input[k] = &in.tensor;
  }
  for (size_t k = 0; k < sig.inputs.size(); ++k) {
    if (!by_input[k]) return InvalidArgument(model + ": missing input '" + sig.inputs[k].name + "'");
  }

  if (sig.batchable) {
    bool mergeable = true;
    for (size_t k = 0; k < sig.inputs.size(); ++k) {
      const Tensor& t = *by_input[k];
      const std::string what = model + ": input '" + sig.inputs[k].name + "'";
      if (t.rank() == 0) return InvalidArgument(what + " is a scalar, but the model batches along dim 0");
      if (k == 0) {
        out.rows = t.dim(0);
      } else if (t.dim(0) != out.rows) {
        return InvalidArgument(what + " has batch size (dim 0) " + std::to_string(t.dim(0)) + " but input '" +
                               sig.inputs[0].name + "' has " + std::to_string(out.rows));
      }
      if (t.dtype() == DType::kString) mergeable = false;
      out.merge_key += std::to_string(static_cast<int>(t.dtype())) + ":";
      for (int64_t d = 1; d < t.rank(); ++d) out.merge_key += std::to_string(t.dim(d)) + ",";
      out.merge_key += ";";
    }
    if (out.rows < 1) return InvalidArgument(model + ": the request's batch size (dim 0) is 0");
    if (sig.max_batch_size > 0 && out.rows > sig.max_batch_size) {
      return InvalidArgument(model + ": batch size " + std::to_string(out.rows) +
                             " exceeds the model's max_batch_size " + std::to_string(sig.max_batch_size));
    }
    if (!mergeable) out.merge_key.clear();
  }

  for (size_t k = 0; k < sig.inputs.size(); ++k) out.feeds.emplace_back(sig.inputs[k].name, *by_input[k]);

  if (request.requested_outputs.empty()) {
    for (size_t k = 0; k < sig.outputs.size(); ++k) out.output_indices.push_back(k);
  } else {
    for (const std::string& name : request.requested_outputs) {
      auto it =
          std::find_if(sig.outputs.begin(), sig.outputs.end(), [&](const TensorInfo& o) { return o.name == name; });
      if (it == sig.outputs.end()) {
        return NotFound(model + ": unknown output '" + PrintableName(name) + "' (the model's outputs are " +
                        Names(sig.outputs) + ")");
      }
      size_t k = static_cast<size_t>(it - sig.outputs.begin());
      if (std::find(out.output_indices.begin(), out.output_indices.end(), k) != out.output_indices.end()) {
        return InvalidArgument(model + ": output '" + name + "' is requested twice");
      }
      out.output_indices.push_back(k);
    }
  }
  return out;
}

}  // namespace tessera::serve
