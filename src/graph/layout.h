// The graph's vocabulary for Tessera's own nodes and for memory layouts that passes choose and kernels
// honour: the com.tessera domain, the channels-last op names, and the values of the layout attributes.
// Passes write these names and kernels read them, so they live with the IR that both depend on.
#pragma once

#include <cstdint>

namespace tessera {

constexpr char kTesseraDomain[] = "com.tessera";
constexpr int kTesseraOpset = 1;
// A MaxPool (no Indices output) whose X and Y are both NHWC bytes under NCHW shapes; see ChooseConvLayouts
// (graph/passes/conv_fusion.h).
constexpr char kChannelsLastMaxPool[] = "MaxPoolChannelsLast";
// A GlobalAveragePool whose X is NHWC bytes under an NCHW shape; Y ([N, C, 1, 1]) is the same either way.
constexpr char kChannelsLastGlobalAveragePool[] = "GlobalAveragePoolChannelsLast";
// A Mul of an image X whose bytes are NHWC under an NCHW shape by a per-channel scale S [N or 1, C, 1, 1]
// (squeeze-excitation); Y has X's layout. Inputs are (X, S) whatever order the Mul had.
constexpr char kChannelsLastChannelScale[] = "ChannelScaleChannelsLast";
// A nearest-mode Resize of H and W only whose X and Y are both NHWC bytes under NCHW shapes (an FPN's
// upsampling between convolutions). Inputs and attributes are the Resize's; attribute `onnx_opset` keeps
// the opset the Resize was read with, whose rules for scales, sizes and coordinates still apply.
constexpr char kChannelsLastResize[] = "ResizeChannelsLast";
// A Concat along the channels (axis 1) of images whose bytes are all NHWC under NCHW shapes, as is Y.
constexpr char kChannelsLastConcat[] = "ConcatChannelsLast";
// A squeeze-excitation block, Y = X * gate(W2 · squeeze(W1 · mean_hw(X) + B1) + B2), of an image X whose
// bytes are NHWC under an NCHW shape; Y has X's layout. Inputs (X, W1 [S, C, 1, 1], B1 [S] or none,
// W2 [C, S, 1, 1], B2 [C] or none), the weights constant; attributes squeeze_activation* and
// gate_activation* spelled as FusedConv's activation* (graph/passes/squeeze_excitation_fusion.h).
constexpr char kChannelsLastSqueezeExcitation[] = "SqueezeExcitationChannelsLast";

// Values of the `channels_last_input` / `channels_last_output` attributes that ChooseConvLayouts sets:
// NHWC, or oneDNN's blocked nChw16c ([N, C/16, H, W, 16]; channels a multiple of 16).
constexpr int64_t kNhwcLayout = 1;
constexpr int64_t kBlockedLayout = 2;

}  // namespace tessera
