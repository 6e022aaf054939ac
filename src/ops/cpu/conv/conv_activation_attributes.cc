#include "ops/cpu/conv/conv_activation_attributes.h"

namespace tessera {

Status ReadConvActivation(const Node& node, const std::string& prefix, const std::string& op_name, ConvPostOps& ops) {
  const std::string kind = node.GetString(prefix, "");
  if (kind == "Relu") {
    ops.activation = ConvPostOps::Activation::kRelu;
  } else if (kind == "Clip") {
    ops.activation = ConvPostOps::Activation::kClip;
    ops.min = node.GetFloat(prefix + "_min", 0);
    ops.max = node.GetFloat(prefix + "_max", 0);
  } else if (kind == "HardSwish") {
    ops.activation = ConvPostOps::Activation::kHardSwish;
  } else if (kind == "HardSigmoid") {
    ops.activation = ConvPostOps::Activation::kHardSigmoid;
    ops.alpha = node.GetFloat(prefix + "_alpha", 0.2f);
    ops.beta = node.GetFloat(prefix + "_beta", 0.5f);
  } else if (kind == "Sigmoid") {
    ops.activation = ConvPostOps::Activation::kSigmoid;
  } else if (!kind.empty()) {
    return InvalidArgument(op_name + " attribute '" + prefix +
                           "' must be Relu, Clip, HardSwish, HardSigmoid or Sigmoid, got '" + kind + "'");
  }
  return Status::Ok();
}

}  // namespace tessera
