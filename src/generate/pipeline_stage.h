// One pipeline stage of a decoder (--pp): the layers of this rank, with the KV cache of those layers.
//
// Every rank of the pipeline group loads the same model and keeps the stage PartitionPipeline gives it
// (parallel/pipeline/). A step of one sequence runs the stages in order: each rank builds the graph
// inputs its stage reads (ids, mask, positions: every rank knows the sequence's tokens) and the past of
// its own layers from its own cache, receives the activations of the stage before it, runs, sends the
// activations the next stage needs, and keeps its layers' present as its cache. The last stage's logits
// are broadcast to every rank, so every rank samples the same token (as under --tp). Only activations
// cross the links, never a cache.
//
// Several sequences stepped together are interleaved: a stage runs the next sequence while the stage after
// it runs this one (only the logits' broadcast, after every sequence, waits for the last stage), so with
// as many sequences as stages every stage is busy. One sequence alone goes through the stages one after
// another: then --pp splits the memory, not the time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "generate/decoder_signature.h"
#include "generate/model_files.h"
#include "generate/sequence.h"
#include "parallel/comm/communicator.h"
#include "tessera/session.h"

namespace tessera::generate {

struct PipelineStageInterface {
  int stage = 0, stages = 1;
  DecoderSignature whole;             // the whole model's calling convention
  DecoderSignature local;             // the same with only the cache slots of this stage's layers
  std::vector<std::string> receive;   // activations from the stage before, in the order they travel
  std::vector<std::string> send;      // activations to the stage after, in the order they travel
  std::vector<std::string> inputs;    // the stage session's inputs
  std::vector<std::string> outputs;   // the stage session's outputs
};

// Loads this rank's stage (rank `pipe.rank()` of `pipe.size()` stages) of the decoder in `files`.
//
// With a tensor group of more than one rank (--pp with --tp) the stage is also split over that group
// (parallel/tensor/), its cache slots as head shards. The cuts then go only between blocks (where the
// residual stream alone crosses), so every rank of a stage receives and sends whole activations: rank r of
// one stage's group talks to rank r of the next one's (`pipe` joins the ranks of equal tensor rank), T
// links in parallel and no broadcast inside a group.
StatusOr<std::unique_ptr<Session>> LoadDecoderStage(const DecoderFiles& files, const DecoderNames& names,
                                                    const SessionOptions& session_options, Communicator& pipe,
                                                    Communicator* tensor_group, PipelineStageInterface& stage);

// Runs each sequence's pending tokens through every stage, in order (collective over `pipe`); stores this
// stage's cache in each sequence and returns the logits after each one's last token, the same on every
// rank.
StatusOr<std::vector<std::vector<float>>> RunDecoderStages(Session& session, Communicator& pipe,
                                                           const PipelineStageInterface& stage,
                                                           const std::string& model_name,
                                                           const std::vector<Sequence*>& sequences);

}  // namespace tessera::generate
