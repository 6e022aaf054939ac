// The activation a fused convolution node names in its attributes, read once for every node that spells it the
// FusedConv way (ops/cpu/conv/conv.cc): `PREFIX` is "Relu", "Clip" (`PREFIX_min`/`PREFIX_max`), "HardSwish",
// "HardSigmoid" (`PREFIX_alpha`/`PREFIX_beta`), "Sigmoid", or absent for none. FusedConv uses the prefix
// "activation"; SqueezeExcitationChannelsLast has one for each of its two activations.
#pragma once

#include <string>

#include "ops/cpu/conv/conv_dnnl.h"

namespace tessera {

// Sets ops.activation (and its bounds or slope) from `node`'s attributes under `prefix`; an error naming
// `op_name` and the attribute for an unknown activation, leaving `ops` as it was.
Status ReadConvActivation(const Node& node, const std::string& prefix, const std::string& op_name, ConvPostOps& ops);

}  // namespace tessera
