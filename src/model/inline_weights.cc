// The wire-format rewrite behind ParseModelLeavingWeightsInFile: three message levels (ModelProto.graph,
// GraphProto.initializer, TensorProto.raw_data) are walked; every other field is copied byte for byte.
#include "model/inline_weights.h"

#include <google/protobuf/io/coded_stream.h>

#include <cstdint>
#include <vector>

namespace tessera {

namespace {

// Field numbers from onnx.proto.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphInitializer = 5;
constexpr uint32_t kTensorRawData = 9;
constexpr uint32_t kTensorExternalData = 13;
constexpr uint32_t kTensorDataLocation = 14;
constexpr uint32_t kEntryKey = 1, kEntryValue = 2;
constexpr uint32_t kExternal = 1;  // TensorProto.DataLocation.EXTERNAL

constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// One field of a message as it lies in the bytes: [begin, end) is the whole field, payload the value of a
// length-delimited one.
struct WireField {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t varint = 0;
  const uint8_t* begin = nullptr;
  const uint8_t* payload = nullptr;
  size_t payload_size = 0;
  const uint8_t* end = nullptr;
};

bool ReadVarint(const uint8_t*& p, const uint8_t* end, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const uint8_t byte = *p++;
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// Splits [p, end) into its fields; false on anything malformed (groups, which ONNX never uses, included).
bool SplitFields(const uint8_t* p, const uint8_t* end, std::vector<WireField>& fields) {
  while (p < end) {
    WireField f;
    f.begin = p;
    uint64_t tag = 0;
    if (!ReadVarint(p, end, tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX) return false;
    f.number = static_cast<uint32_t>(tag >> 3);
    f.type = static_cast<uint32_t>(tag & 7);
    switch (f.type) {
      case kVarint:
        if (!ReadVarint(p, end, f.varint)) return false;
        break;
      case kFixed64:
        if (end - p < 8) return false;
        p += 8;
        break;
      case kFixed32:
        if (end - p < 4) return false;
        p += 4;
        break;
      case kLengthDelimited: {
        uint64_t size = 0;
        if (!ReadVarint(p, end, size) || size > static_cast<uint64_t>(end - p)) return false;
        f.payload = p;
        f.payload_size = static_cast<size_t>(size);
        p += size;
        break;
      }
      default: return false;
    }
    f.end = p;
    fields.push_back(f);
  }
  return true;
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void AppendLengthDelimited(std::string& out, uint32_t number, const std::string& payload) {
  AppendVarint(out, (uint64_t{number} << 3) | kLengthDelimited);
  AppendVarint(out, payload.size());
  out += payload;
}

void AppendRaw(std::string& out, const WireField& f) {
  out.append(reinterpret_cast<const char*>(f.begin), static_cast<size_t>(f.end - f.begin));
}

std::string Entry(const std::string& key, const std::string& value) {
  std::string entry;
  AppendLengthDelimited(entry, kEntryKey, key);
  AppendLengthDelimited(entry, kEntryValue, value);
  return entry;
}

struct Rewriter {
  const uint8_t* file_begin;
  const std::string& location;
  InlineWeightStats& stats;

  // A TensorProto: raw_data out, a reference to the same bytes in the file in.
  bool Tensor(const uint8_t* p, size_t size, std::string& out) {
    std::vector<WireField> fields;
    if (!SplitFields(p, p + size, fields)) return false;
    const WireField* raw = nullptr;
    int raw_count = 0;
    bool external = false;
    for (const WireField& f : fields) {
      if (f.number == kTensorRawData && f.type == kLengthDelimited) {
        raw = &f;
        ++raw_count;
      }
      if (f.number == kTensorExternalData || (f.number == kTensorDataLocation && f.varint == kExternal)) {
        external = true;
      }
    }
    if (raw_count != 1 || external || raw->payload_size < kInlineWeightMinBytes) {
      out.append(reinterpret_cast<const char*>(p), size);
      return true;
    }
    for (const WireField& f : fields) {
      if (&f != raw) AppendRaw(out, f);
    }
    AppendLengthDelimited(out, kTensorExternalData, Entry("location", location));
    AppendLengthDelimited(out, kTensorExternalData, Entry("offset", std::to_string(raw->payload - file_begin)));
    AppendLengthDelimited(out, kTensorExternalData, Entry("length", std::to_string(raw->payload_size)));
    AppendVarint(out, (uint64_t{kTensorDataLocation} << 3) | kVarint);
    AppendVarint(out, kExternal);
    ++stats.weights;
    stats.bytes += raw->payload_size;
    return true;
  }

  // A message whose field `number` holds messages rewritten by `inner`; the rest is copied.
  template <typename Inner>
  bool Message(const uint8_t* p, size_t size, uint32_t number, Inner inner, std::string& out) {
    std::vector<WireField> fields;
    if (!SplitFields(p, p + size, fields)) return false;
    for (const WireField& f : fields) {
      if (f.number != number || f.type != kLengthDelimited) {
        AppendRaw(out, f);
        continue;
      }
      std::string rewritten;
      if (!inner(f.payload, f.payload_size, rewritten)) return false;
      AppendLengthDelimited(out, number, rewritten);
    }
    return true;
  }
};

}  // namespace

bool ParseModelLeavingWeightsInFile(const MappedFile& file, const std::string& location, onnx::ModelProto& proto,
                                    InlineWeightStats& stats) {
  stats = {};
  const auto* begin = reinterpret_cast<const uint8_t*>(file.data());
  Rewriter rewriter{begin, location, stats};
  auto tensor = [&](const uint8_t* p, size_t size, std::string& out) { return rewriter.Tensor(p, size, out); };
  auto graph = [&](const uint8_t* p, size_t size, std::string& out) {
    return rewriter.Message(p, size, kGraphInitializer, tensor, out);
  };
  std::string stripped;
  if (!rewriter.Message(begin, file.size(), kModelGraph, graph, stripped)) return false;
  if (stripped.size() > static_cast<size_t>(INT32_MAX)) return false;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(stripped.data()),
                                                static_cast<int>(stripped.size()));
  stream.SetRecursionLimit(200);
  return proto.ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
}

}  // namespace tessera
