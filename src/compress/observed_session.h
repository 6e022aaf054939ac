// A session over a model proto with chosen intermediate values added as graph outputs, so calibration
// and the error report can read what each quantized node sees and gives.
#pragma once

#include <onnx/onnx_pb.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compress/calibration_data.h"
#include "tessera/session.h"

namespace tessera::compress {

class ObservedSession {
 public:
  // Copies `model` (weights included), declares each of `observed` (float values) as an extra output and
  // loads it; `model_dir` resolves external data. Errors name the model.
  static StatusOr<ObservedSession> Create(const onnx::ModelProto& model, const std::string& model_dir,
                                          const std::string& display_name, const std::vector<std::string>& observed);

  // Runs one sample; returns the model outputs, the observed values and the feeds, by name.
  StatusOr<std::map<std::string, Tensor>> Run(const CalibrationSample& sample);

 private:
  std::shared_ptr<Session> session_;
};

// The names of the graph's inputs that are not initializers (what a sample must feed).
std::vector<std::string> FedInputNames(const onnx::GraphProto& graph);

}  // namespace tessera::compress
