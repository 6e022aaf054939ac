// TensorProto -> Tensor, for initializers, Constant attributes and test data files.
#pragma once

#include <memory>
#include <string>

#include <onnx/onnx_pb.h>

#include "model/external_data.h"
#include "tessera/tensor.h"

namespace tessera {

// Converts `proto`, taking its `raw_data` out of it (moved, not copied, when its bytes are suitably aligned;
// otherwise copied and released at once), so a converted model does not hold its weights twice; the rest
// of the proto is left as it was. External data is mapped through `resolver` (nullptr: external data is an
// error). Fails when the data is shorter or longer than the dims require, the dtype is unknown, or a dim
// is negative; `raw_data` is only taken on success.
StatusOr<Tensor> TakeTensorFromProto(onnx::TensorProto& proto, ExternalDataResolver* resolver);

// Reads a serialized TensorProto file (the conformance suite's input_N.pb / output_N.pb).
StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);

}  // namespace tessera
