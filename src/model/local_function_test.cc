// Model-local functions (ModelProto.functions, IR 8+) run through a session: a call with an attribute
// the body reads by reference, the same function called twice, a function calling another, IR 9's
// attribute defaults and IR 10's overloads (fields the installed ONNX protobuf does not know, read from
// its unknown fields).
#include <gtest/gtest.h>

#include <google/protobuf/unknown_field_set.h>

#include "testing/onnx_builder.h"
#include "testing/tensor_values.h"

namespace tessera {
namespace {

using namespace testing;  // NOLINT: the test vocabulary of testing/onnx_builder.h and tensor_values.h

constexpr char kDomain[] = "local.fns";

// ScaleAdd(X, Y) <alpha> = X * alpha + Y, alpha read through ref_attr_name.
onnx::FunctionProto ScaleAdd() {
  onnx::FunctionProto f;
  f.set_name("ScaleAdd");
  f.set_domain(kDomain);
  f.add_input("X");
  f.add_input("Y");
  f.add_output("Z");
  f.add_attribute("alpha");
  auto* c = f.add_node();
  c->set_op_type("Constant");
  c->add_output("a");
  auto* attr = c->add_attribute();
  attr->set_name("value_float");
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_ref_attr_name("alpha");
  auto* mul = f.add_node();
  mul->set_op_type("Mul");
  mul->add_input("X");
  mul->add_input("a");
  mul->add_output("t");
  auto* add = f.add_node();
  add->set_op_type("Add");
  add->add_input("t");
  add->add_input("Y");
  add->add_output("Z");
  auto* opset = f.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  return f;
}

onnx::NodeProto* Call(onnx::GraphProto& g, const std::string& x, const std::string& y, const std::string& z,
                      const float* alpha) {
  auto* n = g.add_node();
  n->set_op_type("ScaleAdd");
  n->set_domain(kDomain);
  n->add_input(x);
  n->add_input(y);
  n->add_output(z);
  if (alpha != nullptr) {
    auto* a = n->add_attribute();
    a->set_name("alpha");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(*alpha);
  }
  return n;
}

onnx::ModelProto Model(int ir_version) {
  onnx::ModelProto m;
  m.set_ir_version(ir_version);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(17);
  o = m.add_opset_import();
  o->set_domain(kDomain);
  o->set_version(1);
  auto* g = m.mutable_graph();
  g->set_name("g");
  DeclareValue(g->add_input(), "x", DType::kFloat32, {3});
  DeclareValue(g->add_input(), "y", DType::kFloat32, {3});
  DeclareValue(g->add_output(), "out", DType::kFloat32, {3});
  return m;
}

std::vector<float> RunModel(const onnx::ModelProto& m) {
  auto session = LoadModelProto(m, SessionOptions{});
  EXPECT_TRUE(session.ok()) << session.status().message();
  if (!session.ok()) return {};
  auto out = (*session)->Run({{"x", F32({3}, {1, 2, 3})}, {"y", F32({3}, {10, 20, 30})}});
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? Values<float>((*out)[0]) : std::vector<float>{};
}

TEST(LocalFunctionTest, CallsWithAttributesExpandTwice) {
  onnx::ModelProto m = Model(8);
  *m.add_functions() = ScaleAdd();
  const float two = 2.0f, half = 0.5f;
  Call(*m.mutable_graph(), "x", "y", "t", &two);     // 2x + y
  Call(*m.mutable_graph(), "t", "x", "out", &half);  // (2x + y) / 2 + x
  EXPECT_EQ(RunModel(m), (std::vector<float>{7, 14, 21}));
}

TEST(LocalFunctionTest, AFunctionCallingAnotherExpandsBoth) {
  onnx::ModelProto m = Model(8);
  *m.add_functions() = ScaleAdd();
  onnx::FunctionProto outer;
  outer.set_name("Twice");
  outer.set_domain(kDomain);
  outer.add_input("A");
  outer.add_input("B");
  outer.add_output("C");
  const float three = 3.0f;
  onnx::GraphProto scratch;
  *outer.add_node() = *Call(scratch, "A", "B", "C", &three);
  auto* opset = outer.add_opset_import();
  opset->set_domain(kDomain);
  opset->set_version(1);
  *m.add_functions() = outer;
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("Twice");
  n->set_domain(kDomain);
  n->add_input("x");
  n->add_input("y");
  n->add_output("out");
  EXPECT_EQ(RunModel(m), (std::vector<float>{13, 26, 39}));
}

TEST(LocalFunctionTest, Ir9AttributeDefaultAppliesWhenTheCallOmitsIt) {
  onnx::ModelProto m = Model(9);
  onnx::FunctionProto f = ScaleAdd();
  f.clear_attribute();
  onnx::AttributeProto alpha;
  alpha.set_name("alpha");
  alpha.set_type(onnx::AttributeProto::FLOAT);
  alpha.set_f(4.0f);
  f.GetReflection()->MutableUnknownFields(&f)->AddLengthDelimited(11, alpha.SerializeAsString());
  *m.add_functions() = f;
  Call(*m.mutable_graph(), "x", "y", "out", nullptr);
  EXPECT_EQ(RunModel(m), (std::vector<float>{14, 28, 42}));
}

// IR 10: two functions of one name told apart by their overload (FunctionProto field 13), the call
// choosing one by its own overload (NodeProto field 8).
TEST(LocalFunctionTest, Ir10OverloadChoosesTheFunction) {
  onnx::ModelProto m = Model(10);
  onnx::FunctionProto plain = ScaleAdd(), doubled = ScaleAdd();
  doubled.GetReflection()->MutableUnknownFields(&doubled)->AddLengthDelimited(13, "doubled");
  doubled.mutable_node(1)->set_op_type("Add");  // X + a instead of X * a
  *m.add_functions() = plain;
  *m.add_functions() = doubled;
  const float two = 2.0f;
  onnx::NodeProto* call = Call(*m.mutable_graph(), "x", "y", "out", &two);
  call->GetReflection()->MutableUnknownFields(call)->AddLengthDelimited(8, "doubled");
  EXPECT_EQ(RunModel(m), (std::vector<float>{13, 24, 35}));  // (x + 2) + y
}

}  // namespace
}  // namespace tessera
