// Channels-last values around the int8 convolutions FuseQdq makes (qdq_fusion.h).
//
// oneDNN's int8 convolutions read and write NHWC, so a QuantizedConv at a plain NCHW boundary pays a
// reorder in and out. KeepQuantizedConvsChannelsLast marks the 4-D values that can stay NHWC: those
// written by a 2-D QuantizedConv or by a layout-blind node, and read only by 2-D QuantizedConvs (as x)
// and layout-blind nodes. Layout-blind means elementwise with every data input and output in one
// layout: Relu, per-tensor QuantizeLinear/DequantizeLinear, and Add of two values with the same declared
// shape (the residual sums of ResNet and MobileNetV2). Such a node's inputs and output are NHWC together
// or not at all, as are a QuantizedConv's addend Z and its output; graph outputs and values of any other
// node stay NCHW. The QuantizedConvs get
// channels_last_input / channels_last_output = 1 where their x / y is NHWC; layout-blind nodes need no
// mark (the shapes stay NCHW, only the bytes are ordered NHWC).
#pragma once

#include "graph/graph.h"

namespace tessera {

void KeepQuantizedConvsChannelsLast(Graph& graph);

}  // namespace tessera
