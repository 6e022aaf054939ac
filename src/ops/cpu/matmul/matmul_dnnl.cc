// DnnlMatMul: primitive construction, caching by shape, and constant-B pre-packing (slab by slab).
#include "ops/cpu/matmul/matmul_dnnl.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/resident_pages.h"
#include "ops/cpu/common/dnnl_context.h"

namespace tessera {

DnnlMatrixDesc ContiguousMatrix(std::vector<int64_t> dims) {
  DnnlMatrixDesc d;
  d.strides.assign(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) d.strides[i - 1] = d.strides[i] * std::max<int64_t>(dims[i], 1);
  d.dims = std::move(dims);
  return d;
}

namespace {

// Bytes of the original B packed at a time: what packing holds twice at most (see SetConstantB).
constexpr size_t kPackSlabBytes = size_t{2} << 20;

dnnl::memory::desc PlainDesc(const DnnlMatrixDesc& d, dnnl::memory::data_type type) {
  return dnnl::memory::desc(dnnl::memory::dims(d.dims.begin(), d.dims.end()), type,
                            dnnl::memory::dims(d.strides.begin(), d.strides.end()));
}

}  // namespace

bool DnnlInt8IsExact() {
  const char* env = std::getenv("TESSERA_DNNL_INT8");
  if (env != nullptr && std::string(env) == "0") return false;
  const unsigned vnni = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & vnni) == vnni;
}

Status DnnlMatMul::Build(const DnnlMatrixDesc& a, const DnnlMatrixDesc& b, const DnnlMatrixDesc& c, bool pack_b,
                         const void* b_data, Entry& entry) {
  try {
    entry.a_md = PlainDesc(a, a_type_);
    entry.c_md = PlainDesc(c, c_type_);
    const dnnl::memory::desc b_plain = PlainDesc(b, b_type_);
    const dnnl::memory::desc b_any(dnnl::memory::dims(b.dims.begin(), b.dims.end()), b_type_,
                                   dnnl::memory::format_tag::any);
    dnnl::primitive_attr attr;
    if (alpha_ != 1.0f) attr.set_output_scales(0, {alpha_});
    dnnl::post_ops ops;
    if (accumulate_) ops.append_sum(1.0f);
    if (gelu_erf_) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (ops.len() > 0) attr.set_post_ops(ops);
    if (bias_ != nullptr) {
      // [1, ..., 1, N]: one bias per output column, broadcast over the batch and rows.
      std::vector<int64_t> bias_dims(c.dims.size(), 1);
      bias_dims.back() = c.dims.back();
      entry.bias_md = PlainDesc(ContiguousMatrix(std::move(bias_dims)), dnnl::memory::data_type::f32);
    }
    dnnl::matmul::desc desc = bias_ != nullptr
                                  ? dnnl::matmul::desc(entry.a_md, pack_b ? b_any : b_plain, entry.bias_md, entry.c_md)
                                  : dnnl::matmul::desc(entry.a_md, pack_b ? b_any : b_plain, entry.c_md);
    dnnl::matmul::primitive_desc pd(desc, attr, DnnlEngine());
    entry.primitive = dnnl::matmul(pd);
    entry.b_md = pd.weights_desc();
    if (pack_b) {
      TS_ASSIGN_OR_RETURN(entry.packed_b, PackedB(b_plain, entry.b_md, b_data));
      entry.b_packed = true;
    }
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul setup failed: ") + e.what());
  }
  return Status::Ok();
}

PanelMatrix DnnlMatMul::PackedPanels() const {
  for (const dnnl::memory& m : packed_) {
    const dnnl::memory::desc desc = m.get_desc();
    const dnnl_memory_desc_t& d = desc.data;
    if (d.ndims != 2 || d.data_type != dnnl_f32 || d.format_kind != dnnl_blocked) continue;
    const dnnl_blocking_desc_t& blocking = d.format_desc.blocking;
    const bool panels = blocking.inner_nblks == 2 && blocking.inner_idxs[0] == 0 && blocking.inner_blks[0] == 16 &&
                        blocking.inner_idxs[1] == 1 && blocking.inner_blks[1] == kPanelColumns &&
                        blocking.strides[0] == 16 * kPanelColumns &&
                        blocking.strides[1] == d.padded_dims[0] * kPanelColumns && d.offset0 == 0;
    if (!panels) continue;
    PanelMatrix out;
    out.data = static_cast<const float*>(m.get_data_handle());
    out.k = d.dims[0];
    out.n = d.dims[1];
    out.k_padded = d.padded_dims[0];
    return out;
  }
  return PanelMatrix{};
}

StatusOr<dnnl::memory> DnnlMatMul::PackedB(const dnnl::memory::desc& plain, const dnnl::memory::desc& desc,
                                           const void* b_data) {
  for (const dnnl::memory& m : packed_) {
    if (m.get_desc() == desc) return m;
  }
  try {
    dnnl::memory packed(desc, DnnlEngine());
    if (source_dropped_ || !PackInSlabs(plain, b_data, packed)) {
      dnnl::memory src =
          source_dropped_ ? packed_.front() : dnnl::memory(plain, DnnlEngine(), const_cast<void*>(b_data));
      dnnl::reorder(src, packed).execute(DnnlStream(), src, packed);
      DnnlStream().wait();
    }
    packed_.push_back(packed);
    return packed;
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN weight packing failed: ") + e.what());
  }
}

bool DnnlMatMul::PackInSlabs(const dnnl::memory::desc& plain, const void* b_data, dnnl::memory& packed) {
  const dnnl_memory_desc_t& source = plain.data;
  const dnnl_memory_desc_t& target = packed.get_desc().data;
  if (source.ndims != 2 || target.format_kind != dnnl_blocked || b_data == nullptr) return false;
  // Slabs along the dimension with the larger stride, so that each slab is one run of the original's bytes.
  const int outer = source.format_desc.blocking.strides[0] >= source.format_desc.blocking.strides[1] ? 0 : 1;
  const int64_t extent = source.dims[outer];
  const size_t slab_stride = static_cast<size_t>(source.format_desc.blocking.strides[outer]) *
                             dnnl::memory::data_type_size(static_cast<dnnl::memory::data_type>(source.data_type));
  const size_t total = static_cast<size_t>(extent) * slab_stride;
  if (total < 2 * kPackSlabBytes) return false;  // one slab: nothing to gain
  // A slab starts at a multiple of the packed layout's block on that dimension, as oneDNN's sub-memories
  // require; it spans whole blocks, or is the remainder at the end.
  int64_t block = 1;
  for (int i = 0; i < target.format_desc.blocking.inner_nblks; ++i) {
    if (target.format_desc.blocking.inner_idxs[i] == outer) block *= target.format_desc.blocking.inner_blks[i];
  }
  const int64_t slab = std::max<int64_t>(block, static_cast<int64_t>(kPackSlabBytes / slab_stride) / block * block);
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory::desc>> slabs;  // (source, target) per slab
  try {
    for (int64_t begin = 0; begin < extent;) {
      int64_t rows = std::min(slab, extent - begin);
      if (rows % block != 0 && rows > block) rows = rows / block * block;
      dnnl::memory::dims dims{plain.dims()[0], plain.dims()[1]}, offsets{0, 0};
      dims[static_cast<size_t>(outer)] = rows;
      offsets[static_cast<size_t>(outer)] = begin;
      slabs.emplace_back(plain.submemory_desc(dims, offsets), packed.get_desc().submemory_desc(dims, offsets));
      begin += rows;
    }
  } catch (const dnnl::error&) {
    return false;  // a layout oneDNN cannot cut there
  }
  // Pages are handed back up to the last page border passed, so a page shared by two slabs goes with
  // the second.
  const auto* bytes = static_cast<const char*>(b_data);
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<uintptr_t>(bytes);
  size_t released = 0, done = 0;
  for (const auto& [from, to] : slabs) {
    dnnl::memory src(from, DnnlEngine(), const_cast<void*>(b_data));
    dnnl::memory dst(to, DnnlEngine(), packed.get_data_handle());
    dnnl::reorder(src, dst).execute(DnnlStream(), src, dst);
    DnnlStream().wait();
    done += static_cast<size_t>(from.dims()[static_cast<size_t>(outer)]) * slab_stride;
    const size_t border = done == total ? total : (base + done) / page * page - base;
    if (border <= released) continue;
    if (consumable_b_) {
      DiscardConsumedPages(bytes + released, border - released);
    } else {
      DropResidentPages(bytes + released, border - released);
    }
    released = border;
  }
  // The original's pages of its own are gone: only the packed copy holds B from here on.
  if (consumable_b_) source_dropped_ = true;
  return true;
}

Status DnnlMatMul::RunRaw(const void* a, const DnnlMatrixDesc& a_desc, const void* b, const DnnlMatrixDesc& b_desc,
                          void* c, const DnnlMatrixDesc& c_desc, int threads) {
  const bool pack_b = b == nullptr ? source_dropped_ : b == constant_b_;
  if (b == nullptr && !pack_b) return Internal("oneDNN matmul: no B given and no packed constant B");
  std::vector<int64_t> key;
  key.reserve(6 * a_desc.dims.size() + 1);
  for (const DnnlMatrixDesc* d : {&a_desc, &b_desc, &c_desc}) {
    key.insert(key.end(), d->dims.begin(), d->dims.end());
    key.insert(key.end(), d->strides.begin(), d->strides.end());
  }
  key.push_back(pack_b ? 1 : 0);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedShapes) cache_.clear();
    auto entry = std::make_unique<Entry>();
    TS_RETURN_IF_ERROR(Build(a_desc, b_desc, c_desc, pack_b, b, *entry));
    it = cache_.emplace(std::move(key), std::move(entry)).first;
  }
  Entry& e = *it->second;
  try {
    SetDnnlThreads(threads);
    dnnl::memory a_mem(e.a_md, DnnlEngine(), const_cast<void*>(a));
    dnnl::memory c_mem(e.c_md, DnnlEngine(), c);
    dnnl::memory b_mem = e.b_packed ? e.packed_b : dnnl::memory(e.b_md, DnnlEngine(), const_cast<void*>(b));
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}};
    if (bias_ != nullptr) args.emplace(DNNL_ARG_BIAS, dnnl::memory(e.bias_md, DnnlEngine(), const_cast<float*>(bias_)));
    e.primitive.execute(DnnlStream(), args);
    DnnlStream().wait();
  } catch (const dnnl::error& e) {
    return Internal(std::string("oneDNN matmul failed: ") + e.what());
  }
  return Status::Ok();
}

}  // namespace tessera
