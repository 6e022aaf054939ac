// The graph IR: values, nodes and attributes as the executor and the passes see them.
//
// A Graph owns its values (indexed by a dense id), its nodes (in topological order once the loader is
// done) and its constants (initializers and folded values). Subgraphs of If/Loop/Scan are Graphs too;
// the values they read from enclosing scopes are listed in `outer_values` and appended to the owning
// node's inputs as implicit inputs, so the executor keeps them alive like any other input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tessera/tensor.h"
#include "tessera/value.h"

namespace tessera {

struct Graph;

// One dimension as declared by the model: a fixed size, or a symbol such as "batch" (value -1).
struct Dim {
  int64_t value = -1;
  std::string symbol;
};

struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;  // rank known
  std::vector<Dim> dims;   // meaningful when has_shape
  // A value that is not a plain tensor: a sequence (dtype, dims: of its elements; a seq(map)'s elements
  // are maps, map_key_dtype set), a map (dtype: of its values, map_key_dtype: of its keys), and whether
  // it is optional (ONNX optional(T): it may be none). kTensor is also what an untyped value reads as.
  Value::Kind kind = Value::Kind::kTensor;
  DType map_key_dtype = DType::kUndefined;
  bool optional = false;

  // True when the rank and every dim are known.
  bool IsStatic() const;
  // Dims with -1 for unknown; only meaningful when has_shape.
  Shape StaticDims() const;
};

struct Attribute {
  enum class Type { kUndefined, kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings, kTensors, kGraphs };
  Type type = Type::kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
};

constexpr int kNoValue = -1;

struct Node {
  std::string name;     // may be empty in the model; the loader gives every node a name
  std::string op_type;
  std::string domain;   // "" for the default ONNX domain
  int opset = 0;        // version of `domain` that the model imports
  std::vector<int> inputs;   // value ids, kNoValue for an omitted optional input
  std::vector<int> outputs;  // value ids, kNoValue for an omitted optional output
  size_t explicit_input_count = 0;  // inputs beyond this are implicit (read by subgraphs)
  std::map<std::string, Attribute> attributes;

  const Attribute* FindAttribute(const std::string& key) const;
  bool HasAttribute(const std::string& key) const { return FindAttribute(key) != nullptr; }
  int64_t GetInt(const std::string& key, int64_t fallback) const;
  float GetFloat(const std::string& key, float fallback) const;
  std::string GetString(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> GetInts(const std::string& key) const;   // empty when absent
  std::vector<float> GetFloats(const std::string& key) const;   // empty when absent
  // "node 'conv1' (Conv)" for error messages.
  std::string Describe() const;
  bool HasSubgraphs() const;
};

struct Graph {
  std::string name;
  std::vector<ValueInfo> values;                 // indexed by value id
  std::unordered_map<std::string, int> value_ids;
  std::vector<Node> nodes;
  std::vector<int> inputs;    // values the caller feeds (initializers excluded)
  std::vector<int> outputs;
  std::unordered_map<int, Tensor> constants;     // initializers and folded values
  std::vector<int> outer_values;                 // values read from enclosing graphs, in a fixed order
  std::map<std::string, int> opsets;             // domain -> version imported by the model

  // The id of `name`, creating the value when it does not exist yet.
  int ValueId(const std::string& name);
  const ValueInfo& value(int id) const { return values[static_cast<size_t>(id)]; }
  bool IsConstant(int id) const { return constants.count(id) != 0; }
};

// The model as loaded: the main graph and what the file says about itself.
struct Model {
  std::string path;         // file it was loaded from ("" when loaded from memory)
  std::string display_name; // file name, used to prefix error messages
  int64_t ir_version = 0;
  std::string producer;
  std::map<std::string, int> opsets;
  std::shared_ptr<Graph> graph;
};

// Orders `graph.nodes` so that every node follows the producers of its inputs (stable: nodes already in
// order keep it). Fails with a message naming a node on the cycle when there is one.
Status SortTopologically(Graph& graph);

}  // namespace tessera
