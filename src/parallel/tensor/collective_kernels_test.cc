// The com.tessera collective kernels: AllReduceSum and AllGather over a registered communicator, and a
// clear error at session creation when the handle names none.
#include "parallel/tensor/collective_kernels.h"

#include <gtest/gtest.h>

#include "parallel/comm/communicator_registry.h"
#include "parallel/comm/thread_communicator.h"
#include "runtime/session_factory.h"
#include "testing/onnx_builder.h"

namespace tessera {
namespace {

// x [2, 3] -> Relu -> r, then the collective `op` (rewritten in) from r to y.
std::string ReluModel() {
  testing::OnnxBuilder b(17);
  b.Input("x", DType::kFloat32, {2, 3});
  b.Node("Relu", {"x"}, {"y"});
  b.Output("y", DType::kFloat32, {2, -1});
  return b.WriteTemp();
}

GraphRewrite AppendCollective(const std::string& op, int64_t handle, int64_t axis) {
  return [=](Graph& graph) -> Status {
    const int y = graph.ValueId("y");
    const int r = graph.ValueId("r");
    graph.values[static_cast<size_t>(r)].dtype = DType::kFloat32;
    graph.nodes.back().outputs[0] = r;
    Node n;
    n.name = "collective";
    n.op_type = op;
    n.domain = kCollectiveDomain;
    n.opset = 1;
    n.inputs = {r};
    n.explicit_input_count = 1;
    n.outputs = {y};
    Attribute comm;
    comm.type = Attribute::Type::kInt;
    comm.i = handle;
    n.attributes["comm"] = comm;
    Attribute a;
    a.type = Attribute::Type::kInt;
    a.i = axis;
    n.attributes["axis"] = a;
    graph.nodes.push_back(n);
    graph.opsets.emplace(kCollectiveDomain, 1);
    return Status::Ok();
  };
}

TEST(CollectiveKernelsTest, AllReduceSumAndAllGatherOverThreeRanks) {
  const std::string path = ReluModel();
  auto statuses = RunOnThreads(3, [&](Communicator& comm) -> Status {
    CommunicatorRegistration registration(comm);
    const float k = static_cast<float>(comm.rank() + 1);
    const Tensor x = Tensor::FromVector<float>(DType::kFloat32, {2, 3}, {k, -1, 2 * k, 0, 1, -k});
    for (const char* op : {kAllReduceSumOp, kAllGatherOp}) {
      SessionOptions options;
      options.threads = 1;
      TS_ASSIGN_OR_RETURN(auto session, LoadSessionWithRewrite(path, options, AppendCollective(op, registration.handle(), 1)));
      TS_ASSIGN_OR_RETURN(auto out, session->Run({{"x", x}}));
      const Tensor& y = out[0];
      const std::vector<float> want_sum = {6, 0, 12, 0, 3, 0};
      const std::vector<float> want_gather = {1, 0, 2, 2, 0, 4, 3, 0, 6, 0, 1, 0, 0, 1, 0, 0, 1, 0};
      const auto& want = std::string(op) == kAllReduceSumOp ? want_sum : want_gather;
      if (y.element_count() != static_cast<int64_t>(want.size())) return Internal(std::string(op) + ": " + ShapeToString(y.shape()));
      for (size_t i = 0; i < want.size(); ++i) {
        if (y.data<float>()[i] != want[i]) return Internal(std::string(op) + " element " + std::to_string(i));
      }
    }
    return Status::Ok();
  });
  for (const Status& s : statuses) EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(CollectiveKernelsTest, UnregisteredCommunicatorIsAnErrorAtCreation) {
  auto session = LoadSessionWithRewrite(ReluModel(), SessionOptions{}, AppendCollective(kAllReduceSumOp, 987654, 0));
  ASSERT_FALSE(session.ok());
  EXPECT_NE(session.status().ToString().find("communicator 987654 is not registered"), std::string::npos)
      << session.status().ToString();
}

}  // namespace
}  // namespace tessera
