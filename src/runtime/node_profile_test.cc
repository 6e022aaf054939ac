// NodeProfiler through a real Session: a three-node chain timed only while a Scope is open.
#include "runtime/node_profile.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "tessera/session.h"

namespace tessera {
namespace {

// x -> Relu -> Relu -> Sigmoid -> y over a [4, 256] float tensor.
std::unique_ptr<Session> LoadChain() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("chain");
  const char* ops[] = {"Relu", "Relu", "Sigmoid"};
  const char* names[] = {"x", "a", "b", "y"};
  for (int i = 0; i < 3; ++i) {
    onnx::NodeProto* node = graph->add_node();
    node->set_op_type(ops[i]);
    node->set_name(std::string("n") + std::to_string(i));
    node->add_input(names[i]);
    node->add_output(names[i + 1]);
  }
  for (auto [list, name] : {std::pair{graph->add_input(), "x"}, std::pair{graph->add_output(), "y"}}) {
    list->set_name(name);
    auto* type = list->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_value(4);
    type->mutable_shape()->add_dim()->set_dim_value(256);
  }
  const std::string path = ::testing::TempDir() + "tessera_profile_" + std::to_string(getpid()) + ".onnx";
  {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
  }
  SessionOptions options;
  options.threads = 1;
  auto session = Session::Load(path, options);
  std::remove(path.c_str());
  EXPECT_TRUE(session.ok()) << session.status().message();
  return session.ok() ? std::move(session).value() : nullptr;
}

TEST(NodeProfilerTest, CountsNodesPerOpTypeOnlyInsideScope) {
  std::unique_ptr<Session> session = LoadChain();
  ASSERT_NE(session, nullptr);
  auto x = Tensor::Allocate(DType::kFloat32, {4, 256});
  ASSERT_TRUE(x.ok());
  NodeProfiler profiler;
  ASSERT_TRUE(session->Run({{"x", *x}}).ok());  // no scope: nothing recorded
  EXPECT_TRUE(profiler.ByOpType().empty());
  EXPECT_EQ(NodeProfiler::Active(), nullptr);
  {
    NodeProfiler::Scope scope(profiler);
    EXPECT_EQ(NodeProfiler::Active(), &profiler);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(session->Run({{"x", *x}}).ok());
  }
  EXPECT_EQ(NodeProfiler::Active(), nullptr);
  auto by_op = profiler.ByOpType();
  ASSERT_EQ(by_op.size(), 2u);
  size_t relu = by_op[0].op_type == "Relu" ? 0 : 1;
  EXPECT_EQ(by_op[relu].op_type, "Relu");
  EXPECT_EQ(by_op[relu].nodes, 2u);  // two nodes, three runs each: still two nodes
  EXPECT_EQ(by_op[1 - relu].op_type, "Sigmoid");
  EXPECT_EQ(by_op[1 - relu].nodes, 1u);
  EXPECT_GE(by_op[0].total_ms, by_op[1].total_ms);  // largest first
  for (const OpTypeTime& t : by_op) EXPECT_GT(t.total_ms, 0.0);
}

TEST(NodeProfilerTest, PerNodeSummaryCountsRunsAndKeepsTheFastest) {
  std::unique_ptr<Session> session = LoadChain();
  ASSERT_NE(session, nullptr);
  auto x = Tensor::Allocate(DType::kFloat32, {4, 256});
  ASSERT_TRUE(x.ok());
  NodeProfiler profiler;
  {
    NodeProfiler::Scope scope(profiler);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(session->Run({{"x", *x}}).ok());
  }
  const std::vector<NodeTimeSummary> nodes = profiler.ByNode();
  ASSERT_EQ(nodes.size(), 3u);
  for (size_t i = 0; i < nodes.size(); ++i) {
    EXPECT_EQ(nodes[i].runs, 4u) << nodes[i].name;
    EXPECT_GT(nodes[i].min_ms, 0.0) << nodes[i].name;
    EXPECT_LE(nodes[i].min_ms * 4, nodes[i].total_ms + 1e-12) << nodes[i].name;  // the fastest of four runs
    if (i > 0) {
      EXPECT_GE(nodes[i - 1].total_ms, nodes[i].total_ms);  // largest first
    }
  }
}

TEST(NodeProfilerTest, InnerScopeWinsUntilItCloses) {
  NodeProfiler outer, inner;
  NodeProfiler::Scope a(outer);
  {
    NodeProfiler::Scope b(inner);
    EXPECT_EQ(NodeProfiler::Active(), &inner);
  }
  EXPECT_EQ(NodeProfiler::Active(), &outer);
}

}  // namespace
}  // namespace tessera
