// ApplyShardPlan: edits in place first (inputs, outputs, value infos), new nodes appended, then one
// topological sort, so node indices of the plan stay valid while it is applied.
#include "parallel/tensor/shard_apply.h"

#include <set>

#include "model/external_data.h"
#include "model/weight_copies.h"
#include "parallel/tensor/collective_kernels.h"
#include "parallel/tensor/shard_rules.h"

namespace tessera {

namespace {

class ShardWriter {
 public:
  ShardWriter(Graph& graph, const ShardPlan& plan, int rank, int64_t handle)
      : graph_(graph), plan_(plan), rank_(rank), handle_(handle) {}

  Status Apply() {
    const ShardGraphView view(graph_);  // of the graph as planned, before any edit
    producer_ = view.producer;
    for (const ShardRegion& region : plan_.regions) TS_RETURN_IF_ERROR(ApplyRegion(view, region));
    std::vector<Node> kept;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      if (!dead_.count(static_cast<int>(i))) kept.push_back(std::move(graph_.nodes[i]));
    }
    for (Node& n : added_) kept.push_back(std::move(n));
    graph_.nodes = std::move(kept);
    DropUnreadOriginals();
    graph_.opsets.emplace(kCollectiveDomain, 1);
    return SortTopologically(graph_);
  }

 private:
  int64_t Local(int64_t full, const ShardRegion& r, bool kv = false) const {
    const ShardRange range = RegionShardOfAxis(r, full, kv, plan_.tp_size, rank_);
    return range.end - range.begin;
  }

  // A fresh value named after `base` with `suffix`, described as `info`.
  int NewValue(const std::string& base, const std::string& suffix, const ValueInfo& info) {
    std::string name = base + suffix;
    for (int k = 2; graph_.value_ids.count(name); ++k) name = base + suffix + std::to_string(k);
    const int id = graph_.ValueId(name);
    ValueInfo copy = info;
    copy.name = name;
    graph_.values[static_cast<size_t>(id)] = copy;
    return id;
  }

  int NewConstant(const std::string& base, Tensor t) {
    ValueInfo info;
    info.dtype = t.dtype();
    info.has_shape = true;
    for (int64_t d : t.shape()) info.dims.push_back(Dim{d, ""});
    const int id = NewValue(base, "/tp_shard", info);
    graph_.constants[id] = std::move(t);
    return id;
  }

  Node Collective(const char* op, int input, int output) {
    Node n;
    n.name = std::string("tp/") + op + "/" + graph_.value(output).name;
    n.op_type = op;
    n.domain = kCollectiveDomain;
    n.opset = 1;
    n.inputs = {input};
    n.explicit_input_count = 1;
    n.outputs = {output};
    Attribute comm;
    comm.type = Attribute::Type::kInt;
    comm.i = handle_;
    n.attributes["comm"] = comm;
    return n;
  }

  Status ApplyRegion(const ShardGraphView& view, const ShardRegion& region) {
    for (const ConstantSlice& s : region.slices) {
      Node& node = graph_.nodes[static_cast<size_t>(s.node)];
      const int original = node.inputs[static_cast<size_t>(s.input)];
      const Tensor& full = graph_.constants.at(original);
      const ShardRange range = RegionShardOfAxis(region, s.dim, s.kv, plan_.tp_size, rank_);
      const Tensor viewed = s.view.empty() ? full : full.Reshaped(s.view);
      // Own pages, not a view of the full weight, nor heap memory that would stay resident after a kernel
      // packs the slice and drops it; the full weight's file pages are let go as the copy passes them.
      TS_ASSIGN_OR_RETURN(Tensor part, SliceWeightToOwnMemory(viewed, s.axis, range.begin, range.end));
      if (!s.view.empty() && full.rank() == 1) part = part.Reshaped(Shape{part.element_count()});
      if (!s.view.empty() && full.rank() == 2 && s.view.size() == 3) {
        part = part.Reshaped(Shape{s.view[0], part.element_count() / s.view[0]});  // a fused projection's parts
      }
      node.inputs[static_cast<size_t>(s.input)] = NewConstant(graph_.value(original).name, std::move(part));
      originals_.insert(original);
    }
    for (const ShapeEdit& e : region.shape_edits) TS_RETURN_IF_ERROR(EditShape(view, e, Local(e.full, region, e.kv)));
    for (const AttributeEdit& e : region.attribute_edits) {
      Attribute& a = graph_.nodes[static_cast<size_t>(e.node)].attributes[e.name];
      a.type = Attribute::Type::kInt;
      a.i = Local(e.full, region, e.kv);
    }
    const std::set<int> gathered(region.gathered.begin(), region.gathered.end());
    for (const auto& [value, shard] : region.values) {
      ValueInfo& info = graph_.values[static_cast<size_t>(value)];
      const bool fixed = info.has_shape && shard.axis < static_cast<int>(info.dims.size()) &&
                         info.dims[static_cast<size_t>(shard.axis)].value == shard.dim * shard.groups;
      if (!gathered.count(value)) {
        if (fixed) info.dims[static_cast<size_t>(shard.axis)].value = Local(shard.dim, region, shard.kv) * shard.groups;
        continue;
      }
      ValueInfo local = info;
      if (fixed) local.dims[static_cast<size_t>(shard.axis)].value = Local(shard.dim, region, shard.kv);
      const int producer = producer_[static_cast<size_t>(value)];
      if (producer < 0) {
        return Internal("value '" + info.name + "' is a graph input planned as a shard that is also needed whole");
      }
      const int part = NewValue(info.name, "/tp_shard", local);
      for (int& out : graph_.nodes[static_cast<size_t>(producer)].outputs) {
        if (out == value) out = part;
      }
      for (const auto& [node, slots] : region.shard_readers) {
        for (int slot : slots) {
          int& in = graph_.nodes[static_cast<size_t>(node)].inputs[static_cast<size_t>(slot)];
          if (in == value) in = part;
        }
      }
      Node gather = Collective(kAllGatherOp, part, value);
      Attribute axis;
      axis.type = Attribute::Type::kInt;
      axis.i = shard.axis;
      gather.attributes["axis"] = axis;
      added_.push_back(std::move(gather));
    }
    for (const ShardExit& exit : region.exits) ApplyExit(exit);
    return Status::Ok();
  }

  // Row split: partial sums, made whole by one all-reduce; a bias joins on rank 0 only.
  void ApplyExit(const ShardExit& exit) {
    Node& node = graph_.nodes[static_cast<size_t>(exit.node)];
    if (node.op_type == "Gemm" && rank_ != 0 && node.inputs.size() > 2) {
      node.inputs.resize(2);
      node.explicit_input_count = 2;
    }
    if (node.op_type == "MatMulNBits" && rank_ != 0 && node.inputs.size() > 5) {
      node.inputs[5] = kNoValue;  // the bias joins the sum once, on rank 0
    }
    if (exit.bias_add >= 0) {
      Node& add = graph_.nodes[static_cast<size_t>(exit.bias_add)];
      const int sum = add.outputs[0];
      if (rank_ == 0) {
        const int partial = NewValue(graph_.value(sum).name, "/tp_partial", graph_.value(sum));
        add.outputs[0] = partial;
        added_.push_back(Collective(kAllReduceSumOp, partial, sum));
      } else {
        dead_.insert(exit.bias_add);
        added_.push_back(Collective(kAllReduceSumOp, node.outputs[0], sum));
      }
      return;
    }
    const int out = node.outputs[0];
    const int partial = NewValue(graph_.value(out).name, "/tp_partial", graph_.value(out));
    node.outputs[0] = partial;
    added_.push_back(Collective(kAllReduceSumOp, partial, out));
  }

  // Gives Reshape node e.node a shape whose element e.element is `local`.
  Status EditShape(const ShardGraphView& view, const ShapeEdit& e, int64_t local) {
    Node& reshape = graph_.nodes[static_cast<size_t>(e.node)];
    const int shape = reshape.inputs[1];
    auto with_element = [&](const Tensor& t, int64_t index) -> StatusOr<Tensor> {
      TS_ASSIGN_OR_RETURN(Tensor copy, t.Clone());
      copy.data<int64_t>()[index] = local;
      return copy;
    };
    if (const Tensor* t = view.Constant(shape)) {
      TS_ASSIGN_OR_RETURN(Tensor edited, with_element(*t, e.element));
      reshape.inputs[1] = NewConstant(graph_.value(shape).name, std::move(edited));
      return Status::Ok();
    }
    // A Concat of pieces: copy it with the piece that holds the element replaced.
    Node concat = graph_.nodes[static_cast<size_t>(view.producer[static_cast<size_t>(shape)])];
    int64_t offset = 0;
    for (int& piece : concat.inputs) {
      const Tensor* t = view.Constant(piece);
      const int64_t length = t != nullptr ? t->element_count() : graph_.value(piece).dims[0].value;
      if (e.element < offset + length) {
        if (t == nullptr) return Internal(reshape.Describe() + ": the shape element to edit is computed at run time");
        TS_ASSIGN_OR_RETURN(Tensor edited, with_element(*t, e.element - offset));
        piece = NewConstant(graph_.value(piece).name, std::move(edited));
        break;
      }
      offset += length;
    }
    concat.name += "/tp_shard";
    concat.outputs[0] = NewValue(graph_.value(shape).name, "/tp_shard", graph_.value(shape));
    reshape.inputs[1] = concat.outputs[0];
    added_.push_back(std::move(concat));
    return Status::Ok();
  }

  void DropUnreadOriginals() {
    std::set<int> read(graph_.outputs.begin(), graph_.outputs.end());
    for (const Node& n : graph_.nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (int v : originals_) {
      if (!read.count(v)) graph_.constants.erase(v);
    }
  }

  Graph& graph_;
  const ShardPlan& plan_;
  const int rank_;
  const int64_t handle_;
  std::vector<int> producer_;
  std::set<int> originals_;
  std::set<int> dead_;
  std::vector<Node> added_;
};

// Copies `t` into memory of its own when it may be a view of the model (see model/tensor_proto.cc: only
// tensors of 4 KiB and more are left pointing into the parsed file or its external data).
// A view of a mapped weight file (external data, or inline weights the loader left in the .onnx) keeps no
// parse alive and is resident only where read (an embedding table: the rows looked up), so it stays.
StatusOr<int64_t> Detach(Tensor& t) {
  if (!t.defined() || t.byte_size() < 4096 || t.dtype() == DType::kString) return 0;
  if (IsMappedFileData(t.raw_data(), t.byte_size())) return 0;
  TS_ASSIGN_OR_RETURN(t, t.Clone());
  return static_cast<int64_t>(t.byte_size());
}

}  // namespace

Status ApplyShardPlan(Graph& graph, const ShardPlan& plan, int rank, int64_t comm_handle) {
  if (plan.regions.empty()) return Status::Ok();
  if (rank < 0 || rank >= plan.tp_size) return InvalidArgument("rank " + std::to_string(rank) + " outside the tensor-parallel group");
  return ShardWriter(graph, plan, rank, comm_handle).Apply();
}

StatusOr<int64_t> DetachConstantsFromModel(Graph& graph, const std::set<int>& own) {
  int64_t copied = 0;
  for (auto& [id, t] : graph.constants) {
    if (own.count(id)) continue;
    TS_ASSIGN_OR_RETURN(int64_t n, Detach(t));
    copied += n;
  }
  for (Node& node : graph.nodes) {
    for (auto& [key, a] : node.attributes) {
      if (a.type == Attribute::Type::kTensor) {
        TS_ASSIGN_OR_RETURN(int64_t n, Detach(a.t));
        copied += n;
      }
      for (Tensor& t : a.tensors) {
        TS_ASSIGN_OR_RETURN(int64_t n, Detach(t));
        copied += n;
      }
      if (a.g) {
        TS_ASSIGN_OR_RETURN(int64_t n, DetachConstantsFromModel(*a.g));
        copied += n;
      }
      for (auto& g : a.graphs) {
        if (!g) continue;
        TS_ASSIGN_OR_RETURN(int64_t n, DetachConstantsFromModel(*g));
        copied += n;
      }
    }
  }
  return copied;
}

}  // namespace tessera
