// Control-flow kernels through whole models: If, Loop and Scan with real subgraphs (captures from the
// outer graph, loop-carried values, scan outputs), Identity, Dropout and the optional ops. Bodies use
// Identity, CumSum and OptionalHasElement so the tests need no other kernel family.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include "ops/cpu/control_flow_common.h"
#include "tessera/session.h"

namespace tessera {
namespace {

void Declare(onnx::ValueInfoProto* v, const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int>(dtype));
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d >= 0) shape->add_dim()->set_dim_value(d);
    else shape->add_dim()->set_dim_param("d" + std::to_string(shape->dim_size()));
  }
}

// A graph (main or subgraph) under construction.
struct GraphSpec {
  onnx::GraphProto proto;
  explicit GraphSpec(const std::string& name) { proto.set_name(name); }
  GraphSpec& In(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    Declare(proto.add_input(), name, dtype, dims);
    return *this;
  }
  GraphSpec& Out(const std::string& name, DType dtype, const std::vector<int64_t>& dims) {
    Declare(proto.add_output(), name, dtype, dims);
    return *this;
  }
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* n = proto.add_node();
    n->set_op_type(op);
    n->set_name(proto.name() + "_" + op + std::to_string(proto.node_size()));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }
  GraphSpec& Int64Initializer(const std::string& name, int64_t value) {
    auto* t = proto.add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_int64_data(value);
    return *this;
  }
};

void GraphAttr(onnx::NodeProto& n, const std::string& name, const GraphSpec& g) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g.proto;
}

void IntsAttr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& values) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void IntAttr(onnx::NodeProto& n, const std::string& name, int64_t value) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// `name` = Optional() of a float tensor type: the empty optional.
void EmptyOptional(GraphSpec& g, const std::string& name) {
  auto& n = g.Node("Optional", {}, {name});
  auto* a = n.add_attribute();
  a->set_name("type");
  a->set_type(onnx::AttributeProto::TYPE_PROTO);
  a->mutable_tp()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

StatusOr<std::vector<Tensor>> RunModel(const GraphSpec& main, int opset,
                                       const std::vector<std::pair<std::string, Tensor>>& feeds) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  auto* op = model.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  *model.mutable_graph() = main.proto;
  static std::atomic<int> counter{0};
  const std::string path = ::testing::TempDir() + "tessera_control_flow_" + std::to_string(getpid()) + "_" +
                           std::to_string(counter++) + ".onnx";
  {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
  }
  SessionOptions options;
  options.threads = 1;
  options.fold_constants = false;
  auto session = Session::Load(path, options);
  std::remove(path.c_str());
  if (!session.ok()) return session.status();
  return (*session)->Run(feeds);
}

Tensor Floats(Shape shape, std::vector<float> v) { return Tensor::FromVector(DType::kFloat32, std::move(shape), v); }
Tensor Int64s(Shape shape, std::vector<int64_t> v) { return Tensor::FromVector(DType::kInt64, std::move(shape), v); }
Tensor Bool(bool b) { return Tensor::FromVector(DType::kBool, {}, std::vector<bool>{b}); }

std::vector<float> FloatValues(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.element_count());
}
std::vector<int64_t> Int64Values(const Tensor& t) {
  return std::vector<int64_t>(t.data<int64_t>(), t.data<int64_t>() + t.element_count());
}

// ---- If ----

// then: x (captured, [3]); else: y (captured, [2, 2]): the branches differ in shape.
GraphSpec IfModel(DType cond_dtype, const std::vector<int64_t>& cond_dims) {
  GraphSpec then_g("then"), else_g("else");
  then_g.Node("Identity", {"x"}, {"then_out"});
  then_g.Out("then_out", DType::kFloat32, {3});
  else_g.Node("Identity", {"y"}, {"else_out"});
  else_g.Out("else_out", DType::kFloat32, {2, 2});
  GraphSpec main("if_model");
  main.In("cond", cond_dtype, cond_dims).In("x", DType::kFloat32, {3}).In("y", DType::kFloat32, {2, 2});
  auto& n = main.Node("If", {"cond"}, {"res"});
  GraphAttr(n, "then_branch", then_g);
  GraphAttr(n, "else_branch", else_g);
  main.Out("res", DType::kFloat32, {-1});
  return main;
}

TEST(ControlFlowTest, IfChoosesThenBranch) {
  auto out = RunModel(IfModel(DType::kBool, {}), 16,
                      {{"cond", Bool(true)}, {"x", Floats({3}, {1, 2, 3})}, {"y", Floats({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({3}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2, 3}));
}

TEST(ControlFlowTest, IfChoosesElseBranchWithAnotherShape) {
  auto out = RunModel(IfModel(DType::kBool, {}), 16,
                      {{"cond", Bool(false)}, {"x", Floats({3}, {1, 2, 3})}, {"y", Floats({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 2}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({4, 5, 6, 7}));
}

TEST(ControlFlowTest, IfAcceptsOneElementConditionOfShapeOne) {
  auto out = RunModel(IfModel(DType::kBool, {1}), 16,
                      {{"cond", Tensor::FromVector(DType::kBool, {1}, std::vector<bool>{false})},
                       {"x", Floats({3}, {1, 2, 3})},
                       {"y", Floats({2, 2}, {4, 5, 6, 7})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), Shape({2, 2}));
}

TEST(ControlFlowTest, IfConditionThatIsNotABoolIsAnError) {
  auto out = RunModel(IfModel(DType::kFloat32, {}), 16,
                      {{"cond", Floats({}, {1})}, {"x", Floats({3}, {1, 2, 3})}, {"y", Floats({2, 2}, {4, 5, 6, 7})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("bool"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, IfConditionWithTwoElementsIsAnError) {
  auto out = RunModel(IfModel(DType::kBool, {2}), 16,
                      {{"cond", Tensor::FromVector(DType::kBool, {2}, std::vector<bool>{true, false})},
                       {"x", Floats({3}, {1, 2, 3})},
                       {"y", Floats({2, 2}, {4, 5, 6, 7})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("exactly one element"), std::string::npos) << out.status().message();
}

// ---- Loop ----

// Loop(M, cond, v) with body: v_out = CumSum(v_in, axis) (axis captured from the main graph),
// scans: the iteration number and v_out. `stop_after_first` makes the body return an empty-optional
// test as its condition (false).
GraphSpec LoopModel(bool with_trip_count, bool with_cond, bool stop_after_first) {
  GraphSpec body("body");
  body.In("iter", DType::kInt64, {}).In("cond_in", DType::kBool, {}).In("v_in", DType::kFloat32, {2});
  if (stop_after_first) {
    EmptyOptional(body, "nothing");
    body.Node("OptionalHasElement", {"nothing"}, {"cond_out"});
  } else {
    body.Node("Identity", {"cond_in"}, {"cond_out"});
  }
  body.Node("CumSum", {"v_in", "axis"}, {"v_out"});
  body.Node("Identity", {"iter"}, {"iter_scan"});
  body.Node("Identity", {"v_out"}, {"v_scan"});
  body.Out("cond_out", DType::kBool, {}).Out("v_out", DType::kFloat32, {2});
  body.Out("iter_scan", DType::kInt64, {}).Out("v_scan", DType::kFloat32, {2});
  GraphSpec main("loop_model");
  if (with_trip_count) main.In("M", DType::kInt64, {});
  if (with_cond) main.In("cond", DType::kBool, {});
  main.In("v", DType::kFloat32, {2});
  main.Int64Initializer("axis", 0);
  auto& n = main.Node("Loop", {with_trip_count ? "M" : "", with_cond ? "cond" : "", "v"}, {"v_final", "iters", "vs"});
  GraphAttr(n, "body", body);
  main.Out("v_final", DType::kFloat32, {2}).Out("iters", DType::kInt64, {-1}).Out("vs", DType::kFloat32, {-1, 2});
  return main;
}

TEST(ControlFlowTest, LoopCarriesValuesAndStacksScanOutputs) {
  auto out = RunModel(LoopModel(true, true, false), 16,
                      {{"M", Int64s({}, {3})}, {"cond", Bool(true)}, {"v", Floats({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 4}));
  EXPECT_EQ((*out)[1].shape(), Shape({3}));
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0, 1, 2}));
  EXPECT_EQ((*out)[2].shape(), Shape({3, 2}));
  EXPECT_EQ(FloatValues((*out)[2]), std::vector<float>({1, 2, 1, 3, 1, 4}));
}

TEST(ControlFlowTest, ZeroTripLoopReturnsInitialValuesAndEmptyScans) {
  auto out = RunModel(LoopModel(true, true, false), 16,
                      {{"M", Int64s({}, {0})}, {"cond", Bool(true)}, {"v", Floats({2}, {5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({0}));
  EXPECT_EQ((*out)[1].dtype(), DType::kInt64);
  EXPECT_EQ((*out)[2].shape(), Shape({0, 2}));  // the body declares [2] per iteration
}

TEST(ControlFlowTest, LoopWithFalseInitialConditionRunsNoIteration) {
  auto out = RunModel(LoopModel(true, true, false), 16,
                      {{"M", Int64s({}, {5})}, {"cond", Bool(false)}, {"v", Floats({2}, {5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({0}));
}

TEST(ControlFlowTest, LoopStopsWhenTheBodysConditionTurnsFalse) {
  auto out = RunModel(LoopModel(true, true, true), 16,
                      {{"M", Int64s({}, {10})}, {"cond", Bool(true)}, {"v", Floats({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0}));
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2}));
}

TEST(ControlFlowTest, LoopWithoutCondInputIgnoresTheBodysCondition) {
  // A plain for loop: the body returns false, but with no cond input only M counts.
  auto out = RunModel(LoopModel(true, false, true), 16, {{"M", Int64s({}, {4})}, {"v", Floats({2}, {1, 1})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[1]), std::vector<int64_t>({0, 1, 2, 3}));
}

TEST(ControlFlowTest, EndlessLoopStopsAtTheIterationLimit) {
  SetLoopIterationLimit(50);
  auto out = RunModel(LoopModel(false, true, false), 16, {{"cond", Bool(true)}, {"v", Floats({2}, {0, 0})}});
  SetLoopIterationLimit(0);
  EXPECT_EQ(LoopIterationLimit(), kDefaultLoopIterationLimit);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("iteration limit"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, LoopTripCountOfWrongTypeIsAnError) {
  GraphSpec main = LoopModel(true, true, false);
  main.proto.mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto out = RunModel(main, 16, {{"M", Floats({}, {3})}, {"cond", Bool(true)}, {"v", Floats({2}, {1, 1})}});
  ASSERT_FALSE(out.ok());
}

TEST(ControlFlowTest, IfNestedInALoopBodyReadsValuesOfBothEnclosingScopes) {
  // then: CumSum(v_in, axis), v_in from the loop body and axis from the main graph.
  GraphSpec then_g("then"), else_g("else");
  then_g.Node("CumSum", {"v_in", "axis"}, {"then_out"});
  then_g.Out("then_out", DType::kFloat32, {2});
  else_g.Node("Identity", {"v_in"}, {"else_out"});
  else_g.Out("else_out", DType::kFloat32, {2});
  GraphSpec body("body");
  body.In("iter", DType::kInt64, {}).In("cond_in", DType::kBool, {}).In("v_in", DType::kFloat32, {2});
  body.Node("Identity", {"cond_in"}, {"cond_out"});
  auto& branch = body.Node("If", {"flag"}, {"v_out"});
  GraphAttr(branch, "then_branch", then_g);
  GraphAttr(branch, "else_branch", else_g);
  body.Out("cond_out", DType::kBool, {}).Out("v_out", DType::kFloat32, {2});
  GraphSpec main("nested");
  main.In("M", DType::kInt64, {}).In("flag", DType::kBool, {}).In("v", DType::kFloat32, {2});
  main.Int64Initializer("axis", 0);
  auto& loop = main.Node("Loop", {"M", "", "v"}, {"v_final"});
  GraphAttr(loop, "body", body);
  main.Out("v_final", DType::kFloat32, {2});
  for (bool flag : {true, false}) {
    auto out = RunModel(main, 16, {{"M", Int64s({}, {2})}, {"flag", Bool(flag)}, {"v", Floats({2}, {1, 1})}});
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(FloatValues((*out)[0]), flag ? std::vector<float>({1, 3}) : std::vector<float>({1, 1}));
  }
}

// ---- Scan ----

// Scan (opset 9+) over x [3, 2]: state_out = Identity(next) (the last slice seen), scan = CumSum(next).
GraphSpec ScanModel(const std::vector<int64_t>& x_dims, int64_t input_axis, int64_t input_direction,
                    int64_t output_direction) {
  const int64_t slice = input_axis == 0 ? x_dims[1] : x_dims[0];
  GraphSpec body("scan_body");
  body.In("state_in", DType::kFloat32, {slice}).In("next", DType::kFloat32, {slice});
  body.Node("Identity", {"next"}, {"state_out"});
  body.Node("CumSum", {"next", "axis"}, {"scan_out"});
  body.Out("state_out", DType::kFloat32, {slice}).Out("scan_out", DType::kFloat32, {slice});
  GraphSpec main("scan_model");
  main.In("init", DType::kFloat32, {slice}).In("x", DType::kFloat32, x_dims);
  main.Int64Initializer("axis", 0);
  auto& n = main.Node("Scan", {"init", "x"}, {"final", "ys"});
  GraphAttr(n, "body", body);
  IntAttr(n, "num_scan_inputs", 1);
  IntsAttr(n, "scan_input_axes", {input_axis});
  IntsAttr(n, "scan_input_directions", {input_direction});
  IntsAttr(n, "scan_output_directions", {output_direction});
  main.Out("final", DType::kFloat32, {slice}).Out("ys", DType::kFloat32, {-1, slice});
  return main;
}

TEST(ControlFlowTest, ScanForward) {
  auto out = RunModel(ScanModel({3, 2}, 0, 0, 0), 16,
                      {{"init", Floats({2}, {0, 0})}, {"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({5, 6}));
  EXPECT_EQ((*out)[1].shape(), Shape({3, 2}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 3, 3, 7, 5, 11}));
}

TEST(ControlFlowTest, ScanReverseInputDirection) {
  auto out = RunModel(ScanModel({3, 2}, 0, 1, 0), 16,
                      {{"init", Floats({2}, {0, 0})}, {"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2}));  // row 0 is visited last
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({5, 11, 3, 7, 1, 3}));
}

TEST(ControlFlowTest, ScanReverseInputAndOutputRestoresOrder) {
  auto out = RunModel(ScanModel({3, 2}, 0, 1, 1), 16,
                      {{"init", Floats({2}, {0, 0})}, {"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 3, 3, 7, 5, 11}));
}

TEST(ControlFlowTest, ScanAlongAxisOneWithNegativeAxis) {
  // x [2, 3] scanned along its columns: slices [1,4], [2,5], [3,6].
  auto out = RunModel(ScanModel({2, 3}, -1, 0, 0), 16,
                      {{"init", Floats({2}, {0, 0})}, {"x", Floats({2, 3}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({3, 6}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({1, 5, 2, 7, 3, 9}));
}

TEST(ControlFlowTest, ScanOverEmptySequenceReturnsInitialState) {
  auto out = RunModel(ScanModel({0, 2}, 0, 0, 0), 16, {{"init", Floats({2}, {7, 8})}, {"x", Floats({0, 2}, {})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({7, 8}));
  EXPECT_EQ((*out)[1].shape(), Shape({0, 2}));
}

TEST(ControlFlowTest, ScanInputsOfDifferentLengthsAreAnError) {
  GraphSpec body("scan_body");
  body.In("a", DType::kFloat32, {}).In("b", DType::kFloat32, {});
  body.Node("Identity", {"a"}, {"out"});
  body.Out("out", DType::kFloat32, {});
  GraphSpec main("scan_model");
  main.In("x", DType::kFloat32, {3}).In("y", DType::kFloat32, {2});
  auto& n = main.Node("Scan", {"x", "y"}, {"ys"});
  GraphAttr(n, "body", body);
  IntAttr(n, "num_scan_inputs", 2);
  main.Out("ys", DType::kFloat32, {-1});
  auto out = RunModel(main, 11, {{"x", Floats({3}, {1, 2, 3})}, {"y", Floats({2}, {1, 2})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("length"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, Scan8BatchesWithSequenceLengths) {
  GraphSpec body("scan_body");
  body.In("state_in", DType::kFloat32, {1}).In("next", DType::kFloat32, {1});
  body.Node("Identity", {"next"}, {"state_out"});
  body.Node("Identity", {"next"}, {"scan_out"});
  body.Out("state_out", DType::kFloat32, {1}).Out("scan_out", DType::kFloat32, {1});
  GraphSpec main("scan8");
  main.In("lens", DType::kInt64, {2}).In("init", DType::kFloat32, {2, 1}).In("x", DType::kFloat32, {2, 3, 1});
  auto& n = main.Node("Scan", {"lens", "init", "x"}, {"final", "ys"});
  GraphAttr(n, "body", body);
  IntAttr(n, "num_scan_inputs", 1);
  IntsAttr(n, "directions", {1});
  main.Out("final", DType::kFloat32, {2, 1}).Out("ys", DType::kFloat32, {2, 3, 1});
  auto out = RunModel(main, 8,
                      {{"lens", Int64s({2}, {3, 2})}, {"init", Floats({2, 1}, {0, 0})},
                       {"x", Floats({2, 3, 1}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  // Reverse within each entry's own length; batch 1 has 2 steps, so its third output stays zero.
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 4}));
  EXPECT_EQ(FloatValues((*out)[1]), std::vector<float>({3, 2, 1, 5, 4, 0}));
}

// ---- Identity, Dropout, optionals ----

struct Port {
  std::string name;
  DType dtype;
  int rank = 1;
};

GraphSpec OneNode(const std::string& op, const std::vector<Port>& inputs,
                  const std::vector<std::pair<std::string, DType>>& outputs, onnx::NodeProto** node = nullptr) {
  GraphSpec g("one_node");
  std::vector<std::string> in_names, out_names;
  for (const auto& in : inputs) {
    in_names.push_back(in.name);
    if (!in.name.empty()) g.In(in.name, in.dtype, std::vector<int64_t>(static_cast<size_t>(in.rank), -1));
  }
  for (const auto& [name, dtype] : outputs) {
    out_names.push_back(name);
    g.Out(name, dtype, {-1});
  }
  auto& n = g.Node(op, in_names, out_names);
  if (node != nullptr) *node = &n;
  return g;
}

TEST(ControlFlowTest, IdentityPassesTheValueThrough) {
  auto out = RunModel(OneNode("Identity", {{"x", DType::kInt64}}, {{"y", DType::kInt64}}), 16,
                      {{"x", Int64s({3}, {7, -1, 9})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Int64Values((*out)[0]), std::vector<int64_t>({7, -1, 9}));
}

TEST(ControlFlowTest, DropoutInferenceIsIdentityWithTrueMask) {
  auto out = RunModel(OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}},
                              {{"y", DType::kFloat32}, {"mask", DType::kBool}}),
                      13, {{"x", Floats({4}, {1, 2, 3, 4})}, {"r", Floats({}, {0.9f})}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(FloatValues((*out)[0]), std::vector<float>({1, 2, 3, 4}));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE((*out)[1].data<bool>()[i]);
}

TEST(ControlFlowTest, SeededTrainingDropoutMatchesNumpysStream) {
  onnx::NodeProto* node = nullptr;
  GraphSpec g = OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}, {"t", DType::kBool, 0}},
                        {{"y", DType::kFloat32}, {"mask", DType::kBool}}, &node);
  IntAttr(*node, "seed", 3);
  // np.random.seed(3); np.random.uniform(0, 1, 6) = .551 .708 .291 .511 .893 .896
  auto out = RunModel(g, 13, {{"x", Floats({6}, {1, 2, 3, 4, 5, 6})}, {"r", Floats({}, {0.6f})}, {"t", Bool(true)}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  const std::vector<bool> keep = {false, true, false, false, true, true};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ((*out)[1].data<bool>()[i], keep[static_cast<size_t>(i)]) << i;
    EXPECT_NEAR((*out)[0].data<float>()[i], keep[static_cast<size_t>(i)] ? (i + 1) / 0.4f : 0.0f, 1e-5) << i;
  }
}

TEST(ControlFlowTest, TrainingDropoutWithRatioOneIsAnError) {
  auto out = RunModel(OneNode("Dropout", {{"x", DType::kFloat32}, {"r", DType::kFloat32, 0}, {"t", DType::kBool, 0}},
                              {{"y", DType::kFloat32}}),
                      13, {{"x", Floats({2}, {1, 2})}, {"r", Floats({}, {1.0f})}, {"t", Bool(true)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("ratio"), std::string::npos) << out.status().message();
}

TEST(ControlFlowTest, OptionalHasElementSeesPresenceAndAbsence) {
  auto present = RunModel(OneNode("OptionalHasElement", {{"x", DType::kFloat32}}, {{"y", DType::kBool}}), 18,
                          {{"x", Floats({1}, {1})}});
  ASSERT_TRUE(present.ok()) << present.status().message();
  EXPECT_TRUE(*(*present)[0].data<bool>());
  GraphSpec g("empty_optional");
  EmptyOptional(g, "none");
  g.Node("OptionalHasElement", {"none"}, {"y"});
  g.Out("y", DType::kBool, {});
  auto absent = RunModel(g, 15, {});
  ASSERT_TRUE(absent.ok()) << absent.status().message();
  EXPECT_FALSE(*(*absent)[0].data<bool>());
}

TEST(ControlFlowTest, OptionalGetElementOfEmptyOptionalIsAnError) {
  GraphSpec g("empty_optional");
  EmptyOptional(g, "none");
  g.Node("OptionalGetElement", {"none"}, {"y"});
  g.Out("y", DType::kFloat32, {-1});
  auto out = RunModel(g, 15, {});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("empty"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace tessera
