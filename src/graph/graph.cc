// Graph, Node and ValueInfo helpers.
#include "graph/graph.h"

namespace tessera {

bool ValueInfo::IsStatic() const {
  if (!has_shape) return false;
  for (const Dim& d : dims) {
    if (d.value < 0) return false;
  }
  return true;
}

Shape ValueInfo::StaticDims() const {
  Shape shape;
  shape.reserve(dims.size());
  for (const Dim& d : dims) shape.push_back(d.value);
  return shape;
}

const Attribute* Node::FindAttribute(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::GetInt(const std::string& key, int64_t fallback) const {
  const Attribute* a = FindAttribute(key);
  return a && a->type == Attribute::Type::kInt ? a->i : fallback;
}

float Node::GetFloat(const std::string& key, float fallback) const {
  const Attribute* a = FindAttribute(key);
  return a && a->type == Attribute::Type::kFloat ? a->f : fallback;
}

std::string Node::GetString(const std::string& key, const std::string& fallback) const {
  const Attribute* a = FindAttribute(key);
  return a && a->type == Attribute::Type::kString ? a->s : fallback;
}

std::vector<int64_t> Node::GetInts(const std::string& key) const {
  const Attribute* a = FindAttribute(key);
  return a && a->type == Attribute::Type::kInts ? a->ints : std::vector<int64_t>{};
}

std::vector<float> Node::GetFloats(const std::string& key) const {
  const Attribute* a = FindAttribute(key);
  return a && a->type == Attribute::Type::kFloats ? a->floats : std::vector<float>{};
}

std::string Node::Describe() const {
  std::string d = "node '" + name + "' (";
  if (!domain.empty()) d += domain + ".";
  return d + op_type + ")";
}

bool Node::HasSubgraphs() const {
  for (const auto& [key, attr] : attributes) {
    if (attr.type == Attribute::Type::kGraph || attr.type == Attribute::Type::kGraphs) return true;
  }
  return false;
}

int Graph::ValueId(const std::string& value_name) {
  auto it = value_ids.find(value_name);
  if (it != value_ids.end()) return it->second;
  int id = static_cast<int>(values.size());
  ValueInfo info;
  info.name = value_name;
  values.push_back(std::move(info));
  value_ids.emplace(value_name, id);
  return id;
}

}  // namespace tessera
