// ParsePrecision and the bf16-vs-fp32 error report (see precision_flag.h).
#include "cli/precision_flag.h"

#include <cmath>
#include <cstdio>

namespace tessera::cli {

StatusOr<SessionOptions::Precision> ParsePrecision(const std::string& value) {
  if (value.empty() || value == "fp32") return SessionOptions::Precision::kFloat32;
  if (value == "bf16") return SessionOptions::Precision::kBFloat16;
  return InvalidArgument("--precision must be fp32 or bf16, got '" + value + "'");
}

Status PrintBf16ErrorReport(const std::string& model_path, int threads,
                            const std::vector<std::pair<std::string, Tensor>>& feeds,
                            const std::vector<Tensor>& bf16_outputs, std::ostream& out) {
  SessionOptions options;
  options.threads = threads;
  TS_ASSIGN_OR_RETURN(auto session, Session::Load(model_path, options));
  TS_ASSIGN_OR_RETURN(std::vector<Tensor> reference, session->Run(feeds));
  for (size_t i = 0; i < reference.size() && i < bf16_outputs.size(); ++i) {
    const Tensor& r = reference[i];
    const Tensor& b = bf16_outputs[i];
    if (r.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32 || r.shape() != b.shape()) continue;
    double max_abs = 0, peak = 0, dot = 0, nr = 0, nb = 0;
    for (int64_t k = 0; k < r.element_count(); ++k) {
      const double x = r.data<float>()[k], y = b.data<float>()[k];
      max_abs = std::max(max_abs, std::fabs(x - y));
      peak = std::max(peak, std::fabs(x));
      dot += x * y;
      nr += x * x;
      nb += y * y;
    }
    const double cosine = nr == 0 && nb == 0 ? 1.0 : dot / std::sqrt(nr * nb);
    char line[512];
    std::snprintf(line, sizeof line, "bf16 vs fp32: output %s max abs error %.4g (largest |fp32| %.4g), cosine %.6f\n",
                  session->outputs()[i].name.c_str(), max_abs, peak, cosine);
    out << line;
  }
  return Status::Ok();
}

}  // namespace tessera::cli
