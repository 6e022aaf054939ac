// Post-processors of tokenizer.json ("post_processor"): add the special tokens around an encoded text,
// e.g. BOS first (TemplateProcessing) or [CLS] … [SEP] (BertProcessing). Only single sequences are
// encoded here, so the "pair" templates are read for validation but never applied.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "generate/tokenizer/json_fields.h"
#include "generate/tokenizer/tokenizer_model.h"

namespace tessera::generate {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // The ids of one encoded sequence with the special tokens added; `ids` unchanged when
  // `add_special_tokens` is false.
  virtual std::vector<int32_t> Process(std::vector<int32_t> ids, bool add_special_tokens) const = 0;
};

// null gives nullptr (nothing added). `vocabulary` resolves token strings the config names without an id.
// Unknown types are an Unimplemented error naming the field.
StatusOr<std::unique_ptr<PostProcessor>> MakePostProcessor(const Json& config, const Vocabulary& vocabulary,
                                                           const std::string& where);

}  // namespace tessera::generate
