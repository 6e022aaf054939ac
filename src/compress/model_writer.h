// Writing a rewritten model file.
//
// The choice: when every initializer together is under kInlineLimitBytes (1.5 GiB, well inside
// protobuf's 2 GiB message limit), the file is self-contained: external data of the input model is read
// and written inline, so OUT.onnx can go to any folder. Above that, every initializer of 1 KiB or more
// goes to one file beside OUT, named `<OUT file name>.data` (offsets 64-byte aligned), as ONNX's
// external data convention describes (location, offset, length), and the rest stays inline.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "tessera/status.h"

namespace tessera::compress {

constexpr int64_t kInlineLimitBytes = int64_t{3} << 29;  // 1.5 GiB

// Bytes of tensor data the model's initializers hold (external data counted by its recorded length).
int64_t InitializerBytes(const onnx::ModelProto& model);

// Writes `model` to `out_path`; `model_dir` resolves the external data it refers to. The proto's
// initializers are rewritten to the form written. `inline_limit_bytes` is for tests.
Status WriteModelFile(onnx::ModelProto& model, const std::string& model_dir, const std::string& out_path,
                      int64_t inline_limit_bytes = kInlineLimitBytes);

}  // namespace tessera::compress
