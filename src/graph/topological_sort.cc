// Kahn's algorithm over value producers; keeps the file's order among ready nodes.
#include <queue>

#include "graph/graph.h"

namespace tessera {

Status SortTopologically(Graph& graph) {
  const size_t n = graph.nodes.size();
  std::vector<int> producer(graph.values.size(), -1);
  for (size_t i = 0; i < n; ++i) {
    for (int out : graph.nodes[i].outputs) {
      if (out != kNoValue) producer[static_cast<size_t>(out)] = static_cast<int>(i);
    }
  }
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (size_t i = 0; i < n; ++i) {
    for (int in : graph.nodes[i].inputs) {
      if (in == kNoValue) continue;
      int p = producer[static_cast<size_t>(in)];
      if (p >= 0) {
        ++pending[i];
        consumers[static_cast<size_t>(p)].push_back(static_cast<int>(i));
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<Node> sorted;
  sorted.reserve(n);
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    done[static_cast<size_t>(i)] = true;
    sorted.push_back(std::move(graph.nodes[static_cast<size_t>(i)]));
    for (int c : consumers[static_cast<size_t>(i)]) {
      if (--pending[static_cast<size_t>(c)] == 0) ready.push(c);
    }
  }
  if (sorted.size() != n) {
    for (size_t i = 0; i < n; ++i) {
      if (!done[i]) {
        return InvalidArgument("graph '" + graph.name + "' has a cycle through " + graph.nodes[i].Describe());
      }
    }
  }
  graph.nodes = std::move(sorted);
  return Status::Ok();
}

}  // namespace tessera
