// Runs the ONNX backend node tests (Debian's libonnx-testdata) through a Session and compares outputs.
//
// Each case runs in a forked child with a time limit, so a crash or hang in one kernel is reported as
// that case's failure instead of ending the run. Inputs and outputs that are sequences or optionals are read
// from their SequenceProto / OptionalProto files and run through Session::RunValues; cases with types the
// runner cannot read (sparse tensors) are counted as "not supported" and skipped. Failures are compared with the
// committed list of expected failures: a case failing that is not listed fails the run (a regression),
// and a listed case that passes is reported so the list can be trimmed.
//
// Two conventions of the test data are handled here rather than in the engine: bfloat16 tensors are
// stored as uint16 protobufs (reinterpreted when the model declares bfloat16), and the outputs of random
// ops (RandomNormal/Uniform[Like], Bernoulli, Multinomial) cannot match a reference drawn from numpy's
// generator, so for models containing them only dtype and shape are compared.
//
// usage: conformance_runner [--data DIR] [--expected-failures FILE] [--filter SUBSTRING]
//                           [--write-failures FILE] [--min-pass N] [--verbose]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "core/half.h"
#include "model/tensor_proto.h"
#include "model/value_proto.h"
#include "tessera/session.h"

namespace fs = std::filesystem;
using namespace tessera;

namespace {

constexpr double kRtol = 1e-3;
constexpr double kAtol = 1e-5;
constexpr int kCaseTimeoutSeconds = 60;

enum class Outcome { kPass = 0, kFail = 1, kNotTensor = 2 };

// Tensors, sequences and maps of tensors, and optionals of those: what the runner reads from test data.
bool IsReadableType(const onnx::TypeProto& t, int depth = 0) {
  if (depth > 4) return false;
  if (t.has_tensor_type()) return true;
  if (t.has_sequence_type()) return IsReadableType(t.sequence_type().elem_type(), depth + 1);
  if (t.has_map_type()) return t.map_type().value_type().has_tensor_type();
  if (t.has_optional_type()) return IsReadableType(t.optional_type().elem_type(), depth + 1);
  return false;
}

// Whether every graph input and output of the case's model is of a type the runner reads.
bool CaseIsReadable(const fs::path& model_path) {
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto proto;
  if (!proto.ParseFromIstream(&in)) return true;  // let the engine report the parse error
  for (const auto& v : proto.graph().input()) {
    if (!IsReadableType(v.type())) return false;
  }
  for (const auto& v : proto.graph().output()) {
    if (!IsReadableType(v.type())) return false;
  }
  return true;
}

double ValueAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return t.data<float>()[i];
    case DType::kFloat64: return t.data<double>()[i];
    case DType::kFloat16: return HalfToFloat(t.data<uint16_t>()[i]);
    case DType::kBFloat16: return BFloat16ToFloat(t.data<uint16_t>()[i]);
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kUInt8: return t.data<uint8_t>()[i];
    case DType::kInt16: return t.data<int16_t>()[i];
    case DType::kUInt16: return t.data<uint16_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kUInt32: return t.data<uint32_t>()[i];
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::kUInt64: return static_cast<double>(t.data<uint64_t>()[i]);
    case DType::kBool: return t.data<uint8_t>()[i] ? 1 : 0;
    default: return 0;
  }
}

bool IsFloat(DType d) {
  return d == DType::kFloat32 || d == DType::kFloat64 || d == DType::kFloat16 || d == DType::kBFloat16;
}

// Empty string when `actual` matches `expected`, else what differs.
std::string Compare(const Tensor& expected, const Tensor& actual) {
  if (expected.dtype() != actual.dtype()) {
    return std::string("dtype ") + DTypeName(actual.dtype()) + ", expected " + DTypeName(expected.dtype());
  }
  if (expected.shape() != actual.shape()) {
    return "shape " + ShapeToString(actual.shape()) + ", expected " + ShapeToString(expected.shape());
  }
  int64_t n = expected.element_count();
  if (expected.dtype() == DType::kString) {
    for (int64_t i = 0; i < n; ++i) {
      if (expected.data<std::string>()[i] != actual.data<std::string>()[i]) return "string element " + std::to_string(i);
    }
    return "";
  }
  double max_abs = 0;
  for (int64_t i = 0; i < n; ++i) {
    double e = ValueAt(expected, i);
    if (std::isfinite(e)) max_abs = std::max(max_abs, std::fabs(e));
  }
  double atol = kAtol * std::max(1.0, max_abs);
  for (int64_t i = 0; i < n; ++i) {
    double e = ValueAt(expected, i), a = ValueAt(actual, i);
    if (IsFloat(expected.dtype())) {
      if (std::isnan(e) && std::isnan(a)) continue;
      if (std::isinf(e) && e == a) continue;
      if (!(std::fabs(a - e) <= atol + kRtol * std::fabs(e))) {
        std::ostringstream os;
        os << "element " << i << " is " << a << ", expected " << e;
        return os.str();
      }
    } else if (a != e) {
      std::ostringstream os;
      os << "element " << i << " is " << a << ", expected " << e;
      return os.str();
    }
  }
  return "";
}

// Compare for values: same kind, then tensors element by element (a sequence's in order).
std::string CompareValues(const Value& expected, const Value& actual) {
  if (expected.kind() != actual.kind()) {
    return std::string("a ") + ValueKindName(actual.kind()) + " (" + actual.Describe() + "), expected a " +
           ValueKindName(expected.kind()) + " (" + expected.Describe() + ")";
  }
  switch (expected.kind()) {
    case Value::Kind::kNone: return "";
    case Value::Kind::kTensor: return Compare(expected.tensor(), actual.tensor());
    case Value::Kind::kSequence: {
      if (expected.sequence_length() != actual.sequence_length()) {
        return actual.Describe() + ", expected " + expected.Describe();
      }
      for (size_t i = 0; i < expected.sequence_length(); ++i) {
        std::string diff = CompareValues(expected.elements()[i], actual.elements()[i]);
        if (!diff.empty()) return "element " + std::to_string(i) + ": " + diff;
      }
      return "";
    }
    case Value::Kind::kMap: {
      std::string diff = Compare(expected.map_keys(), actual.map_keys());
      if (!diff.empty()) return "keys: " + diff;
      diff = Compare(expected.map_values(), actual.map_values());
      return diff.empty() ? "" : "values: " + diff;
    }
  }
  return "";
}

std::vector<fs::path> SortedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) files.push_back(e.path());
  }
  // input_10 sorts after input_9.
  std::sort(files.begin(), files.end(), [&](const fs::path& a, const fs::path& b) {
    auto num = [&](const fs::path& p) { return std::stoi(p.stem().string().substr(prefix.size())); };
    return num(a) < num(b);
  });
  return files;
}

// Test data stores bfloat16 as uint16: same bits, so reinterpret when the model expects bfloat16.
Tensor AsDeclared(Tensor t, DType declared) {
  if (declared == DType::kBFloat16 && t.dtype() == DType::kUInt16) {
    return Tensor(DType::kBFloat16, t.shape(), t.buffer(), t.offset());
  }
  return t;
}

// Whether the model draws random numbers, so that only dtype and shape of its outputs are comparable.
bool ModelIsRandom(const fs::path& model_path) {
  static const std::set<std::string> kRandomOps = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                   "RandomUniformLike", "Bernoulli", "Multinomial"};
  std::ifstream in(model_path, std::ios::binary);
  onnx::ModelProto proto;
  if (!proto.ParseFromIstream(&in)) return false;
  for (const auto& node : proto.graph().node()) {
    if (node.domain().empty() && kRandomOps.count(node.op_type())) return true;
  }
  return false;
}

// Runs one case in this process; returns "" on success, else the reason.
std::string RunCase(const fs::path& dir) {
  const bool random = ModelIsRandom(dir / "model.onnx");
  SessionOptions options;
  options.threads = 1;
  auto session = Session::Load((dir / "model.onnx").string(), options);
  if (!session.ok()) return session.status().message();
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_directory() || e.path().filename().string().rfind("test_data_set", 0) != 0) continue;
    auto input_files = SortedFiles(e.path(), "input_");
    auto output_files = SortedFiles(e.path(), "output_");
    const auto& infos = (*session)->inputs();
    if (input_files.size() != infos.size()) {
      return "case has " + std::to_string(input_files.size()) + " inputs, model declares " + std::to_string(infos.size());
    }
    std::vector<std::pair<std::string, Value>> feeds;
    for (size_t i = 0; i < input_files.size(); ++i) {
      auto v = ReadValueProtoFile(input_files[i].string(), infos[i].kind, infos[i].optional, infos[i].dtype);
      if (!v.ok()) return "reading input: " + v.status().message();
      if (v->is_tensor()) *v = AsDeclared(v->tensor(), infos[i].dtype);
      feeds.emplace_back(infos[i].name, std::move(v).value());
    }
    auto outputs = (*session)->RunValues(feeds);
    if (!outputs.ok()) return outputs.status().message();
    if (outputs->size() != output_files.size()) return "wrong output count";
    for (size_t i = 0; i < output_files.size(); ++i) {
      const TensorInfo& info = (*session)->outputs()[i];
      auto expected = ReadValueProtoFile(output_files[i].string(), info.kind, info.optional, info.dtype);
      if (!expected.ok()) return "reading output: " + expected.status().message();
      if (!expected->is_tensor() || !(*outputs)[i].is_tensor()) {
        std::string diff = CompareValues(*expected, (*outputs)[i]);
        if (!diff.empty()) return "output '" + info.name + "': " + diff;
        continue;
      }
      Tensor want = AsDeclared(expected->tensor(), info.dtype);
      const Tensor& got = (*outputs)[i].tensor();
      if (random) {
        if (want.dtype() != got.dtype() || want.shape() != got.shape()) {
          return "output '" + (*session)->outputs()[i].name + "': " + DTypeName(got.dtype()) + ShapeToString(got.shape()) +
                 ", expected " + DTypeName(want.dtype()) + ShapeToString(want.shape());
        }
        continue;
      }
      std::string diff = Compare(want, got);
      if (!diff.empty()) return "output '" + (*session)->outputs()[i].name + "': " + diff;
    }
  }
  return "";
}

// Runs a case in a child process; the child writes its failure reason to a pipe.
std::string RunCaseIsolated(const fs::path& dir) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(kCaseTimeoutSeconds);
    std::string reason = RunCase(dir);
    if (!reason.empty() && write(fds[1], reason.data(), reason.size()) < 0) _exit(3);
    _exit(reason.empty() ? 0 : 1);
  }
  close(fds[1]);
  std::string reason;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) reason.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return WTERMSIG(status) == SIGALRM ? "timed out" : std::string("crashed: ") + strsignal(WTERMSIG(status));
  }
  if (WEXITSTATUS(status) != 0 && reason.empty()) reason = "failed with exit status " + std::to_string(WEXITSTATUS(status));
  return reason;
}

std::map<std::string, std::string> ReadExpectedFailures(const std::string& path) {
  std::map<std::string, std::string> expected;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.find_first_of(" \t");
    std::string name = line.substr(0, space);
    std::string reason = space == std::string::npos ? "" : line.substr(line.find_first_not_of(" \t#", space));
    expected[name] = reason;
  }
  return expected;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/libonnx-testdata/data/node";
  std::string expected_path, filter, write_path;
  int min_pass = 0;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--data") data = next();
    else if (a == "--expected-failures") expected_path = next();
    else if (a == "--filter") filter = next();
    else if (a == "--write-failures") write_path = next();
    else if (a == "--min-pass") min_pass = std::atoi(next().c_str());
    else if (a == "--verbose") verbose = true;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  if (!fs::is_directory(data)) {
    std::cerr << "conformance: no test data at " << data << " (install libonnx-testdata)\n";
    return 1;
  }
  auto expected = expected_path.empty() ? std::map<std::string, std::string>{} : ReadExpectedFailures(expected_path);

  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(data)) {
    if (e.is_directory() && e.path().filename().string().find(filter) != std::string::npos) cases.push_back(e.path());
  }
  std::sort(cases.begin(), cases.end());

  int passed = 0, failed = 0, not_tensor = 0, regressions = 0, fixed = 0;
  std::map<std::string, std::string> failures;
  for (const auto& dir : cases) {
    std::string name = dir.filename().string();
    if (!CaseIsReadable(dir / "model.onnx")) {
      ++not_tensor;
      continue;
    }
    std::string reason = RunCaseIsolated(dir);
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    if (reason.empty()) {
      ++passed;
      if (expected.count(name)) {
        ++fixed;
        std::cout << "NOW PASSING (remove from expected failures): " << name << "\n";
      }
      if (verbose) std::cout << "PASS " << name << "\n";
    } else {
      ++failed;
      failures[name] = reason;
      if (!expected_path.empty() && !expected.count(name)) {
        ++regressions;
        std::cout << "UNEXPECTED FAIL " << name << ": " << reason << "\n";
      } else if (verbose) {
        std::cout << "FAIL " << name << ": " << reason << "\n";
      }
    }
  }
  if (!write_path.empty()) {
    std::ofstream out(write_path);
    out << "# ONNX node tests that Tessera does not pass yet, with the reason (generated by conformance_runner\n"
        << "# --write-failures, then edited). The conformance test fails when a case not listed here fails.\n";
    for (const auto& [name, reason] : failures) out << name << "  # " << reason.substr(0, 160) << "\n";
  }
  std::cout << "conformance: " << passed << " passed, " << failed << " failed, " << not_tensor
            << " skipped (inputs or outputs of types the runner cannot read) of " << cases.size() << " cases\n";
  if (regressions) std::cout << "conformance: " << regressions << " failures are not in the expected-failures list\n";
  if (fixed) std::cout << "conformance: " << fixed << " expected failures now pass\n";
  if (passed < min_pass) {
    std::cout << "conformance: " << passed << " passed is below the required " << min_pass << "\n";
    return 1;
  }
  return regressions ? 1 : 0;
}
