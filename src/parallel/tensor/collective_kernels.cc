// Kernels of the com.tessera collectives (see collective_kernels.h). Every rank runs the same graph in
// the same order, so the collectives of one inference meet in the same order on every rank.
#include "parallel/tensor/collective_kernels.h"

#include <cstring>

#include "ops/op_list.h"
#include "parallel/comm/communicator_registry.h"

namespace tessera {

namespace {

StatusOr<Communicator*> CommunicatorOf(const Node& node) {
  const Attribute* a = node.FindAttribute("comm");
  if (a == nullptr || a->type != Attribute::Type::kInt) {
    return InvalidArgument(node.Describe() + ": missing integer attribute 'comm' (a communicator handle)");
  }
  Communicator* comm = FindRegisteredCommunicator(a->i);
  if (comm == nullptr) {
    return InvalidArgument(node.Describe() + ": communicator " + std::to_string(a->i) +
                           " is not registered (the tensor-parallel rewrite that made this node is gone)");
  }
  return comm;
}

class AllReduceSumKernel : public Kernel {
 public:
  explicit AllReduceSumKernel(Communicator* comm) : comm_(comm) {}
  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0)) return KernelContext::Error("AllReduceSum needs an input");
    const Tensor& x = ctx.input(0);
    TS_ASSIGN_OR_RETURN(Tensor * y, ctx.AllocateUninitializedOutput(0, x.dtype(), x.shape()));
    if (x.byte_size() > 0) std::memcpy(y->raw_data(), x.raw_data(), x.byte_size());
    return comm_->AllReduceSum(*y);
  }

 private:
  Communicator* comm_;
};

class AllGatherKernel : public Kernel {
 public:
  AllGatherKernel(Communicator* comm, int64_t axis) : comm_(comm), axis_(axis) {}
  Status Run(KernelContext& ctx) override {
    if (!ctx.has_input(0)) return KernelContext::Error("AllGather needs an input");
    const Tensor& x = ctx.input(0);
    const int64_t axis = axis_ < 0 ? axis_ + x.rank() : axis_;
    if (axis < 0 || axis >= x.rank()) {
      return KernelContext::Error("AllGather axis " + std::to_string(axis_) + " of a rank-" + std::to_string(x.rank()) + " input");
    }
    TS_ASSIGN_OR_RETURN(Tensor joined, comm_->AllGather(x, axis));
    ctx.SetOutput(0, std::move(joined));
    return Status::Ok();
  }

 private:
  Communicator* comm_;
  int64_t axis_;
};

void RegisterCollective(KernelRegistry& registry, const char* op, KernelFactory factory) {
  KernelDef def;
  def.op_type = op;
  def.domain = kCollectiveDomain;
  def.since_opset = 1;
  def.factory = std::move(factory);
  registry.Register(std::move(def));
}

}  // namespace

void RegisterCollectiveKernels(KernelRegistry& registry) {
  RegisterCollective(registry, kAllReduceSumOp, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(Communicator * comm, CommunicatorOf(init.node));
    return std::unique_ptr<Kernel>(std::make_unique<AllReduceSumKernel>(comm));
  });
  RegisterCollective(registry, kAllGatherOp, [](const KernelInit& init) -> StatusOr<std::unique_ptr<Kernel>> {
    TS_ASSIGN_OR_RETURN(Communicator * comm, CommunicatorOf(init.node));
    return std::unique_ptr<Kernel>(std::make_unique<AllGatherKernel>(comm, init.node.GetInt("axis", 0)));
  });
}

}  // namespace tessera
