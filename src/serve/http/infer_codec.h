// Inference requests and responses of the HTTP/REST protocol (KServe v2 `$request` / `$response`),
// with Triton's binary tensor data extension.
//
// A request body is JSON, or (when the `Inference-Header-Content-Length` header is present) that many
// bytes of JSON followed by the binary data of the inputs whose parameters carry `binary_data_size`, in
// the order those inputs appear. Outputs are returned as binary data when the request's parameters say
// `binary_data_output: true` or the output's own parameters say `binary_data: true` (the latter wins);
// the response then carries the JSON length in the same header. Unknown parameters are ignored, as the
// protocol allows.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "serve/inference_service.h"

namespace tessera::serve::http {

// How the client asked for each output to travel back.
struct OutputEncoding {
  bool binary_by_default = false;              // request parameters: binary_data_output
  std::map<std::string, bool> binary_by_name;  // outputs[i].parameters.binary_data
  bool Binary(const std::string& output) const {
    auto it = binary_by_name.find(output);
    return it == binary_by_name.end() ? binary_by_default : it->second;
  }
};

struct DecodedInferRequest {
  InferRequest request;
  OutputEncoding encoding;
};

// Parses a request body for `model`/`version` (from the URL). `json_length` is the value of the
// Inference-Header-Content-Length header, absent when the body is all JSON. InvalidArgument, naming the
// field or input at fault, for anything malformed.
StatusOr<DecodedInferRequest> DecodeInferRequest(std::string_view body, std::optional<size_t> json_length,
                                                 const std::string& model, const std::string& version);

struct EncodedInferResponse {
  std::string body;
  std::optional<size_t> json_length;  // set when binary data follows the JSON
};

EncodedInferResponse EncodeInferResponse(const InferResponse& response, const OutputEncoding& encoding);

// The client's side, for a server that forwards requests to other Tessera servers (serve/replicas/):
// a request with every input as binary data and every output asked for as binary data (exact and compact),
// and the decoding of such a response. Both directions share the parsing above, so what one Tessera
// server writes another reads. DecodeInferResponse: InvalidArgument for a malformed body.
struct EncodedInferRequest {
  std::string body;
  size_t json_length = 0;  // the Inference-Header-Content-Length to send
};
EncodedInferRequest EncodeInferRequest(const InferRequest& request);
StatusOr<InferResponse> DecodeInferResponse(std::string_view body, std::optional<size_t> json_length);

}  // namespace tessera::serve::http
