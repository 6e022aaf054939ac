// TensorProto -> Tensor, for initializers, Constant attributes and test data files.
#pragma once

#include <memory>
#include <string>

#include <onnx/onnx_pb.h>

#include "model/external_data.h"
#include "tessera/tensor.h"

namespace tessera {

// Converts `proto`. When its bytes sit in `raw_data` and are suitably aligned, the tensor points into the
// proto instead of copying; `owner` must then keep the proto alive (pass nullptr to always copy).
// External data is mapped through `resolver` (nullptr: external data is an error). Fails when the data
// is shorter or longer than the dims require, the dtype is unknown, or a dim is negative.
StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, ExternalDataResolver* resolver,
                                 const std::shared_ptr<void>& owner);

// Reads a serialized TensorProto file (the conformance suite's input_N.pb / output_N.pb).
StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);

}  // namespace tessera
