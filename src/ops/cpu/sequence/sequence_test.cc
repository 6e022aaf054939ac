// The sequence ops through whole models run with Session::RunValues: every SplitToSequence form, Concat-
// FromSequence with and without a new axis, positions counted from either end, the errors for positions out
// of range and mixed dtypes, and a tensor op fed a sequence. Split/concat round trips draw random shapes.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <random>
#include <string>
#include <vector>

#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the model-building vocabulary of testing/onnx_builder.h

// A graph input or output of type seq(tensor(dtype)).
void DeclareSequence(onnx::ValueInfoProto* v, const std::string& name, DType dtype) {
  v->set_name(name);
  v->mutable_type()->mutable_sequence_type()->mutable_elem_type()->mutable_tensor_type()->set_elem_type(
      static_cast<int>(dtype));
}

StatusOr<std::vector<Value>> RunModel(OnnxBuilder& b, const std::vector<std::pair<std::string, Value>>& feeds) {
  SessionOptions options;
  options.threads = 1;
  options.fold_constants = false;
  TS_ASSIGN_OR_RETURN(auto session, LoadModelProto(b.proto(), options));
  return session->RunValues(feeds);
}

std::vector<Shape> ElementShapes(const Value& seq) {
  std::vector<Shape> shapes;
  for (const Value& e : seq.elements()) shapes.push_back(e.tensor().shape());
  return shapes;
}

// x [2, 5] = 0..9 split along axis 1 by the given `split` (none when undefined), keepdims `keepdims`.
StatusOr<Value> SplitToSequence(const Tensor& split, int64_t axis, int64_t keepdims, int opset = 11) {
  OnnxBuilder b(opset);
  b.Input("x", DType::kFloat32, {2, 5});
  std::vector<std::string> inputs = {"x"};
  if (split.defined()) {
    b.Input("split", split.dtype(), split.shape());
    inputs.push_back("split");
  }
  auto& n = b.Node("SplitToSequence", inputs, {"seq"});
  SetIntAttribute(n, "axis", axis);
  SetIntAttribute(n, "keepdims", keepdims);
  DeclareSequence(b.graph().add_output(), "seq", DType::kFloat32);
  std::vector<std::pair<std::string, Value>> feeds = {{"x", F32({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})}};
  if (split.defined()) feeds.emplace_back("split", split);
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, RunModel(b, feeds));
  return out[0];
}

TEST(SequenceTest, SplitToSequenceWithoutSplitGivesLengthOnePieces) {
  auto kept = SplitToSequence(Tensor(), -1, 1);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  EXPECT_EQ(ElementShapes(*kept), std::vector<Shape>(5, Shape{2, 1}));
  EXPECT_EQ(FloatValues(kept->elements()[3].tensor()), (std::vector<float>{3, 8}));
  auto squeezed = SplitToSequence(Tensor(), 1, 0);
  ASSERT_TRUE(squeezed.ok()) << squeezed.status().message();
  EXPECT_EQ(ElementShapes(*squeezed), std::vector<Shape>(5, Shape{2}));
  EXPECT_EQ(FloatValues(squeezed->elements()[4].tensor()), (std::vector<float>{4, 9}));
}

TEST(SequenceTest, SplitToSequenceScalarSplitLeavesAShorterLastPiece) {
  auto seq = SplitToSequence(I64({}, {2}), 1, 0, 24);  // keepdims is ignored when split is given
  ASSERT_TRUE(seq.ok()) << seq.status().message();
  EXPECT_EQ(ElementShapes(*seq), (std::vector<Shape>{{2, 2}, {2, 2}, {2, 1}}));
  EXPECT_EQ(FloatValues(seq->elements()[2].tensor()), (std::vector<float>{4, 9}));
}

TEST(SequenceTest, SplitToSequenceListedLengthsMustAddUp) {
  auto seq = SplitToSequence(I32({3}, {1, 0, 4}), 1, 1);
  ASSERT_TRUE(seq.ok()) << seq.status().message();
  EXPECT_EQ(ElementShapes(*seq), (std::vector<Shape>{{2, 1}, {2, 0}, {2, 4}}));
  EXPECT_EQ(FloatValues(seq->elements()[2].tensor()), (std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9}));
  auto bad = SplitToSequence(I64({2}, {1, 2}), 1, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("adds up to 3 but the axis has 5"), std::string::npos)
      << bad.status().message();
}

// seq (input) -> ConcatFromSequence(axis, new_axis) -> y.
StatusOr<Tensor> Concat(const std::vector<Tensor>& parts, int64_t axis, int64_t new_axis) {
  OnnxBuilder b(11);
  DeclareSequence(b.graph().add_input(), "seq", parts[0].dtype());
  auto& n = b.Node("ConcatFromSequence", {"seq"}, {"y"});
  SetIntAttribute(n, "axis", axis);
  SetIntAttribute(n, "new_axis", new_axis);
  b.Output("y", parts[0].dtype(), std::vector<int64_t>(parts[0].shape().size() + new_axis, -1));
  std::vector<Value> elements(parts.begin(), parts.end());
  TS_ASSIGN_OR_RETURN(std::vector<Value> out, RunModel(b, {{"seq", Value::Sequence(elements, parts[0].dtype())}}));
  return out[0].tensor();
}

TEST(SequenceTest, ConcatFromSequenceJoinsOrStacks) {
  const Tensor a = F32({2, 1}, {1, 2}), c = F32({2, 2}, {3, 4, 5, 6});
  auto joined = Concat({a, c}, -1, 0);
  ASSERT_TRUE(joined.ok()) << joined.status().message();
  EXPECT_EQ(joined->shape(), (Shape{2, 3}));
  EXPECT_EQ(FloatValues(*joined), (std::vector<float>{1, 3, 4, 2, 5, 6}));
  // new_axis=1: axis -1 is the new last axis of the [2, 1, 2] stack... of equal shapes only.
  auto stacked = Concat({F32({2}, {1, 2}), F32({2}, {3, 4})}, -1, 1);
  ASSERT_TRUE(stacked.ok()) << stacked.status().message();
  EXPECT_EQ(stacked->shape(), (Shape{2, 2}));
  EXPECT_EQ(FloatValues(*stacked), (std::vector<float>{1, 3, 2, 4}));
  auto mismatched = Concat({a, F32({3, 1}, {1, 2, 3})}, 1, 0);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("sequence element 1 has shape [3,1]"), std::string::npos)
      << mismatched.status().message();
}

// Split and concatenate along a random axis of a random shape: the round trip gives the input back.
TEST(SequenceTest, SplitThenConcatRoundTripsOnRandomShapes) {
  const unsigned seed = 20261207;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 12; ++trial) {
    const int rank = 1 + static_cast<int>(rng() % 3);
    Shape shape;
    for (int d = 0; d < rank; ++d) shape.push_back(1 + static_cast<int64_t>(rng() % 4));
    const int64_t axis = static_cast<int64_t>(rng() % static_cast<unsigned>(rank)) - (rng() % 2 ? rank : 0);
    const int64_t chunk = 1 + static_cast<int64_t>(rng() % 3);
    std::vector<float> values(static_cast<size_t>(ShapeElementCount(shape)));
    for (float& v : values) v = static_cast<float>(rng() % 1000) / 10;
    OnnxBuilder b(17);
    b.Input("x", DType::kFloat32, shape);
    b.Input("split", DType::kInt64, {});
    auto& split = b.Node("SplitToSequence", {"x", "split"}, {"seq"});
    SetIntAttribute(split, "axis", axis);
    auto& concat = b.Node("ConcatFromSequence", {"seq"}, {"y"});
    SetIntAttribute(concat, "axis", axis);
    b.Output("y", DType::kFloat32, shape);
    auto out = RunModel(b, {{"x", F32(shape, values)}, {"split", I64({}, {chunk})}});
    ASSERT_TRUE(out.ok()) << "seed " << seed << " trial " << trial << ": " << out.status().message();
    EXPECT_EQ(FloatValues((*out)[0].tensor()), values) << "seed " << seed << " trial " << trial;
  }
}

// SequenceConstruct(a, b, c) -> SequenceInsert(d at `insert_at`) -> SequenceErase(`erase_at`) -> SequenceAt(`at`)
// and SequenceLength.
StatusOr<std::vector<Value>> EditSequence(const Tensor& d, int64_t insert_at, int64_t erase_at, int64_t at) {
  OnnxBuilder b(11);
  for (const char* name : {"a", "b", "c"}) b.Input(name, DType::kFloat32, {1});
  b.Input("d", d.dtype(), d.shape());
  for (const char* name : {"insert_at", "erase_at", "at"}) b.Input(name, DType::kInt64, {});
  b.Node("SequenceConstruct", {"a", "b", "c"}, {"s0"});
  b.Node("SequenceInsert", {"s0", "d", "insert_at"}, {"s1"});
  b.Node("SequenceErase", {"s1", "erase_at"}, {"s2"});
  b.Node("SequenceAt", {"s2", "at"}, {"element"});
  b.Node("SequenceLength", {"s2"}, {"length"});
  DeclareSequence(b.graph().add_output(), "s2", DType::kFloat32);
  b.Output("element", DType::kFloat32, {1});
  b.Output("length", DType::kInt64, {});
  return RunModel(b, {{"a", F32({1}, {1})}, {"b", F32({1}, {2})}, {"c", F32({1}, {3})}, {"d", d},
                      {"insert_at", I64({}, {insert_at})}, {"erase_at", I64({}, {erase_at})}, {"at", I64({}, {at})}});
}

TEST(SequenceTest, PositionsCountFromEitherEnd) {
  // [1, 2, 3] -> insert 4 at -1: [1, 2, 4, 3] -> erase -4: [2, 4, 3] -> at -2: 4.
  auto out = EditSequence(F32({1}, {4}), -1, -4, -2);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ((*out)[0].sequence_length(), 3u);
  EXPECT_EQ(FloatValues((*out)[1].tensor()), (std::vector<float>{4}));
  EXPECT_EQ(Int64Values((*out)[2].tensor()), (std::vector<int64_t>{3}));
  // Insert may append (position == length); At may not read there.
  auto appended = EditSequence(F32({1}, {4}), 3, 0, 2);
  ASSERT_TRUE(appended.ok()) << appended.status().message();
  EXPECT_EQ(FloatValues((*appended)[1].tensor()), (std::vector<float>{4}));
}

TEST(SequenceTest, PositionOutOfRangeNamesNodeAndRange) {
  auto out = EditSequence(F32({1}, {4}), 0, 0, 3);  // 3 elements left, at 3
  ASSERT_FALSE(out.ok());
  const std::string& m = out.status().message();
  EXPECT_NE(m.find("SequenceAt"), std::string::npos) << m;
  EXPECT_NE(m.find("input 'position' is 3, outside [-3, 2]"), std::string::npos) << m;
  auto insert = EditSequence(F32({1}, {4}), 5, 0, 0);
  ASSERT_FALSE(insert.ok());
  EXPECT_NE(insert.status().message().find("outside [-3, 3]"), std::string::npos) << insert.status().message();
}

TEST(SequenceTest, MixedDtypesAreRefused) {
  auto out = EditSequence(I64({1}, {4}), 0, 0, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'tensor' is int64, but the sequence holds float32"), std::string::npos)
      << out.status().message();
}

TEST(SequenceTest, TensorOpFedASequenceNamesTheValue) {
  OnnxBuilder b(11);
  b.Input("x", DType::kFloat32, {2});
  b.Node("SequenceConstruct", {"x"}, {"seq"});
  b.Node("Relu", {"seq"}, {"y"}, "relu_of_seq");
  b.Output("y", DType::kFloat32, {2});
  auto out = RunModel(b, {{"x", F32({2}, {1, -1})}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'relu_of_seq' (Relu): input 'seq' is a sequence"), std::string::npos)
      << out.status().message();
}

TEST(SequenceTest, SessionChecksSequenceFeedsAndTensorRunRefusesSequenceOutputs) {
  OnnxBuilder b(11);
  DeclareSequence(b.graph().add_input(), "seq", DType::kFloat32);
  b.Node("Identity", {"seq"}, {"same"});
  DeclareSequence(b.graph().add_output(), "same", DType::kFloat32);
  SessionOptions options;
  options.threads = 1;
  auto session = LoadModelProto(b.proto(), options);
  ASSERT_TRUE(session.ok()) << session.status().message();
  EXPECT_EQ((*session)->inputs()[0].kind, Value::Kind::kSequence);
  auto wrong_dtype = (*session)->RunValues({{"seq", Value::Sequence({I64({1}, {1})}, DType::kInt64)}});
  ASSERT_FALSE(wrong_dtype.ok());
  EXPECT_NE(wrong_dtype.status().message().find("input 'seq[0]' must be float32"), std::string::npos)
      << wrong_dtype.status().message();
  auto tensor_fed = (*session)->RunValues({{"seq", F32({1}, {1})}});
  ASSERT_FALSE(tensor_fed.ok());
  EXPECT_NE(tensor_fed.status().message().find("must be a sequence"), std::string::npos);
  auto ok = (*session)->RunValues({{"seq", Value::Sequence({F32({1}, {1}), F32({2}, {2, 3})}, DType::kFloat32)}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)[0].sequence_length(), 2u);
  auto as_tensors = (*session)->Run({});
  ASSERT_FALSE(as_tensors.ok());
}

}  // namespace
}  // namespace tessera
