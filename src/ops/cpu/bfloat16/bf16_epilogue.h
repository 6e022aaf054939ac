// What a Bf16Conv / Bf16MatMul node (graph/passes/bf16_precision.h) applies after its product, read once
// from its attributes: y = act(x * w + B [+ Z]) with act "", "Relu", "Clip" (activation_min/max) or
// "GeluErf", as oneDNN post-ops (the sum with Z first: Z is copied into the destination beforehand).
#pragma once

#include <dnnl.hpp>
#include <string>

#include "ops/kernel.h"

namespace tessera {

struct Bf16Epilogue {
  std::string activation;
  float clip_min = 0, clip_max = 0;
  bool sum = false;

  dnnl::primitive_attr MakeAttr() const {
    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    if (sum) ops.append_sum(1.0f);
    if (activation == "Relu") ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (activation == "Clip") ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, clip_min, clip_max);
    if (activation == "GeluErf") ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
    if (ops.len() > 0) attr.set_post_ops(ops);
    return attr;
  }
};

inline StatusOr<Bf16Epilogue> ReadBf16Epilogue(const Node& node, bool sum) {
  Bf16Epilogue e;
  e.activation = node.GetString("activation", "");
  e.clip_min = node.GetFloat("activation_min", 0);
  e.clip_max = node.GetFloat("activation_max", 0);
  e.sum = sum;
  if (!e.activation.empty() && e.activation != "Relu" && e.activation != "Clip" && e.activation != "GeluErf") {
    return InvalidArgument(node.Describe() + " has an unknown activation '" + e.activation + "'");
  }
  if (e.activation == "Clip" && !(e.clip_min <= e.clip_max)) {
    return InvalidArgument(node.Describe() + " activation_min exceeds activation_max");
  }
  return e;
}

}  // namespace tessera
