// LabelEncoder and CategoryMapper (ai.onnx.ml): each input value looked up in a key -> value table, a
// default where it is absent.
// - LabelEncoder-1: classes_strings; a string maps to its index (default_int64), an int64 index to its
//   string (default_string).
// - LabelEncoder-2: keys_{floats,int64s,strings} -> values_{floats,int64s,strings}; the input's type is
//   the keys' and the output's the values'. Defaults: default_float (-0.0), default_int64 (-1),
//   default_string ("_Unused").
// - LabelEncoder-4: keys_tensor / values_tensor / default_tensor too, for any numeric or string type.
// - CategoryMapper: cats_strings <-> cats_int64s, the direction given by the input's type.
// Float keys compare by value with NaN matching NaN, as ONNX Runtime does.
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/cpu/ml/ml_common.h"
#include "ops/cpu/ml/ml_kernels.h"

namespace tessera {
namespace {

enum class Kind { kString, kInt, kFloat };

Kind KindOf(DType t) {
  if (t == DType::kString) return Kind::kString;
  if (t == DType::kFloat32 || t == DType::kFloat64) return Kind::kFloat;
  return Kind::kInt;
}

// One column of the table (keys or values), as strings, integers or doubles by its kind.
struct Column {
  DType dtype = DType::kUndefined;
  std::vector<std::string> s;
  std::vector<int64_t> i;
  std::vector<double> f;
  size_t size() const {
    return KindOf(dtype) == Kind::kString ? s.size() : KindOf(dtype) == Kind::kInt ? i.size() : f.size();
  }
};

StatusOr<Column> ColumnOfTensor(const Tensor& t, const char* what) {
  Column c;
  c.dtype = t.dtype();
  const int64_t n = t.element_count();
  switch (t.dtype()) {
    case DType::kString: c.s.assign(t.data<std::string>(), t.data<std::string>() + n); break;
    case DType::kFloat32: for (int64_t k = 0; k < n; ++k) c.f.push_back(t.data<float>()[k]); break;
    case DType::kFloat64: for (int64_t k = 0; k < n; ++k) c.f.push_back(t.data<double>()[k]); break;
    case DType::kInt64: for (int64_t k = 0; k < n; ++k) c.i.push_back(t.data<int64_t>()[k]); break;
    case DType::kInt32: for (int64_t k = 0; k < n; ++k) c.i.push_back(t.data<int32_t>()[k]); break;
    case DType::kInt16: for (int64_t k = 0; k < n; ++k) c.i.push_back(t.data<int16_t>()[k]); break;
    default:
      return KernelContext::Error(std::string("attribute '") + what + "' has dtype " + DTypeName(t.dtype()) +
                                  ", not a string, float, double, int64, int32 or int16");
  }
  return c;
}

// The keys (or values) named by the attributes `<prefix>_{strings,int64s,floats,tensor}`; at most one.
StatusOr<Column> ReadColumn(const Node& node, const std::string& prefix) {
  std::vector<Column> found;
  if (const Attribute* a = node.FindAttribute(prefix + "_strings")) {
    Column c;
    c.dtype = DType::kString;
    c.s = a->strings;
    found.push_back(c);
  }
  if (const Attribute* a = node.FindAttribute(prefix + "_int64s")) {
    Column c;
    c.dtype = DType::kInt64;
    c.i = a->ints;
    found.push_back(c);
  }
  if (const Attribute* a = node.FindAttribute(prefix + "_floats")) {
    Column c;
    c.dtype = DType::kFloat32;
    c.f.assign(a->floats.begin(), a->floats.end());
    found.push_back(c);
  }
  if (const Attribute* a = node.FindAttribute(prefix + "_tensor")) {
    TS_ASSIGN_OR_RETURN(Column c, ColumnOfTensor(a->t, (prefix + "_tensor").c_str()));
    found.push_back(c);
  }
  if (found.size() != 1) {
    return KernelContext::Error("exactly one of the attributes " + prefix + "_strings, " + prefix + "_int64s, " +
                                prefix + "_floats and " + prefix + "_tensor must be given");
  }
  return found[0];
}

class TableKernel : public Kernel {
 public:
  TableKernel(Column keys, Column values, Column fallback)
      : keys_(std::move(keys)), values_(std::move(values)), default_(std::move(fallback)) {
    for (size_t k = 0; k < keys_.size(); ++k) {
      switch (KindOf(keys_.dtype)) {
        case Kind::kString: by_string_.emplace(keys_.s[k], k); break;
        case Kind::kInt: by_int_.emplace(keys_.i[k], k); break;
        case Kind::kFloat:
          if (std::isnan(keys_.f[k])) {
            if (nan_index_ < 0) nan_index_ = static_cast<int64_t>(k);
          } else {
            by_float_.emplace(keys_.f[k], k);
          }
          break;
      }
    }
  }

  Status Run(KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (KindOf(x.dtype()) != KindOf(keys_.dtype) || (x.dtype() != keys_.dtype && KindOf(x.dtype()) == Kind::kString)) {
      return KernelContext::Error("input 'X' is " + std::string(DTypeName(x.dtype())) + " but the keys are " +
                                  DTypeName(keys_.dtype));
    }
    TS_ASSIGN_OR_RETURN(Column input, ColumnOfTensor(x, "X"));
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateOutput(0, values_.dtype, x.shape()));
    for (int64_t k = 0; k < x.element_count(); ++k) Write(*y, k, Find(input, static_cast<size_t>(k)));
    return Status::Ok();
  }

 private:
  // Index of input element k in the keys, or -1.
  int64_t Find(const Column& input, size_t k) const {
    switch (KindOf(keys_.dtype)) {
      case Kind::kString: {
        auto it = by_string_.find(input.s[k]);
        return it == by_string_.end() ? -1 : static_cast<int64_t>(it->second);
      }
      case Kind::kInt: {
        auto it = by_int_.find(input.i[k]);
        return it == by_int_.end() ? -1 : static_cast<int64_t>(it->second);
      }
      case Kind::kFloat: {
        if (std::isnan(input.f[k])) return nan_index_;
        auto it = by_float_.find(input.f[k]);
        return it == by_float_.end() ? -1 : static_cast<int64_t>(it->second);
      }
    }
    return -1;
  }

  void Write(Tensor& y, int64_t at, int64_t index) const {
    const Column& from = index < 0 ? default_ : values_;
    const size_t k = index < 0 ? 0 : static_cast<size_t>(index);
    switch (y.dtype()) {
      case DType::kString: y.data<std::string>()[at] = from.s[k]; break;
      case DType::kFloat32: y.data<float>()[at] = static_cast<float>(from.f[k]); break;
      case DType::kFloat64: y.data<double>()[at] = from.f[k]; break;
      case DType::kInt64: y.data<int64_t>()[at] = from.i[k]; break;
      case DType::kInt32: y.data<int32_t>()[at] = static_cast<int32_t>(from.i[k]); break;
      case DType::kInt16: y.data<int16_t>()[at] = static_cast<int16_t>(from.i[k]); break;
      default: break;
    }
  }

  Column keys_, values_, default_;
  std::unordered_map<std::string, size_t> by_string_;
  std::unordered_map<int64_t, size_t> by_int_;
  std::map<double, size_t> by_float_;
  int64_t nan_index_ = -1;
};

// The default of a values column: default_tensor, or default_<string|int64|float>.
StatusOr<Column> DefaultFor(const Node& node, const Column& values) {
  Column d;
  d.dtype = values.dtype;
  if (const Attribute* a = node.FindAttribute("default_tensor")) {
    TS_ASSIGN_OR_RETURN(d, ColumnOfTensor(a->t, "default_tensor"));
    if (d.dtype != values.dtype || d.size() != 1) {
      return KernelContext::Error("attribute 'default_tensor' must hold one value of the values' dtype");
    }
    return d;
  }
  d.s.push_back(node.GetString("default_string", "_Unused"));
  d.i.push_back(node.GetInt("default_int64", -1));
  d.f.push_back(node.GetFloat("default_float", -0.0f));
  return d;
}

Column Indices(size_t n) {
  Column c;
  c.dtype = DType::kInt64;
  for (size_t k = 0; k < n; ++k) c.i.push_back(static_cast<int64_t>(k));
  return c;
}

StatusOr<std::unique_ptr<Kernel>> CreateLabelEncoder(const KernelInit& init) {
  const Node& node = init.node;
  if (node.opset < 2) {
    // Version 1: classes_strings both ways; the direction comes from the input at run time, so both
    // tables are built and the kernel for the input's type is chosen by the declared input type.
    Column strings;
    strings.dtype = DType::kString;
    if (const Attribute* a = node.FindAttribute("classes_strings")) strings.s = a->strings;
    const DType in = node.inputs.empty() || node.inputs[0] < 0 ? DType::kUndefined
                                                               : init.graph.value(node.inputs[0]).dtype;
    Column fallback = {};
    if (in == DType::kInt64) {
      fallback.dtype = DType::kString;
      fallback.s.push_back(node.GetString("default_string", "_Unused"));
      return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(Indices(strings.s.size()), strings, fallback));
    }
    fallback.dtype = DType::kInt64;
    fallback.i.push_back(node.GetInt("default_int64", -1));
    return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(strings, Indices(strings.s.size()), fallback));
  }
  TS_ASSIGN_OR_RETURN(Column keys, ReadColumn(node, "keys"));
  TS_ASSIGN_OR_RETURN(Column values, ReadColumn(node, "values"));
  if (keys.size() != values.size()) {
    return KernelContext::Error("the keys (" + std::to_string(keys.size()) + ") and values (" +
                                std::to_string(values.size()) + ") differ in count");
  }
  TS_ASSIGN_OR_RETURN(Column fallback, DefaultFor(node, values));
  return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(keys, values, fallback));
}

StatusOr<std::unique_ptr<Kernel>> CreateCategoryMapper(const KernelInit& init) {
  const Node& node = init.node;
  Column strings, ints;
  strings.dtype = DType::kString;
  ints.dtype = DType::kInt64;
  if (const Attribute* a = node.FindAttribute("cats_strings")) strings.s = a->strings;
  ints.i = node.GetInts("cats_int64s");
  if (strings.s.size() != ints.i.size()) {
    return KernelContext::Error("attributes 'cats_strings' and 'cats_int64s' differ in length");
  }
  const DType in =
      node.inputs.empty() || node.inputs[0] < 0 ? DType::kUndefined : init.graph.value(node.inputs[0]).dtype;
  Column fallback;
  if (in == DType::kInt64) {
    fallback.dtype = DType::kString;
    fallback.s.push_back(node.GetString("default_string", "_Unused"));
    return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(ints, strings, fallback));
  }
  fallback.dtype = DType::kInt64;
  fallback.i.push_back(node.GetInt("default_int64", -1));
  return std::unique_ptr<Kernel>(std::make_unique<TableKernel>(strings, ints, fallback));
}

}  // namespace

void RegisterMlLabelKernels(KernelRegistry& registry) {
  RegisterMl(registry, "LabelEncoder", 1, CreateLabelEncoder);
  RegisterMl(registry, "CategoryMapper", 1, CreateCategoryMapper);
}

}  // namespace tessera
