// `tessera prune` as a library call: magnitude pruning of the float weights of Conv, MatMul and Gemm.
//
//   unstructured (default): in each constant float32 weight, the fraction `sparsity` of entries with the
//       smallest |w| becomes 0 (shapes stay; the file compresses, the kernels run as before).
//   --structured channels: output channels of a product whose result reaches exactly one other product
//       through elementwise nodes only (Relu, Clip, GELU's Div/Erf/Add/Mul with scalar constants, a bias
//       Add of one value per channel) are removed: the fraction `sparsity` with the smallest L1 norm of
//       their weights, from the first product's weight (Conv rows [M, ...], MatMul/Gemm columns) and bias,
//       from the bias Adds on the way and from the second product's input channels (Conv [_, M, ...],
//       MatMul/Gemm rows). Both products really shrink, so they run faster. Conv pairs need group 1.
// Products whose output reaches anything else (a residual Add, a graph output, two readers) keep their
// channels; the report lists them. With samples, the report gives each pruned node's output error and the
// model outputs' error against the float model, as `tessera quantize` does (output_comparison.h).
#pragma once

#include <string>
#include <vector>

#include "compress/quantize_report.h"

namespace tessera::compress {

struct PruneOptions {
  double sparsity = 0;            // in (0, 1)
  bool structured_channels = false;
  std::string calibration_dir;    // samples for the error report; may be empty
  std::vector<std::string> exclude;  // node names and op types left alone
};

// Fails when sparsity is outside (0, 1) (a usage error).
Status ValidatePruneOptions(const PruneOptions& options);

// Reads `in_path`, prunes it and writes `out_path`. Errors name the model: unreadable, nothing to prune,
// samples that do not fit. The report's layers say what each node became ("50.0% zeros", "channels 64 -> 32").
StatusOr<QuantizeReport> PruneModelFile(const std::string& in_path, const std::string& out_path,
                                        const PruneOptions& options);

}  // namespace tessera::compress
