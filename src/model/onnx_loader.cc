// Model loading: bounded parse, checker, shape inference, then the graph builder.
#include "model/onnx_loader.h"

#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <filesystem>
#include <memory>

#include "model/graph_builder.h"
#include "model/inline_weights.h"
#include "model/onnx_library_passes.h"
#include "model/weight_copies.h"

namespace tessera {

namespace {

constexpr int64_t kMinIrVersion = 3;
// IR 11 to 13 (ONNX 1.18 to 1.20) add element types and metadata, not new graph semantics: the checker
// sees such a model as the newest IR it knows (onnx_library_passes.cc), and a value of a type Tessera has
// no storage for is an error naming that value when a node or feed meets it.
constexpr int64_t kMaxIrVersion = 13;
constexpr size_t kMaxModelBytes = size_t{2} << 30;  // protobuf's own message limit

Status NotAModel() { return InvalidArgument("not an ONNX model (protobuf parse failed; truncated or corrupt?)"); }

// Parses one whole ModelProto from `stream` with nesting bounded against hostile files.
bool ParseBounded(google::protobuf::io::CodedInputStream& stream, onnx::ModelProto& proto) {
  stream.SetRecursionLimit(200);
  return proto.ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
}


}  // namespace

namespace {

// Everything after parsing, shared by the file and in-memory loaders. The proto's tensor data is moved
// into the graph's constants as it is converted, and the proto is gone when this returns, so the weights
// are held once. `model_file`, when set, is the mapped model file that initializers left in it point to
// (registered under `model_file_location`).
StatusOr<Model> LoadParsedModel(std::unique_ptr<onnx::ModelProto> proto, const std::string& model_dir,
                                const std::string& display_name, const LoadOptions& options,
                                std::shared_ptr<MappedFile> model_file, const std::string& model_file_location) {
  auto fail = [&](const Status& s) { return s.WithContext("model '" + display_name + "'"); };
  if (!proto->has_graph()) return fail(InvalidArgument("not an ONNX model: no graph"));
  if (proto->ir_version() < kMinIrVersion || proto->ir_version() > kMaxIrVersion) {
    return fail(Unimplemented("ONNX IR version " + std::to_string(proto->ir_version()) + " is not supported (" +
                              std::to_string(kMinIrVersion) + " to " + std::to_string(kMaxIrVersion) + ")"));
  }
  LibraryPassOptions passes;
  passes.run_checker = options.run_checker;
  passes.infer_shapes = options.infer_shapes;
  passes.has_kernel = options.has_kernel;
  TS_RETURN_IF_ERROR(fail(RunOnnxLibraryPasses(*proto, passes)));

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
  if (model_file) resolver.AddModelFile(model_file_location, std::move(model_file));
  resolver.set_keep_unaligned_views(options.defer_weight_copies);
  GraphBuildContext context;
  context.opsets = model.opsets;
  context.resolver = &resolver;
  model.graph = std::make_shared<Graph>();
  TS_RETURN_IF_ERROR(fail(BuildGraph(*proto->mutable_graph(), nullptr, context, *model.graph)));
  if (!options.defer_weight_copies) TS_RETURN_IF_ERROR(fail(CopyDeferredWeights(*model.graph).status()));
  return model;
}

}  // namespace

StatusOr<Model> LoadModelFromProto(std::unique_ptr<onnx::ModelProto> proto, const std::string& model_dir,
                                   const std::string& display_name, const LoadOptions& options) {
  return LoadParsedModel(std::move(proto), model_dir, display_name, options, nullptr, "");
}

StatusOr<Model> LoadModelFromBytes(std::string bytes, const std::string& model_dir, const std::string& display_name,
                                   const LoadOptions& options) {
  auto fail = [&](const Status& s) { return s.WithContext("model '" + display_name + "'"); };
  if (bytes.empty()) return fail(InvalidArgument("the file is empty"));
  if (bytes.size() > kMaxModelBytes) return fail(InvalidArgument("the file is larger than 2 GiB"));
  auto proto = std::make_unique<onnx::ModelProto>();
  {
    google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                  static_cast<int>(bytes.size()));
    if (!ParseBounded(stream, *proto)) return fail(NotAModel());
  }
  bytes.clear();
  bytes.shrink_to_fit();
  return LoadModelFromProto(std::move(proto), model_dir, display_name, options);
}

Status ReadModelProtoFile(const std::string& path, onnx::ModelProto& proto) {
  namespace fs = std::filesystem;
  std::string name = fs::path(path).filename().string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("model '" + path + "': no such file");
  auto size = fs::file_size(path, ec);
  if (ec) return IoError("model '" + path + "': cannot read its size");
  if (size > kMaxModelBytes) return InvalidArgument("model '" + name + "': the file is larger than 2 GiB");
  if (size == 0) return InvalidArgument("model '" + name + "': the file is empty");
  // Parsed straight from the file in small reads: a whole-file buffer next to the parsed proto would
  // hold every weight twice at the peak.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("model '" + path + "': cannot open");
  bool parsed = false;
  {
    google::protobuf::io::FileInputStream file(fd);
    file.SetCloseOnDelete(true);
    google::protobuf::io::CodedInputStream stream(&file);
    parsed = ParseBounded(stream, proto);
  }
  if (!parsed) return NotAModel().WithContext("model '" + name + "'");
  return Status::Ok();
}

StatusOr<Model> LoadModelFromFile(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  const std::string name = fs::path(path).filename().string();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return NotFound("model '" + path + "': no such file");
  auto size = fs::file_size(path, ec);
  if (ec) return IoError("model '" + path + "': cannot read its size");
  if (size > kMaxModelBytes) return InvalidArgument("model '" + name + "': the file is larger than 2 GiB");
  if (size == 0) return InvalidArgument("model '" + name + "': the file is empty");
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status().WithContext("model '" + name + "'");
  auto proto = std::make_unique<onnx::ModelProto>();
  InlineWeightStats left_in_file;
  if (!ParseModelLeavingWeightsInFile(**file, name, *proto, left_in_file)) {
    return NotAModel().WithContext("model '" + name + "'");
  }
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  // The mapping is only kept by the weights that point into it.
  std::shared_ptr<MappedFile> model_file = left_in_file.weights > 0 ? *file : nullptr;
  if (model_file) model_file->MarkAsModelFile();
  auto model = LoadParsedModel(std::move(proto), dir, name, options, std::move(model_file), name);
  if (model.ok()) model->path = path;
  return model;
}

}  // namespace tessera
