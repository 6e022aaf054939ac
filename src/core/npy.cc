// .npy parsing: magic, version, header dict (descr, fortran_order, shape), raw data.
#include "core/npy.h"

#include "core/half.h"
#include "core/low_precision.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace tessera {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMaxHeaderBytes = 1 << 16;

struct DescrEntry {
  const char* descr;
  DType dtype;
};
// '<' little-endian, '|' not applicable (1 byte); '=' native is little-endian on every supported host.
constexpr DescrEntry kDescrs[] = {
    {"f4", DType::kFloat32}, {"f8", DType::kFloat64}, {"f2", DType::kFloat16}, {"i1", DType::kInt8},
    {"u1", DType::kUInt8},   {"i2", DType::kInt16},   {"u2", DType::kUInt16},  {"i4", DType::kInt32},
    {"u4", DType::kUInt32},  {"i8", DType::kInt64},   {"u8", DType::kUInt64},  {"b1", DType::kBool},
};

// Finds the value text after `'key':` in the header dict.
bool FindKey(const std::string& header, const std::string& key, size_t& pos) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return false;
  k = header.find(':', k);
  if (k == std::string::npos) return false;
  pos = k + 1;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  return pos < header.size();
}

Status ParseHeader(const std::string& header, const std::string& name, DType& dtype, Shape& shape) {
  auto bad = [&](const std::string& why) { return InvalidArgument("'" + name + "' is not a valid .npy file: " + why); };
  size_t pos;
  if (!FindKey(header, "descr", pos) || (header[pos] != '\'' && header[pos] != '"')) return bad("no descr");
  size_t end = header.find(header[pos], pos + 1);
  if (end == std::string::npos) return bad("unterminated descr");
  std::string descr = header.substr(pos + 1, end - pos - 1);
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    return Unimplemented("'" + name + "': unsupported .npy dtype '" + descr + "' (big-endian or structured?)");
  }
  dtype = DType::kUndefined;
  for (const auto& e : kDescrs) {
    if (descr.compare(1, 2, e.descr) == 0) dtype = e.dtype;
  }
  if (dtype == DType::kUndefined) return Unimplemented("'" + name + "': unsupported .npy dtype '" + descr + "'");
  if (!FindKey(header, "fortran_order", pos)) return bad("no fortran_order");
  if (header.compare(pos, 4, "True") == 0) return Unimplemented("'" + name + "': Fortran-order arrays are not supported");
  if (!FindKey(header, "shape", pos) || header[pos] != '(') return bad("no shape");
  end = header.find(')', pos);
  if (end == std::string::npos) return bad("unterminated shape");
  shape.clear();
  std::string dims = header.substr(pos + 1, end - pos - 1);
  std::stringstream ss(dims);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t a = item.find_first_not_of(" L");
    if (a == std::string::npos) continue;
    size_t b = item.find_last_not_of(" L");
    std::string num = item.substr(a, b - a + 1);
    if (num.empty() || num.size() > 18 || num.find_first_not_of("0123456789") != std::string::npos) {
      return bad("shape entry '" + num + "'");
    }
    shape.push_back(std::stoll(num));
  }
  if (shape.size() > 32) return bad("more than 32 dims");
  return Status::Ok();
}

}  // namespace

StatusOr<Tensor> ParseNpy(const std::string& bytes, const std::string& name) {
  auto bad = [&](const std::string& why) { return InvalidArgument("'" + name + "' is not a valid .npy file: " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) return bad("bad magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return bad("truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return bad("unknown format version " + std::to_string(major));
  }
  if (header_len > kMaxHeaderBytes || header_start + header_len > bytes.size()) return bad("truncated header");
  std::string header = bytes.substr(header_start, header_len);
  DType dtype;
  Shape shape;
  TS_RETURN_IF_ERROR(ParseHeader(header, name, dtype, shape));
  int64_t count = ShapeElementCount(shape);
  if (count < 0) return bad("shape overflows");
  size_t data_start = header_start + header_len;
  size_t want = static_cast<size_t>(count) * DTypeSize(dtype);
  if (count > 0 && want / static_cast<size_t>(count) != DTypeSize(dtype)) return bad("shape overflows");
  if (bytes.size() - data_start != want) {
    return bad("data holds " + std::to_string(bytes.size() - data_start) + " bytes, shape " + ShapeToString(shape) +
               " of " + DTypeName(dtype) + " needs " + std::to_string(want));
  }
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape));
  if (want > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, want);
  if (dtype == DType::kBool) {  // normalise to 0/1
    auto* b = t.data<uint8_t>();
    for (int64_t i = 0; i < count; ++i) b[i] = b[i] != 0;
  }
  return t;
}

StatusOr<Tensor> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseNpy(ss.str(), path);
}

std::string SerializeNpy(const Tensor& tensor) {
  const char* descr = "<f4";
  switch (tensor.dtype()) {
    case DType::kFloat32: descr = "<f4"; break;
    case DType::kFloat64: descr = "<f8"; break;
    case DType::kFloat16: descr = "<f2"; break;
    case DType::kBFloat16: descr = "<u2"; break;  // numpy has no bfloat16: written as raw bits
    case DType::kInt8: descr = "|i1"; break;
    case DType::kUInt8: descr = "|u1"; break;
    case DType::kInt16: descr = "<i2"; break;
    case DType::kUInt16: descr = "<u2"; break;
    case DType::kInt32: descr = "<i4"; break;
    case DType::kUInt32: descr = "<u4"; break;
    case DType::kInt64: descr = "<i8"; break;
    case DType::kUInt64: descr = "<u8"; break;
    case DType::kBool: descr = "|b1"; break;
    case DType::kInt4: descr = "|i1"; break;  // the value, sign-extended (see the header)
    case DType::kFloat8E4M3FN: case DType::kFloat8E4M3FNUZ: case DType::kFloat8E5M2: case DType::kFloat8E5M2FNUZ:
    case DType::kFloat8E8M0: case DType::kUInt4: case DType::kFloat4E2M1: descr = "|u1"; break;  // raw codes
    default: break;
  }
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape().size(); ++i) shape += std::to_string(tensor.shape()[i]) + ", ";
  if (tensor.shape().size() > 1) shape.resize(shape.size() - 2);
  if (tensor.shape().size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  if (tensor.dtype() == DType::kInt4) {
    const auto* codes = tensor.data<uint8_t>();
    for (int64_t i = 0; i < tensor.element_count(); ++i) {
      out.push_back(static_cast<char>(static_cast<int8_t>(LowPrecisionToDouble(DType::kInt4, codes[i]))));
    }
    return out;
  }
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.byte_size());
  return out;
}

Status WriteNpy(const std::string& path, const Tensor& tensor) {
  if (tensor.dtype() == DType::kString) return Unimplemented("cannot write string tensor to '" + path + "'");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot write '" + path + "'");
  std::string bytes = SerializeNpy(tensor);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return IoError("short write to '" + path + "'");
  return Status::Ok();
}

namespace {

// The raw-code array type the header's table gives `declared`, or kUndefined.
DType RawCodeDType(DType declared) {
  if (declared == DType::kBFloat16) return DType::kUInt16;
  if (declared == DType::kInt4) return DType::kInt8;
  if (IsLowPrecision(declared)) return DType::kUInt8;
  return DType::kUndefined;
}

}  // namespace

StatusOr<Tensor> ConvertNpyToDeclared(Tensor tensor, DType declared, const std::string& name) {
  if (tensor.dtype() == declared || declared == DType::kUndefined) return tensor;
  const int64_t count = tensor.element_count();
  if (tensor.dtype() == RawCodeDType(declared)) {
    if (!IsPackedFourBit(declared)) return Tensor(declared, tensor.shape(), tensor.buffer(), tensor.offset());
    TS_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(declared, tensor.shape()));
    auto* codes = out.data<uint8_t>();
    for (int64_t i = 0; i < count; ++i) {
      const int value = declared == DType::kInt4 ? tensor.data<int8_t>()[i] : tensor.data<uint8_t>()[i];
      const bool fits = declared == DType::kInt4 ? value >= -8 && value <= 7 : value >= 0 && value <= 15;
      if (!fits) {
        return InvalidArgument(name + ": element " + std::to_string(i) + " is " + std::to_string(value) +
                               ", not a " + DTypeName(declared) + (declared == DType::kInt4 ? " value" : " code"));
      }
      codes[i] = static_cast<uint8_t>(value & 0xF);
    }
    return out;
  }
  const bool from_float = tensor.dtype() == DType::kFloat32 || tensor.dtype() == DType::kFloat64;
  const bool to_float = declared == DType::kFloat16 || declared == DType::kBFloat16 || IsMiniFloat(declared);
  if (!from_float || !to_float) return tensor;
  TS_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(declared, tensor.shape()));
  for (int64_t i = 0; i < count; ++i) {
    const double v = tensor.dtype() == DType::kFloat32 ? tensor.data<float>()[i] : tensor.data<double>()[i];
    if (declared == DType::kFloat16) out.data<uint16_t>()[i] = FloatToHalf(static_cast<float>(v));
    else if (declared == DType::kBFloat16) out.data<uint16_t>()[i] = FloatToBFloat16(static_cast<float>(v));
    else out.data<uint8_t>()[i] = DoubleToLowPrecision(declared, v);
  }
  return out;
}

}  // namespace tessera
