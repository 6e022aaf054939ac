// Tessera's own schemas for default-domain ops in the versions newer than the installed ONNX library
// knows (Debian's ONNX 1.12 stops at opset 17): the ops introduced in opsets 18-26 and the versions of
// older ops whose inputs or attributes changed (Reduce* taking `axes` as an input, Split's num_outputs,
// Pad's axes, Resize's antialias, ...).
//
// The loader uses them where the library cannot: such a node is hidden from the library's checker (which
// would judge it by the older version's schema, or refuse an op it does not know) and checked here
// instead, for arity, required inputs and attributes, and unknown attributes, with the same kind of
// message. Types and values are the kernel's to check when it is created.
#pragma once

#include <string>
#include <vector>

namespace tessera {

struct NewerOpSchema {
  const char* op_type;
  int since_opset;  // the version this entry describes, valid until the next entry of the same op
  int min_inputs, max_inputs;
  int min_outputs, max_outputs;      // max_outputs -1: variadic
  std::vector<int> required_inputs;  // input slots that must not be empty
  std::vector<std::string> attributes;
  std::vector<std::string> required_attributes;
};

// The entry for `op_type` (default domain) at `opset`, or nullptr when the op has none newer than
// `library_opset` in force at `opset`.
const NewerOpSchema* FindNewerOpSchema(const std::string& op_type, int opset, int library_opset);
// Same, against the installed library's newest default-domain opset.
const NewerOpSchema* FindNewerOpSchema(const std::string& op_type, int opset);

// The newest default-domain opset the installed ONNX library has schemas for (17 for ONNX 1.12).
int InstalledOnnxOpset();

}  // namespace tessera
