// Parsing an Einsum equation into integer labels, given the ranks of the operands.
//
// Letters become labels 0..51 ('A'..'Z', 'a'..'z'); the dims an ellipsis stands for become labels 52 and up,
// aligned on the right across operands like numpy broadcasting (an operand with fewer ellipsis dims takes
// the last ones). Without "->" the output is the ellipsis dims followed by the letters used exactly once,
// in alphabetical (ASCII) order, as numpy does.
#pragma once

#include <string>
#include <vector>

#include "tessera/tensor.h"

namespace tessera {

// Labels are below this bound (52 letters plus up to 76 ellipsis dims).
constexpr int kMaxEinsumLabels = 128;

struct EinsumEquation {
  std::vector<std::vector<int>> inputs;  // one label per dim of each operand (repeats allowed)
  std::vector<int> output;               // one label per output dim, no repeats
};

// Fails naming the equation when it is malformed or does not fit the operands' ranks.
StatusOr<EinsumEquation> ParseEinsum(const std::string& equation, const std::vector<int64_t>& ranks);

}  // namespace tessera
