// The open inference protocol's gRPC messages ⇄ InferRequest / InferResponse.
//
// Requests are untrusted: every datatype, shape, element count and byte length is checked before memory is
// allocated for a tensor, so a message that claims a huge shape with little data is refused, not honoured.
// Input data comes either as typed `contents` (fp32_contents, int64_contents, ...) or, for every input at
// once, as `raw_input_contents` (little-endian elements in row-major order; BYTES elements each preceded by
// a 4-byte little-endian length). Outputs always go back as raw_output_contents, as Triton's clients expect.
#pragma once

#include "grpc_predict_v2.pb.h"
#include "serve/inference_service.h"

namespace tessera::serve {

// InvalidArgument naming the input at fault (unknown datatype, negative dim, contents in the wrong field,
// element count or byte length that does not match the shape, raw and typed contents mixed, duplicate
// names); ResourceExhausted when a tensor exceeds the allocation limit.
StatusOr<InferRequest> DecodeInferRequest(const inference::ModelInferRequest& request);

// Fills `response` with `result`'s outputs as raw contents. Internal when an output has a dtype the
// protocol cannot carry or a string longer than 4 GiB.
Status EncodeInferResponse(const InferResponse& result, inference::ModelInferResponse* response);

}  // namespace tessera::serve
