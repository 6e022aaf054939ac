// Conv fusion: folds the elementwise tail of a float32 Conv into one com.tessera FusedConv node.
//
// Patterns (the Conv's output must have exactly one consumer and must not be a graph output; the same
// holds for an Add's output that an activation follows):
//   Conv -> Relu                    FusedConv(X, W, B)            activation "Relu"
//   Conv -> Clip(constant bounds)   FusedConv(X, W, B)            activation "Clip", activation_min/max
//   Conv -> HardSwish               FusedConv(X, W, B)            activation "HardSwish"
//   Conv -> HardSigmoid             FusedConv(X, W, B)            activation "HardSigmoid",
//                                                                 activation_alpha/beta (the node's alpha, beta)
//   Conv -> Sigmoid                 FusedConv(X, W, B)            activation "Sigmoid"
//   Conv -> Add(Z) [-> activation]  FusedConv(X, W, B, Z)         Z summed into the result before the
//                                                                 activation; Z must have exactly the
//                                                                 Conv output's shape (no broadcast; equal
//                                                                 sizes or the same named symbol per dim)
// FusedConv keeps the Conv's attributes and takes the place of the last node of the pattern, so the node
// list stays topologically ordered. Its kernel lives with Conv (ops/cpu/conv/conv.cc).
#pragma once

#include "graph/graph.h"
#include "graph/layout.h"
#include "tessera/status.h"

namespace tessera {

// Rewrites every matching pattern in `graph` (not its subgraphs).
Status FuseConvActivations(Graph& graph);

// Channels-last between convolutions: a float32 rank-4 convolution output with static shape whose every
// reader is a convolution (as X, or as FusedConv's addend Z) and that is not a graph output is kept in
// NHWC order, which oneDNN's convolutions use natively, instead of being reordered to NCHW and back at
// each node boundary. The value's declared shape stays NCHW; only the bytes are in NHWC order, so no node
// other than a FusedConv or a channels-last max pool may read it. The producer gets attribute
// `channels_last_output` = 1, each reader `channels_last_input` = 1 (a FusedConv's addend always has its
// output's layout). Plain Convs on such a boundary become FusedConv without post-ops. A float32 MaxPool
// without Indices between convolutions (ResNet's stem) passes the layout through: when its input and
// output both qualify it becomes com.tessera MaxPoolChannelsLast (same attributes, NHWC in and out). A
// float32 GlobalAveragePool may read such a value too (ResNet's head): it becomes com.tessera
// GlobalAveragePoolChannelsLast, whose [N, C, 1, 1] output is the same bytes in either order. A feature
// pyramid's float32 nearest Resize (N and C kept) and channel Concat pass the layout through like the max
// pool (com.tessera ResizeChannelsLast, ConcatChannelsLast): a Resize's input and output are channels-last
// or neither, a Concat's inputs and output all or none.
// Such a value is kept blocked (nChw16c, attribute value kBlockedLayout) instead of NHWC when its channels
// are a multiple of 16 and its producer and every reader work natively in that layout: a 1x1 convolution,
// a convolution that runs as Winograd (ConvUsesWinograd), or the global average pool; a convolution's
// addend again has its output's layout. ResNet's bottleneck blocks then run without reorders around their
// Winograd 3x3 convolutions; strided and small-image 3x3 convolutions, faster on NHWC, stay there.
Status ChooseConvLayouts(Graph& graph);

// Conv -> BatchNormalization (opset 9+, inference, constant float32 parameters and Conv weights/bias, Conv
// output read only by it) becomes one Conv with new constant weights W * s and bias (B - mean) * s + shift,
// s = scale / sqrt(var + epsilon), computed in double. The original constants are left for other readers.
// A ConvTranspose with group 1 folds the same way (its W is [C, M, k...]: s scales the second axis).
Status FoldBatchNormIntoConv(Graph& graph);

// FoldBatchNormIntoConv, FuseConvActivations, ChooseConvLayouts, then FuseSqueezeExcitation
// (squeeze_excitation_fusion.h): the pass list's entry.
Status RunConvFusion(Graph& graph);

}  // namespace tessera
