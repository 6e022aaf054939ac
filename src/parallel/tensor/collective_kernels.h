// com.tessera collective ops that the tensor-parallel rewrite inserts:
//   AllReduceSum(x) -> y   y = the sum of x over the ranks (same shape)
//   AllGather(x)    -> y   y = every rank's x joined along attribute `axis` (sizes may differ per rank)
// Both carry attribute `comm`: the handle of a communicator registered with CommunicatorRegistration.
// The kernel looks it up when created, so an unregistered handle is an error at session creation.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

constexpr const char* kCollectiveDomain = "com.tessera";
constexpr const char* kAllReduceSumOp = "AllReduceSum";
constexpr const char* kAllGatherOp = "AllGather";

}  // namespace tessera
