// A oneDNN matmul for one node: float32, or int8 x int8 -> int32. C = alpha * A x B (+ C when
// accumulating; float32 may add a bias row and GELU, see SetEpilogue), with numpy batch broadcasting (a
// batch dim of A or B may be 1) and arbitrary strides (Gemm's transposes are strides).
//
// The primitive is built on the first Run with a given set of shapes and strides and kept; a different
// shape builds (and caches) another. When B is a constant initializer, SetConstantB hands it over once:
// B is reordered into the layout oneDNN prefers for the primitive (format `any`), so the per-run cost is
// only the multiplication. Primitives that want the same layout share one packed copy, so a model run at
// many sequence lengths keeps one copy of its weights, not one per length; past kMaxCachedShapes shapes
// the primitive cache starts over.
#pragma once

#include <dnnl.hpp>
#include <map>
#include <memory>
#include <vector>

#include "ops/cpu/matmul/matmul_gemv_panels.h"
#include "tessera/tensor.h"

namespace tessera {

// Dims and strides (in elements) of one operand; all three operands of a call have the same rank.
struct DnnlMatrixDesc {
  std::vector<int64_t> dims;
  std::vector<int64_t> strides;
};

class DnnlMatMul {
 public:
  // alpha scales the product; with `accumulate` the product is added to what C already holds.
  explicit DnnlMatMul(float alpha = 1.0f, bool accumulate = false) : alpha_(alpha), accumulate_(accumulate) {}
  // An integer product: A of `a_type` (u8/s8) times B of `b_type` (s8) into int32 C.
  DnnlMatMul(dnnl::memory::data_type a_type, dnnl::memory::data_type b_type)
      : alpha_(1.0f), accumulate_(false), a_type_(a_type), b_type_(b_type), c_type_(dnnl::memory::data_type::s32) {}

  // Marks B as constant: Run calls whose b pointer is `b` use a pre-packed copy. `b` must stay alive
  // (the kernel keeps the initializer's Tensor) and must not change, until DropConstantSource.
  // Packing goes slab by slab, and each slab of the original's pages that lies in a mapped file is
  // dropped once packed (re-read from the file if ever needed), so a large weight is not held twice.
  // With `consumable` the caller is B's last reader: slabs in pages of the weight's own
  // (core/resident_pages.h: kOwnWeight) are handed back too, so after the first packing only the packed
  // copy holds B and later layouts are reordered from it.
  void SetConstantB(const void* b, bool consumable = false) {
    constant_b_ = b;
    consumable_b_ = consumable;
  }

  // Once some primitive has packed the constant B, stops using the original: Run then takes b == nullptr
  // for the constant, and a layout not packed yet is reordered from the packed copy, so the caller may
  // free the original. Returns whether it did (false, changing nothing, while no packed copy exists).
  bool DropConstantSource() {
    if (packed_.empty()) return false;
    constant_b_ = nullptr;
    source_dropped_ = true;
    return true;
  }

  // The packed constant B as panels of 64 columns (oneDNN's BA16a64b, which its brgemm kernels choose for a
  // 2-D float32 B on AVX-512; see matmul_gemv_panels.h), once some primitive has packed it so; data is null
  // otherwise (not packed yet, another layout, another dtype or rank).
  PanelMatrix PackedPanels() const;

  // An epilogue fused into the product (float32 only): C = act(A x B + bias), bias a constant [N] vector
  // broadcast over rows (nullptr for none; must stay alive like a constant B) and act the identity or
  // GELU with erf. Call before the first Run.
  void SetEpilogue(const float* bias, bool gelu_erf) {
    bias_ = bias;
    gelu_erf_ = gelu_erf;
  }

  // C = alpha * A x B (+ C). C must be contiguous with dims equal to the broadcast of A and B. Threads is
  // the OpenMP thread count oneDNN may use. Returns an error if oneDNN rejects the problem.
  Status Run(const float* a, const DnnlMatrixDesc& a_desc, const float* b, const DnnlMatrixDesc& b_desc, float* c,
             const DnnlMatrixDesc& c_desc, int threads) {
    return RunRaw(a, a_desc, b, b_desc, c, c_desc, threads);
  }
  // The same for the data types given at construction.
  Status RunRaw(const void* a, const DnnlMatrixDesc& a_desc, const void* b, const DnnlMatrixDesc& b_desc, void* c,
                const DnnlMatrixDesc& c_desc, int threads);

 private:
  static constexpr size_t kMaxCachedShapes = 64;

  struct Entry {
    dnnl::matmul primitive;
    dnnl::memory::desc a_md, b_md, c_md;
    dnnl::memory packed_b;  // the constant B in b_md's layout; empty unless B is the constant one
    dnnl::memory::desc bias_md;  // zero desc unless the epilogue has a bias
    bool b_packed = false;
  };
  // The constant B in the layout `desc`, reordered on first request (from packed_[0] once the original
  // is dropped).
  StatusOr<dnnl::memory> PackedB(const dnnl::memory::desc& plain, const dnnl::memory::desc& desc, const void* b_data);
  // Reorders the original B into `packed` one slab of its outermost dimension at a time, letting each
  // slab's pages go after it (see SetConstantB). Returns false, doing nothing, where oneDNN cannot cut
  // the packed layout at slab borders; the caller then reorders the whole.
  bool PackInSlabs(const dnnl::memory::desc& plain, const void* b_data, dnnl::memory& packed);
  Status Build(const DnnlMatrixDesc& a, const DnnlMatrixDesc& b, const DnnlMatrixDesc& c, bool pack_b,
               const void* b_data, Entry& entry);

  float alpha_;
  bool accumulate_;
  dnnl::memory::data_type a_type_ = dnnl::memory::data_type::f32;
  dnnl::memory::data_type b_type_ = dnnl::memory::data_type::f32;
  dnnl::memory::data_type c_type_ = dnnl::memory::data_type::f32;
  const void* constant_b_ = nullptr;
  bool consumable_b_ = false;
  bool source_dropped_ = false;  // the constant B lives on only in packed_
  const float* bias_ = nullptr;
  bool gelu_erf_ = false;
  // Keyed by the dims and strides of A, B and C (and whether B is the constant one).
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> cache_;
  std::vector<dnnl::memory> packed_;  // copies of the constant B, one per layout some primitive chose
};

// Whether oneDNN's int8 matmul is exact on this CPU: with AVX-512 VNNI it accumulates u8 x s8 products
// straight into int32; older ISAs go through saturating int16 pair sums. The environment variable
// TESSERA_DNNL_INT8=0 turns the oneDNN int8 path off (tests use it to cover the plain path on VNNI CPUs).
bool DnnlInt8IsExact();

// Dims and row-major strides for a contiguous tensor of `dims`.
DnnlMatrixDesc ContiguousMatrix(std::vector<int64_t> dims);

}  // namespace tessera
