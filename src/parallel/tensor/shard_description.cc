// DescribeTensorParallel: the plan of PlanTensorShards turned into bytes per rank and per inference.
#include "parallel/tensor/shard_description.h"

#include <set>
#include <sstream>

#include "core/tensor_slicing.h"

namespace tessera {

namespace {

// Bytes of `value` with symbolic dims taken from `dim_values`; `known` is cleared when one is missing.
int64_t ValueBytes(const Graph& graph, int value, const std::map<std::string, int64_t>& dim_values, bool* known) {
  const ValueInfo& info = graph.value(value);
  if (!info.has_shape || DTypeSize(info.dtype) == 0) {
    *known = false;
    return 0;
  }
  int64_t count = 1;
  for (const Dim& d : info.dims) {
    int64_t n = d.value;
    if (n < 0) {
      auto it = dim_values.find(d.symbol);
      if (it == dim_values.end()) {
        *known = false;
        n = 1;
      } else {
        n = it->second;
      }
    }
    count *= n;
  }
  return count * static_cast<int64_t>(DTypeSize(info.dtype));
}

// "415.4 MiB", or KiB below one MiB (small models would read 0.0 MiB everywhere).
std::string Mib(int64_t bytes) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  if (bytes < (int64_t{1} << 20)) {
    s << static_cast<double>(bytes) / 1024.0 << " KiB";
  } else {
    s << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  }
  return s.str();
}

}  // namespace

StatusOr<TensorParallelDescription> DescribeTensorParallel(const Graph& graph, int tp_size,
                                                           const std::map<std::string, int64_t>& dim_values,
                                                           const TensorParallelOptions& options) {
  TS_ASSIGN_OR_RETURN(ShardPlan plan, PlanTensorShards(graph, tp_size, options));
  TensorParallelDescription d;
  d.tp_size = tp_size;
  for (const auto& [id, t] : graph.constants) d.total_weight_bytes += static_cast<int64_t>(t.byte_size());
  d.weight_bytes_per_rank.assign(static_cast<size_t>(tp_size), d.total_weight_bytes);

  // An original stays on every rank when something outside the slices still reads it.
  std::map<int, std::set<std::pair<int, int>>> sliced_reads;  // constant -> (node, slot) slices
  for (const ShardRegion& region : plan.regions) {
    for (const ConstantSlice& s : region.slices) {
      sliced_reads[graph.nodes[static_cast<size_t>(s.node)].inputs[static_cast<size_t>(s.input)]].insert({s.node, s.input});
    }
  }
  std::map<int, size_t> reads;
  for (const Node& node : graph.nodes) {
    for (int v : node.inputs) {
      if (v != kNoValue) ++reads[v];
    }
  }
  for (const auto& [value, slices] : sliced_reads) {
    const int64_t bytes = static_cast<int64_t>(graph.constants.at(value).byte_size());
    d.sharded_weight_bytes += bytes;
    bool still_read = reads[value] > slices.size();
    for (int out : graph.outputs) still_read |= out == value;
    if (!still_read) {
      for (int64_t& r : d.weight_bytes_per_rank) r -= bytes;
    }
  }

  for (const ShardRegion& region : plan.regions) {
    ShardedBlock block;
    block.kind = region.exits.empty() ? "all-gather" : "all-reduce";
    block.units = region.units;
    block.units_per_rank = EvenSplit(region.units, tp_size);
    for (int n : region.seeds) block.split_nodes.push_back(graph.nodes[static_cast<size_t>(n)].name);
    for (const ShardExit& e : region.exits) {
      block.split_nodes.push_back(graph.nodes[static_cast<size_t>(e.node)].name);
      const Node& last = graph.nodes[static_cast<size_t>(e.bias_add >= 0 ? e.bias_add : e.node)];
      block.collective_bytes += ValueBytes(graph, last.outputs[0], dim_values, &block.collective_bytes_known);
      ++d.all_reduce_count;
    }
    const int64_t reduce_bytes = block.collective_bytes;
    for (int v : region.gathered) {
      block.collective_bytes += ValueBytes(graph, v, dim_values, &block.collective_bytes_known);
      ++d.all_gather_count;
    }
    d.all_reduce_bytes += reduce_bytes;
    d.all_gather_bytes += block.collective_bytes - reduce_bytes;
    d.collective_bytes_known &= block.collective_bytes_known;
    for (const ConstantSlice& s : region.slices) {
      const Tensor& t = graph.constants.at(graph.nodes[static_cast<size_t>(s.node)].inputs[static_cast<size_t>(s.input)]);
      const int64_t row_bytes = s.dim > 0 ? static_cast<int64_t>(t.byte_size()) / s.dim : 0;
      for (int r = 0; r < tp_size; ++r) {
        const ShardRange range = RegionShardOfAxis(region, s.dim, s.kv, tp_size, r);
        d.weight_bytes_per_rank[static_cast<size_t>(r)] += row_bytes * (range.end - range.begin);
      }
    }
    d.blocks.push_back(std::move(block));
  }
  return d;
}

std::string TensorParallelDescription::Summary() const {
  std::ostringstream s;
  s << "tensor parallel over " << tp_size << " ranks: " << blocks.size() << " split blocks, weights "
    << Mib(total_weight_bytes) << " (" << Mib(sharded_weight_bytes) << " split), per rank";
  for (int64_t b : weight_bytes_per_rank) s << " " << Mib(b);
  s << "\n  per inference: " << all_reduce_count << " all-reduce (" << Mib(all_reduce_bytes) << "), "
    << all_gather_count << " all-gather (" << Mib(all_gather_bytes) << ")"
    << (collective_bytes_known ? "" : " (at least: some dims unknown)") << "\n";
  for (const ShardedBlock& b : blocks) {
    s << "  " << b.kind << " block, " << b.units << " units (";
    for (size_t r = 0; r < b.units_per_rank.size(); ++r) s << (r ? "/" : "") << b.units_per_rank[r];
    s << "), " << Mib(b.collective_bytes) << " moved:";
    for (const std::string& n : b.split_nodes) s << " " << n;
    s << "\n";
  }
  return s.str();
}

}  // namespace tessera
