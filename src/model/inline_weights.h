// Parsing a model file without copying its inline weights.
//
// Protobuf parsing copies every initializer's raw_data into the parsed message, so a rank that keeps a
// quarter of the weights would hold all of them at its peak. Instead the file is memory-mapped and its
// bytes are rewritten on the way to the parser: each initializer of the main graph whose raw_data holds
// at least kInlineWeightMinBytes becomes a reference to the model file itself (data_location EXTERNAL,
// location = `location`, the offset and length of those bytes in the file). The parsed proto is then
// small (the graph's structure and its small tensors); the checker and shape inference see it as any
// external-data model, with the small tensors they read (Reshape shapes) still inline; and the graph
// builder maps only what it converts, through ExternalDataResolver::AddModelFile.
//
// Subgraph initializers and Constant nodes stay inline (they are small in practice), as does any tensor
// that already names external data or carries raw_data more than once.
#pragma once

#include <string>

#include <onnx/onnx_pb.h>

#include "model/external_data.h"

namespace tessera {

constexpr size_t kInlineWeightMinBytes = 4096;

struct InlineWeightStats {
  size_t weights = 0;  // initializers left in the file
  size_t bytes = 0;    // their raw_data bytes
};

// Parses `file` (a whole serialized ModelProto) into `proto` as described above. False when the bytes
// are not a well-formed protobuf message (the caller reports it as not a model); `stats` says what was
// left in the file.
bool ParseModelLeavingWeightsInFile(const MappedFile& file, const std::string& location, onnx::ModelProto& proto,
                                    InlineWeightStats& stats);

}  // namespace tessera
