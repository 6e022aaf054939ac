// A decoder served under mpirun with tp or pp (docs/serving.md, "Decoders over MPI"): the step message
// rank 0's scheduler sends the group before every step, and the state each other rank keeps to mirror it.
//
// Rank 0 runs HTTP, the SequenceScheduler and the sampling; the other ranks of the group hold no request
// and sample nothing. Before each step rank 0 sends every member one message (int64 values):
//
//   [n_freed, freed id..., n_rows, then per row: id, n_tokens, token...]
//
// `freed` names the sequences that left since the last message (ended, failed, or whose client went
// away): a member drops their caches before the step. Each row is a sequence of this step, in the
// scheduler's order, with the tokens it has not yet run (a new sequence's whole prompt, or the token
// rank 0 sampled last). A member appends them to its copy of the sequence and calls DecoderModel::Step
// with the same rows in the same order, so the collectives inside the step meet. A message with no rows
// only frees. Ids are never reused, so a row whose id a member does not hold is a new sequence.
//
// Messages come from rank 0, which the members trust as their own process; still a malformed one is a
// status (the worker then stops), never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "generate/decoder_model.h"
#include "generate/scheduler.h"

namespace tessera::serve {

Tensor EncodeDecoderStep(const std::vector<generate::ScheduledRow>& rows, const std::vector<int64_t>& freed);

// A member's copy of rank 0's running sequences.
class DecoderGroupMirror {
 public:
  explicit DecoderGroupMirror(generate::DecoderModel& model) : model_(model) {}

  // Frees, appends and steps as `message` says; the logits are dropped (rank 0 samples).
  Status Apply(const Tensor& message);

  // Bytes of the KV caches this rank holds, and how many sequences hold them.
  int64_t cache_bytes() const;
  int64_t sequences() const { return static_cast<int64_t>(sequences_.size()); }

 private:
  generate::DecoderModel& model_;
  std::map<int64_t, generate::Sequence> sequences_;
};

}  // namespace tessera::serve
