// Einsum, reduced to strided copies, sums and batched matrix products.
//
// Each operand first loses its repeated labels (a diagonal is a strided view with summed strides) and the
// labels nobody else needs (summed out). Operands are then contracted left to right: for a pair, labels in
// both that are still needed later are batch dims, labels in both that are not are the K of a batched
// MatMul, and the rest are M or N; both sides are copied into [batch, M, K] / [batch, K, N] order (size-1
// dims broadcast through stride 0) and multiplied. The result is finally summed and permuted into the
// output's order.
#include <algorithm>
#include <memory>
#include <string>

#include "ops/cpu/matmul/einsum_parse.h"
#include "ops/cpu/matmul/matmul_batched.h"
#include "ops/cpu/matmul/matmul_family.h"
#include "ops/cpu/matmul/matmul_inputs.h"
#include "ops/cpu/matmul/matmul_scratch.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

template <typename T>
struct EinsumOperand {
  std::vector<T> data;
  std::vector<int> labels;  // unique after TakeDiagonals
  Shape dims;
};

int64_t Product(const Shape& s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

bool Contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Collapses repeated labels onto their diagonal and copies the input into owned, contiguous memory.
template <typename T>
StatusOr<EinsumOperand<T>> TakeDiagonals(const Tensor& t, const std::vector<int>& labels) {
  EinsumOperand<T> op;
  std::vector<int64_t> strides;
  const std::vector<int64_t> own = ContiguousStrides(t.shape());
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = std::find(op.labels.begin(), op.labels.end(), labels[i]);
    if (it == op.labels.end()) {
      op.labels.push_back(labels[i]);
      op.dims.push_back(t.dim(static_cast<int64_t>(i)));
      strides.push_back(own[i]);
      continue;
    }
    const size_t j = static_cast<size_t>(it - op.labels.begin());
    if (op.dims[j] != t.dim(static_cast<int64_t>(i))) {
      return KernelContext::Error("Einsum repeated label spans dims of different sizes in input shape " +
                                  ShapeToString(t.shape()));
    }
    strides[j] += own[i];
  }
  op.data.resize(static_cast<size_t>(Product(op.dims)));
  GatherStridedView(t.data<T>(), op.dims, strides, op.data.data());
  return op;
}

// Copies `op` into the label order `order`, each dim sized `sizes[label]` (size-1 dims broadcast).
template <typename T>
std::vector<T> Arrange(const EinsumOperand<T>& op, const std::vector<int>& order, const std::vector<int64_t>& sizes) {
  const std::vector<int64_t> own = ContiguousStrides(op.dims);
  Shape dims;
  std::vector<int64_t> strides;
  for (int label : order) {
    const size_t j = static_cast<size_t>(std::find(op.labels.begin(), op.labels.end(), label) - op.labels.begin());
    const int64_t size = sizes[static_cast<size_t>(label)];
    dims.push_back(size);
    strides.push_back(op.dims[j] == 1 && size != 1 ? 0 : own[j]);
  }
  std::vector<T> out(static_cast<size_t>(Product(dims)));
  GatherStridedView(op.data.data(), dims, strides, out.data());
  return out;
}

// Sums out every label of `op` not in `keep`.
template <typename T>
void SumOut(EinsumOperand<T>& op, const std::vector<int>& keep) {
  using Traits = NumericTraits<T>;
  std::vector<int> kept, summed;
  Shape kept_dims;
  int64_t inner = 1;
  for (size_t i = 0; i < op.labels.size(); ++i) {
    if (Contains(keep, op.labels[i])) {
      kept.push_back(op.labels[i]);
      kept_dims.push_back(op.dims[i]);
    } else {
      summed.push_back(op.labels[i]);
      inner *= op.dims[i];
    }
  }
  if (summed.empty()) return;
  std::vector<int64_t> sizes(kMaxEinsumLabels, 1);
  for (size_t i = 0; i < op.labels.size(); ++i) sizes[static_cast<size_t>(op.labels[i])] = op.dims[i];
  std::vector<int> order = kept;
  order.insert(order.end(), summed.begin(), summed.end());
  const std::vector<T> arranged = Arrange(op, order, sizes);
  const int64_t outer = Product(kept_dims);
  op.data.assign(static_cast<size_t>(outer), T{});
  for (int64_t o = 0; o < outer; ++o) {
    typename Traits::Compute acc = 0;
    for (int64_t i = 0; i < inner; ++i) acc += Traits::Load(arranged[static_cast<size_t>(o * inner + i)]);
    op.data[static_cast<size_t>(o)] = Traits::Store(acc);
  }
  op.labels = kept;
  op.dims = kept_dims;
}

class EinsumKernel : public Kernel {
 public:
  explicit EinsumKernel(std::string equation) : equation_(std::move(equation)) {}

  Status Run(KernelContext& ctx) override {
    if (ctx.input_count() == 0) return KernelContext::Error("Einsum needs at least one input");
    std::vector<int64_t> ranks;
    for (size_t i = 0; i < ctx.input_count(); ++i) {
      TS_RETURN_IF_ERROR(RequirePresentInputs(ctx, {i}, "Einsum"));
      if (ctx.input(i).dtype() != ctx.input(0).dtype()) {
        return KernelContext::Error("Einsum inputs must share a dtype: input 0 is " +
                                    std::string(DTypeName(ctx.input(0).dtype())) + ", input " + std::to_string(i) +
                                    " is " + DTypeName(ctx.input(i).dtype()));
      }
      ranks.push_back(ctx.input(i).rank());
    }
    TS_ASSIGN_OR_RETURN(EinsumEquation eq, ParseEinsum(equation_, ranks));
    return DispatchNumericWithHalf(
        ctx.input(0).dtype(), [&](auto tag) { return Compute<decltype(tag)>(ctx, eq); }, "Einsum");
  }

 private:
  template <typename T>
  Status Compute(KernelContext& ctx, const EinsumEquation& eq) {
    // Every label's size; size-1 dims broadcast against larger ones.
    std::vector<int64_t> sizes(kMaxEinsumLabels, 1);
    for (size_t i = 0; i < eq.inputs.size(); ++i) {
      for (size_t d = 0; d < eq.inputs[i].size(); ++d) {
        int64_t& s = sizes[static_cast<size_t>(eq.inputs[i][d])];
        const int64_t dim = ctx.input(i).dim(static_cast<int64_t>(d));
        if (dim != 1 && s != 1 && s != dim) {
          return KernelContext::Error("Einsum label sizes disagree: input " + std::to_string(i) + " " +
                                      ShapeToString(ctx.input(i).shape()) + " in '" + equation_ + "'");
        }
        if (dim != 1) s = dim;
      }
    }
    std::vector<EinsumOperand<T>> ops;
    for (size_t i = 0; i < eq.inputs.size(); ++i) {
      TS_ASSIGN_OR_RETURN(EinsumOperand<T> op, TakeDiagonals<T>(ctx.input(i), eq.inputs[i]));
      ops.push_back(std::move(op));
    }
    // Labels needed after operand i: the output's and those of every other operand.
    auto needed_by_others = [&](size_t skip_from, size_t skip_to) {
      std::vector<int> labels = eq.output;
      for (size_t j = 0; j < ops.size(); ++j) {
        if (j < skip_from || j > skip_to) labels.insert(labels.end(), ops[j].labels.begin(), ops[j].labels.end());
      }
      return labels;
    };
    for (size_t i = 0; i < ops.size(); ++i) SumOut(ops[i], needed_by_others(i, i));
    EinsumOperand<T> acc = std::move(ops[0]);
    for (size_t i = 1; i < ops.size(); ++i) {
      const std::vector<int> later = needed_by_others(0, i);
      TS_ASSIGN_OR_RETURN(acc, Contract(acc, ops[i], later, sizes, ctx.pool()));
    }
    SumOut(acc, eq.output);
    Shape out_shape;
    for (int label : eq.output) out_shape.push_back(sizes[static_cast<size_t>(label)]);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, ctx.input(0).dtype(), out_shape));
    const std::vector<T> arranged = Arrange(acc, eq.output, sizes);
    std::copy(arranged.begin(), arranged.end(), y->data<T>());
    return Status::Ok();
  }

  // a x b over their shared labels; labels in `keep` survive as batch dims.
  template <typename T>
  StatusOr<EinsumOperand<T>> Contract(const EinsumOperand<T>& a, const EinsumOperand<T>& b,
                                      const std::vector<int>& keep, const std::vector<int64_t>& sizes,
                                      ThreadPool& pool) {
    std::vector<int> batch, m_labels, k_labels, n_labels;
    for (int label : a.labels) {
      if (!Contains(b.labels, label))
        m_labels.push_back(label);
      else if (Contains(keep, label))
        batch.push_back(label);
      else
        k_labels.push_back(label);
    }
    for (int label : b.labels) {
      if (!Contains(a.labels, label)) n_labels.push_back(label);
    }
    auto size_of = [&](std::vector<int> labels, const std::vector<int>& more = {}, const std::vector<int>& last = {}) {
      labels.insert(labels.end(), more.begin(), more.end());
      labels.insert(labels.end(), last.begin(), last.end());
      std::vector<int64_t> dims;
      for (int l : labels) dims.push_back(sizes[static_cast<size_t>(l)]);
      return ScratchElementCount(dims);
    };
    // The broadcast operands and the product must fit the allocation limit (an outer product can explode).
    TS_RETURN_IF_ERROR(CheckScratchSize(size_of(batch, m_labels, k_labels), sizeof(T), "Einsum operand"));
    TS_RETURN_IF_ERROR(CheckScratchSize(size_of(batch, k_labels, n_labels), sizeof(T), "Einsum operand"));
    TS_RETURN_IF_ERROR(CheckScratchSize(size_of(batch, m_labels, n_labels), sizeof(T), "Einsum intermediate"));
    const int64_t bt = size_of(batch), m = size_of(m_labels), k = size_of(k_labels), n = size_of(n_labels);
    std::vector<int> a_order = batch, b_order = batch;
    a_order.insert(a_order.end(), m_labels.begin(), m_labels.end());
    a_order.insert(a_order.end(), k_labels.begin(), k_labels.end());
    b_order.insert(b_order.end(), k_labels.begin(), k_labels.end());
    b_order.insert(b_order.end(), n_labels.begin(), n_labels.end());
    const std::vector<T> am = Arrange(a, a_order, sizes), bm = Arrange(b, b_order, sizes);
    EinsumOperand<T> out;
    out.labels = batch;
    out.labels.insert(out.labels.end(), m_labels.begin(), m_labels.end());
    out.labels.insert(out.labels.end(), n_labels.begin(), n_labels.end());
    for (int l : out.labels) out.dims.push_back(sizes[static_cast<size_t>(l)]);
    out.data.assign(static_cast<size_t>(bt * m * n), T{});
    if (bt * m * n == 0 || k == 0) return out;
    TS_ASSIGN_OR_RETURN(MatMulPlan plan, PlanMatMul({bt, m, k}, {bt, k, n}));
    if constexpr (std::is_same_v<T, float>) {
      TS_RETURN_IF_ERROR(DnnlBatchedMatMul(dnnl_, am.data(), bm.data(), out.data.data(), plan, true, pool.threads()));
    } else {
      ReferenceBatchedMatMul<T>(am.data(), bm.data(), out.data.data(), plan, pool);
    }
    return out;
  }

  std::string equation_;
  DnnlMatMul dnnl_;
};

}  // namespace

StatusOr<std::unique_ptr<Kernel>> MakeEinsumKernel(const KernelInit& init) {
  if (!init.node.HasAttribute("equation")) return KernelContext::Error("Einsum needs the 'equation' attribute");
  return std::unique_ptr<Kernel>(std::make_unique<EinsumKernel>(init.node.GetString("equation", "")));
}

}  // namespace tessera
