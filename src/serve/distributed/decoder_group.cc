// The step message of a decoder group and a member's mirror of rank 0's sequences (decoder_group.h).
#include "serve/distributed/decoder_group.h"

#include <algorithm>
#include <string>
#include <utility>

namespace tessera::serve {

Tensor EncodeDecoderStep(const std::vector<generate::ScheduledRow>& rows, const std::vector<int64_t>& freed) {
  std::vector<int64_t> values;
  values.push_back(static_cast<int64_t>(freed.size()));
  values.insert(values.end(), freed.begin(), freed.end());
  values.push_back(static_cast<int64_t>(rows.size()));
  for (const generate::ScheduledRow& row : rows) {
    const generate::Sequence& seq = *row.sequence;
    values.push_back(row.id);
    values.push_back(seq.pending());
    values.insert(values.end(), seq.tokens.begin() + seq.cached, seq.tokens.end());
  }
  const int64_t size = static_cast<int64_t>(values.size());
  return Tensor::FromVector<int64_t>(DType::kInt64, {size}, values);
}

namespace {

// Reads int64 values off a message, refusing to run past its end.
class MessageReader {
 public:
  explicit MessageReader(const Tensor& message)
      : data_(message.data<int64_t>()), size_(message.element_count()) {}
  bool Next(int64_t& value) {
    if (at_ >= size_) return false;
    value = data_[at_++];
    return true;
  }
  bool AtEnd() const { return at_ == size_; }

 private:
  const int64_t* data_;
  int64_t size_;
  int64_t at_ = 0;
};

}  // namespace

Status DecoderGroupMirror::Apply(const Tensor& message) {
  const std::string what = "model '" + model_.model_name() + "': step message from rank 0";
  if (message.dtype() != DType::kInt64 || message.rank() != 1) return Internal(what + " is not int64[n]");
  // The whole message is read before anything changes, so a malformed one leaves the mirror as it was.
  MessageReader reader(message);
  int64_t n_freed = 0, n_rows = 0;
  if (!reader.Next(n_freed) || n_freed < 0) return Internal(what + " has no count of freed sequences");
  std::vector<int64_t> freed(static_cast<size_t>(std::min<int64_t>(n_freed, message.element_count())));
  for (int64_t& id : freed) {
    if (!reader.Next(id)) return Internal(what + " ends inside its freed sequences");
  }
  if (static_cast<int64_t>(freed.size()) != n_freed) return Internal(what + " ends inside its freed sequences");
  if (!reader.Next(n_rows) || n_rows < 0) return Internal(what + " has no count of rows");
  std::vector<std::pair<int64_t, std::vector<generate::TokenId>>> rows;
  for (int64_t i = 0; i < n_rows; ++i) {
    int64_t id = 0, n_tokens = 0;
    if (!reader.Next(id) || !reader.Next(n_tokens) || n_tokens <= 0)
      return Internal(what + ": row " + std::to_string(i) + " has no id or no tokens");
    std::vector<generate::TokenId> tokens;
    for (int64_t t = 0; t < n_tokens; ++t) {
      int64_t token = 0;
      if (!reader.Next(token)) return Internal(what + " ends inside row " + std::to_string(i));
      tokens.push_back(static_cast<generate::TokenId>(token));
    }
    rows.emplace_back(id, std::move(tokens));
  }
  if (!reader.AtEnd()) return Internal(what + " has values after its last row");

  for (int64_t id : freed) sequences_.erase(id);
  std::vector<generate::Sequence*> step;
  for (auto& [id, tokens] : rows) {
    generate::Sequence& seq = sequences_[id];
    seq.tokens.insert(seq.tokens.end(), tokens.begin(), tokens.end());
    step.push_back(&seq);
  }
  if (step.empty()) return Status::Ok();
  // A failed step fails on rank 0 too, which answers the clients; the mirror only keeps in step.
  (void)model_.Step(step);
  return Status::Ok();
}

int64_t DecoderGroupMirror::cache_bytes() const {
  int64_t bytes = 0;
  for (const auto& [id, seq] : sequences_)
    for (const Tensor& t : seq.cache) bytes += static_cast<int64_t>(t.byte_size());
  return bytes;
}

}  // namespace tessera::serve
