// The ai.onnx.ml ops between maps and tensors (opset 1, unchanged since): ZipMap (score rows -> one map
// per row, a seq(map)), CastMap (map(int64, T) -> a [1, N] tensor) and DictVectorizer (map -> a [1, V]
// tensor over a vocabulary). A map is two 1-D tensors, keys and values (tessera/value.h).
//
// Shapes follow ONNX Runtime, the reference for these ops: CastMap and DictVectorizer give [1, N] and
// [1, V]; CastMap's DENSE form lists the values in ascending key order, SPARSE puts value v of key k at
// column k of [1, max_map] (zeros elsewhere; a key outside [0, max_map) is an error).
#include <algorithm>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"

namespace tessera {

namespace {

// ZipMap: X [N, C] (or [C]) float -> N maps from the C class labels to the row's scores.
Status RunZipMap(KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.input_value(0).is_tensor()) return KernelContext::Error("input 'X' must be a tensor");
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32 || x.rank() < 1 || x.rank() > 2) {
    return KernelContext::Error("input 'X' must be float32 of rank 1 or 2, got " + std::string(DTypeName(x.dtype())) +
                                ShapeToString(x.shape()));
  }
  const Node& node = ctx.node();
  const Attribute* strings = node.FindAttribute("classlabels_strings");
  const std::vector<int64_t> ints = node.GetInts("classlabels_int64s");
  if ((strings != nullptr) == !ints.empty()) {
    return KernelContext::Error("exactly one of 'classlabels_strings' and 'classlabels_int64s' must be given");
  }
  const int64_t classes = strings != nullptr ? static_cast<int64_t>(strings->strings.size())
                                             : static_cast<int64_t>(ints.size());
  const int64_t rows = x.rank() == 2 ? x.dim(0) : 1, cols = x.shape().back();
  if (cols != classes) {
    return KernelContext::Error("input 'X' has " + std::to_string(cols) + " columns but there are " +
                                std::to_string(classes) + " class labels");
  }
  const Tensor keys = strings != nullptr ? Tensor::FromVector<std::string>(DType::kString, {classes}, strings->strings)
                                         : Tensor::FromVector<int64_t>(DType::kInt64, {classes}, ints);
  std::vector<Value> maps;
  maps.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    TS_ASSIGN_OR_RETURN(Tensor values, Tensor::AllocateUninitialized(DType::kFloat32, {classes}));
    std::copy_n(x.data<float>() + r * cols, cols, values.data<float>());
    maps.push_back(Value::Map(keys, std::move(values)));
  }
  ctx.SetOutputValue(0, Value::Sequence(std::move(maps), DType::kFloat32));
  return Status::Ok();
}

StatusOr<const Value*> MapInput(const KernelContext& ctx) {
  if (!ctx.has_input(0) || !ctx.input_value(0).is_map()) {
    return KernelContext::Error("input 'X' must be a map, got " +
                                (ctx.has_input(0) ? ctx.input_value(0).Describe() : std::string("nothing")));
  }
  return &ctx.input_value(0);
}

// Entry i of a map's values as float / int64 / string (CastMap's conversions).
double NumberAt(const Tensor& values, int64_t i) {
  switch (values.dtype()) {
    case DType::kFloat32: return values.data<float>()[i];
    case DType::kFloat64: return values.data<double>()[i];
    case DType::kInt64: return static_cast<double>(values.data<int64_t>()[i]);
    case DType::kString: {
      const std::string& s = values.data<std::string>()[i];
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      return end == s.c_str() ? 0.0 : v;
    }
    default: return 0;
  }
}

std::string TextAt(const Tensor& values, int64_t i) {
  if (values.dtype() == DType::kString) return values.data<std::string>()[i];
  std::ostringstream os;
  os << NumberAt(values, i);
  return os.str();
}

Status RunCastMap(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* map, MapInput(ctx));
  const Tensor& keys = map->map_keys();
  const Tensor& values = map->map_values();
  if (keys.dtype() != DType::kInt64) return KernelContext::Error("input 'X' must have int64 keys");
  const std::string cast_to = ctx.node().GetString("cast_to", "TO_FLOAT");
  const std::string form = ctx.node().GetString("map_form", "DENSE");
  const DType out_dtype = cast_to == "TO_FLOAT"    ? DType::kFloat32
                          : cast_to == "TO_INT64"  ? DType::kInt64
                          : cast_to == "TO_STRING" ? DType::kString
                                                   : DType::kUndefined;
  if (out_dtype == DType::kUndefined) return KernelContext::Error("attribute 'cast_to' is '" + cast_to + "'");
  if (form != "DENSE" && form != "SPARSE") return KernelContext::Error("attribute 'map_form' is '" + form + "'");
  const int64_t n = keys.element_count();
  // Column of each entry: its rank among the keys (DENSE) or the key itself (SPARSE).
  std::vector<int64_t> column(static_cast<size_t>(n));
  int64_t width = n;
  if (form == "DENSE") {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return keys.data<int64_t>()[a] < keys.data<int64_t>()[b]; });
    for (int64_t c = 0; c < n; ++c) column[static_cast<size_t>(order[static_cast<size_t>(c)])] = c;
  } else {
    width = ctx.node().GetInt("max_map", 1);
    if (width < 1) return KernelContext::Error("attribute 'max_map' must be positive");
    for (int64_t i = 0; i < n; ++i) {
      const int64_t key = keys.data<int64_t>()[i];
      if (key < 0 || key >= width) {
        return KernelContext::Error("key " + std::to_string(key) + " is outside [0, max_map = " +
                                    std::to_string(width) + ")");
      }
      column[static_cast<size_t>(i)] = key;
    }
  }
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, out_dtype, {1, width}));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = column[static_cast<size_t>(i)];
    if (out_dtype == DType::kFloat32) y->data<float>()[c] = static_cast<float>(NumberAt(values, i));
    if (out_dtype == DType::kInt64) y->data<int64_t>()[c] = static_cast<int64_t>(NumberAt(values, i));
    if (out_dtype == DType::kString) y->data<std::string>()[c] = TextAt(values, i);
  }
  return Status::Ok();
}

// DictVectorizer: out[0, v] = the value of vocabulary entry v's key, 0 (or "") when the map lacks it.
Status RunDictVectorizer(KernelContext& ctx) {
  TS_ASSIGN_OR_RETURN(const Value* map, MapInput(ctx));
  const Tensor& keys = map->map_keys();
  const Tensor& values = map->map_values();
  const Attribute* strings = ctx.node().FindAttribute("string_vocabulary");
  const std::vector<int64_t> ints = ctx.node().GetInts("int64_vocabulary");
  if ((strings != nullptr) == !ints.empty()) {
    return KernelContext::Error("exactly one of 'string_vocabulary' and 'int64_vocabulary' must be given");
  }
  const bool string_keys = strings != nullptr;
  if ((keys.dtype() == DType::kString) != string_keys) {
    return KernelContext::Error(std::string("the map's keys are ") + DTypeName(keys.dtype()) +
                                " but the vocabulary is " + (string_keys ? "strings" : "int64"));
  }
  const int64_t vocabulary = string_keys ? static_cast<int64_t>(strings->strings.size())
                                         : static_cast<int64_t>(ints.size());
  TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, values.dtype(), {1, vocabulary}));
  std::unordered_map<std::string, int64_t> by_string;
  std::unordered_map<int64_t, int64_t> by_int;
  for (int64_t v = 0; v < vocabulary; ++v) {
    if (string_keys) by_string.emplace(strings->strings[static_cast<size_t>(v)], v);
    else by_int.emplace(ints[static_cast<size_t>(v)], v);
  }
  const size_t element = DTypeSize(values.dtype());
  for (int64_t i = 0; i < keys.element_count(); ++i) {
    int64_t column = -1;
    if (string_keys) {
      auto it = by_string.find(keys.data<std::string>()[i]);
      if (it != by_string.end()) column = it->second;
    } else {
      auto it = by_int.find(keys.data<int64_t>()[i]);
      if (it != by_int.end()) column = it->second;
    }
    if (column < 0) continue;  // keys outside the vocabulary are dropped, as the spec says
    if (values.dtype() == DType::kString) {
      y->data<std::string>()[column] = values.data<std::string>()[i];
    } else {
      std::copy_n(static_cast<const char*>(values.raw_data()) + static_cast<size_t>(i) * element, element,
                  static_cast<char*>(y->raw_data()) + static_cast<size_t>(column) * element);
    }
  }
  return Status::Ok();
}

void RegisterMlValueKernel(KernelRegistry& registry, const char* op, KernelFactory factory) {
  KernelDef def;
  def.op_type = op;
  def.domain = kMlDomain;
  def.since_opset = 1;
  def.factory = std::move(factory);
  def.takes_values = true;
  registry.Register(std::move(def));
}

}  // namespace

void RegisterMlMapKernels(KernelRegistry& registry) {
  RegisterMlValueKernel(registry, "ZipMap", MakeFunctionKernel(RunZipMap));
  RegisterMlValueKernel(registry, "CastMap", MakeFunctionKernel(RunCastMap));
  RegisterMlValueKernel(registry, "DictVectorizer", MakeFunctionKernel(RunDictVectorizer));
}

}  // namespace tessera
