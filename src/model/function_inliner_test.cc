// Function-body inlining: the expanded nodes are wired to the caller's values, including names used
// inside subgraph attributes of the body (Range expands into a Loop whose body reads `delta`).
#include "model/function_inliner.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "testing/onnx_builder.h"

namespace tessera {
namespace {

using testing::OnnxBuilder;

// Names read anywhere in `graph` (and its subgraphs) that no enclosing scope defines, appended to `missing`.
void CollectUndefinedReads(const onnx::GraphProto& graph, std::set<std::string> scope, std::set<std::string>& missing) {
  for (const auto& v : graph.input()) scope.insert(v.name());
  for (const auto& t : graph.initializer()) scope.insert(t.name());
  for (const auto& n : graph.node()) {
    for (const auto& o : n.output()) scope.insert(o);
  }
  for (const auto& n : graph.node()) {
    for (const auto& i : n.input()) {
      if (!i.empty() && !scope.count(i)) missing.insert(i);
    }
    for (const auto& a : n.attribute()) {
      if (a.has_g()) CollectUndefinedReads(a.g(), scope, missing);
    }
  }
  for (const auto& v : graph.output()) {
    if (!scope.count(v.name())) missing.insert(v.name());
  }
}

// Range(lo, hi, step) under names unlike the schema's (start, limit, delta), so a subgraph that still
// says `delta` reads nothing.
OnnxBuilder RangeModel() {
  OnnxBuilder b(11);
  b.Input("lo", DType::kFloat32, {});
  b.Input("hi", DType::kFloat32, {});
  b.Input("step", DType::kFloat32, {});
  b.Node("Range", {"lo", "hi", "step"}, {"out"}, "range");
  b.Output("out", DType::kFloat32, {-1});
  return b;
}

const KernelAvailable kNoKernels = [](const std::string&, const std::string&, int) { return false; };

TEST(FunctionInlinerTest, SubgraphReadsOfFormalParametersAreRenamedToTheCallersValues) {
  OnnxBuilder b = RangeModel();
  int expanded = 0;
  ASSERT_TRUE(InlineFunctionOps(b.proto(), kNoKernels, &expanded).ok());
  ASSERT_EQ(expanded, 1);
  const onnx::NodeProto* loop = nullptr;
  for (const auto& n : b.graph().node()) {
    if (n.op_type() == "Loop") loop = &n;
  }
  ASSERT_NE(loop, nullptr) << "Range's function body should contain a Loop";
  std::set<std::string> missing;
  CollectUndefinedReads(b.graph(), {}, missing);
  for (const auto& name : missing) ADD_FAILURE() << "expanded model reads undefined value '" << name << "'";
  // The Loop body reads the step through the caller's name.
  bool reads_step = false;
  for (const auto& n : loop->attribute(0).g().node()) {
    for (const auto& i : n.input()) reads_step |= i == "step";
  }
  EXPECT_TRUE(reads_step);
}

TEST(FunctionInlinerTest, SubgraphOwnValuesTakeTheNodePrefix) {
  OnnxBuilder b = RangeModel();
  ASSERT_TRUE(InlineFunctionOps(b.proto(), kNoKernels).ok());
  for (const auto& n : b.graph().node()) {
    if (n.op_type() != "Loop") continue;
    const onnx::GraphProto& body = n.attribute(0).g();
    for (const auto& v : body.input()) EXPECT_EQ(v.name().rfind("range/", 0), 0u) << v.name();
    for (const auto& v : body.output()) EXPECT_EQ(v.name().rfind("range/", 0), 0u) << v.name();
  }
}

TEST(FunctionInlinerTest, TwoExpansionsDoNotShareNames) {
  OnnxBuilder b = RangeModel();
  b.Node("Range", {"lo", "hi", "step"}, {"out2"}, "range2");
  b.Output("out2", DType::kFloat32, {-1});
  int expanded = 0;
  ASSERT_TRUE(InlineFunctionOps(b.proto(), kNoKernels, &expanded).ok());
  EXPECT_EQ(expanded, 2);
  std::set<std::string> produced;
  for (const auto& n : b.graph().node()) {
    for (const auto& o : n.output()) EXPECT_TRUE(produced.insert(o).second) << "'" << o << "' produced twice";
  }
  std::set<std::string> missing;
  CollectUndefinedReads(b.graph(), {}, missing);
  EXPECT_TRUE(missing.empty());
}

TEST(FunctionInlinerTest, OpsWithAKernelStay) {
  OnnxBuilder b = RangeModel();
  int expanded = -1;
  ASSERT_TRUE(InlineFunctionOps(
                  b.proto(), [](const std::string&, const std::string&, int) { return true; }, &expanded)
                  .ok());
  EXPECT_EQ(expanded, 0);
  ASSERT_EQ(b.graph().node_size(), 1);
  EXPECT_EQ(b.graph().node(0).op_type(), "Range");
}

}  // namespace
}  // namespace tessera
