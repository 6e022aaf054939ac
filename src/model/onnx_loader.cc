// Model loading: bounded parse, checker, shape inference, then the graph builder.
#include "model/onnx_loader.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/graph_builder.h"

namespace tessera {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;
constexpr size_t kMaxModelBytes = size_t{2} << 30;  // protobuf's own message limit

// Runs the ONNX checker; its ValidationError (and anything else it throws) becomes a Status.
// The in-memory checker resolves external data against the working directory, so external references
// are hidden from it for the duration (the graph builder validates them against the model's folder).
Status RunChecker(onnx::ModelProto& proto) {
  struct Hidden {
    onnx::TensorProto* tensor;
    google::protobuf::RepeatedPtrField<onnx::StringStringEntryProto> entries;
  };
  std::vector<Hidden> hidden;
  for (auto& init : *proto.mutable_graph()->mutable_initializer()) {
    if (init.data_location() != onnx::TensorProto::EXTERNAL) continue;
    hidden.push_back({&init, {}});
    hidden.back().entries.Swap(init.mutable_external_data());
    init.clear_data_location();
    init.set_raw_data(std::string(1, 0));  // the checker wants exactly one non-empty value field
  }
  Status status;
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    status = InvalidArgument(std::string("the ONNX checker rejects the model: ") + e.what());
  }
  for (auto& h : hidden) {
    h.tensor->clear_raw_data();
    h.tensor->set_data_location(onnx::TensorProto::EXTERNAL);
    h.tensor->mutable_external_data()->Swap(&h.entries);
  }
  return status;
}

// Shape inference only adds information; when it fails the model still loads with what it declared.
void InferShapesBestEffort(onnx::ModelProto& proto) {
  try {
    onnx::ShapeInferenceOptions options{/*check_type=*/false, /*error_mode=*/0, /*enable_data_propagation=*/false};
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception&) {
  }
}

}  // namespace

StatusOr<Model> LoadModelFromBytes(std::string bytes, const std::string& model_dir, const std::string& display_name,
                                   const LoadOptions& options) {
  auto fail = [&](const Status& s) { return s.WithContext("model '" + display_name + "'"); };
  if (bytes.empty()) return fail(InvalidArgument("the file is empty"));
  if (bytes.size() > kMaxModelBytes) return fail(InvalidArgument("the file is larger than 2 GiB"));

  auto proto = std::make_shared<onnx::ModelProto>();
  {
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(bytes.size()));
    stream.SetRecursionLimit(200);
    if (!proto->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
      return fail(InvalidArgument("not an ONNX model (protobuf parse failed; truncated or corrupt?)"));
    }
  }
  bytes.clear();
  bytes.shrink_to_fit();
  if (!proto->has_graph()) return fail(InvalidArgument("not an ONNX model: no graph"));
  if (proto->ir_version() < kMinIrVersion || proto->ir_version() > kMaxIrVersion) {
    return fail(Unimplemented("ONNX IR version " + std::to_string(proto->ir_version()) + " is not supported (" +
                              std::to_string(kMinIrVersion) + " to " + std::to_string(kMaxIrVersion) + ")"));
  }
  if (options.run_checker) TS_RETURN_IF_ERROR(fail(RunChecker(*proto)));
  if (options.infer_shapes) InferShapesBestEffort(*proto);
  if (options.has_kernel) {
    int expanded = 0;
    TS_RETURN_IF_ERROR(fail(InlineFunctionOps(*proto, options.has_kernel, &expanded)));
    if (expanded > 0 && options.infer_shapes) InferShapesBestEffort(*proto);
  }

  Model model;
  model.display_name = display_name;
  model.ir_version = proto->ir_version();
  model.producer = proto->producer_name();
  for (const auto& op : proto->opset_import()) {
    std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
    model.opsets[domain] = static_cast<int>(op.version());
  }
  if (!model.opsets.count("")) model.opsets[""] = 1;  // IR 3 models may omit the default import

  ExternalDataResolver resolver(model_dir);
  GraphBuildContext context;
  context.opsets = model.opsets;
  context.resolver = &resolver;
  context.proto_owner = proto;
  model.graph = std::make_shared<Graph>();
  TS_RETURN_IF_ERROR(fail(BuildGraph(proto->graph(), nullptr, context, *model.graph)));
  return model;
}

StatusOr<Model> LoadModelFromFile(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::string name = fs::path(path).filename().string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("model '" + path + "': no such file");
  auto size = fs::file_size(path, ec);
  if (ec) return IoError("model '" + path + "': cannot read its size");
  if (size > kMaxModelBytes) return InvalidArgument("model '" + name + "': the file is larger than 2 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("model '" + path + "': cannot open");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (static_cast<size_t>(in.gcount()) != size) return IoError("model '" + path + "': short read");
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  auto model = LoadModelFromBytes(std::move(bytes), dir, name, options);
  if (model.ok()) model->path = path;
  return model;
}

}  // namespace tessera
