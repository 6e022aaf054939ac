// PlanMatMul: numpy.matmul's shape rules and per-batch matrix offsets.
#include "ops/cpu/matmul/matmul_shape.h"

#include <string>

#include "ops/cpu/matmul/matmul_scratch.h"
#include "ops/kernel.h"
#include "ops/op_helpers.h"

namespace tessera {

StatusOr<MatMulPlan> PlanMatMul(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) {
    return KernelContext::Error("MatMul operands must have rank >= 1, got A " + ShapeToString(a) + " and B " +
                                ShapeToString(b));
  }
  Shape a2 = a, b2 = b;
  if (a2.size() == 1) a2.insert(a2.begin(), 1);
  if (b2.size() == 1) b2.push_back(1);
  MatMulPlan plan;
  plan.m = a2[a2.size() - 2];
  plan.k = a2.back();
  plan.n = b2.back();
  if (b2[b2.size() - 2] != plan.k) {
    return KernelContext::Error("MatMul inner dimensions differ: A " + ShapeToString(a) +
                                " has K=" + std::to_string(plan.k) + " but B " + ShapeToString(b) +
                                " has K=" + std::to_string(b2[b2.size() - 2]));
  }
  const Shape a_batch(a2.begin(), a2.end() - 2), b_batch(b2.begin(), b2.end() - 2);
  auto batch = BroadcastShapes(a_batch, b_batch);
  if (!batch.ok()) {
    return KernelContext::Error("MatMul batch dimensions of A " + ShapeToString(a) + " and B " + ShapeToString(b) +
                                " do not broadcast");
  }
  plan.batch = *batch;
  plan.a_batch = Shape(plan.batch.size() - a_batch.size(), 1);
  plan.a_batch.insert(plan.a_batch.end(), a_batch.begin(), a_batch.end());
  plan.b_batch = Shape(plan.batch.size() - b_batch.size(), 1);
  plan.b_batch.insert(plan.b_batch.end(), b_batch.begin(), b_batch.end());
  plan.out_shape = plan.batch;
  if (a.size() > 1) plan.out_shape.push_back(plan.m);
  if (b.size() > 1) plan.out_shape.push_back(plan.n);
  const int64_t out_count = ScratchElementCount(plan.out_shape);
  TS_RETURN_IF_ERROR(CheckScratchSize(out_count, sizeof(float), "MatMul output"));
  // An empty output needs no per-matrix offsets (and its batch may still be huge: [1e9, 0, 4]).
  if (out_count == 0) return plan;
  const int64_t count = ScratchElementCount(plan.batch);
  TS_RETURN_IF_ERROR(CheckScratchSize(count, 2 * sizeof(int64_t), "MatMul batch offsets"));
  plan.a_offsets.reserve(static_cast<size_t>(count));
  plan.b_offsets.reserve(static_cast<size_t>(count));
  if (plan.batch.empty()) {
    plan.a_offsets.push_back(0);
    plan.b_offsets.push_back(0);
  } else {
    ForEachBroadcast2(plan.batch, BroadcastStrides(a_batch, plan.batch), BroadcastStrides(b_batch, plan.batch),
                      [&](int64_t, int64_t ai, int64_t bi) {
                        plan.a_offsets.push_back(ai);
                        plan.b_offsets.push_back(bi);
                      });
  }
  return plan;
}

}  // namespace tessera
