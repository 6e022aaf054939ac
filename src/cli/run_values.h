// `tessera run` for models whose inputs or outputs are sequences, maps or optionals (run on one rank).
//
// Files: a tensor is NAME.npy as everywhere; a sequence is a folder of its elements 0.npy, 1.npy, ...
// (numbered from 0 without gaps; an empty folder is the empty sequence), given as --input NAME=DIR and
// written as OUTDIR/NAME/; a map is NAME.keys.npy and NAME.values.npy (a sequence of maps: DIR/0.keys.npy,
// DIR/0.values.npy, ...). An optional input left out is fed as an empty optional, and an empty optional
// output writes no file (docs/sequences.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tessera/session.h"

namespace tessera::cli {

// Whether any input or output of `session` is not a plain, required tensor.
bool HasNonTensorValues(const Session& session);

// Reads the --input NAME=PATH pairs, runs `session` `repeat` times and writes its outputs under
// `output_dir`, printing one line per output unless `quiet`.
Status RunValuesAndWrite(Session& session, const std::vector<std::pair<std::string, std::string>>& inputs,
                         const std::string& output_dir, int64_t repeat, bool quiet);

}  // namespace tessera::cli
