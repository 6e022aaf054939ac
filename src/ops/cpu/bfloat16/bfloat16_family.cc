// The bfloat16 family's registration: float32 products that --precision bf16 computes in bfloat16.
#include "ops/cpu/bfloat16/bfloat16_family.h"

#include "graph/layout.h"
#include "ops/op_list.h"

namespace tessera {

void RegisterBfloat16Kernels(KernelRegistry& registry) {
  for (auto [op, factory] : {std::pair<const char*, KernelFactory>{"Bf16Conv", MakeBf16ConvKernel},
                             std::pair<const char*, KernelFactory>{"Bf16MatMul", MakeBf16MatMulKernel}}) {
    KernelDef def;
    def.op_type = op;
    def.domain = kTesseraDomain;
    def.since_opset = 1;
    def.factory = factory;
    registry.Register(std::move(def));
  }
}

}  // namespace tessera
