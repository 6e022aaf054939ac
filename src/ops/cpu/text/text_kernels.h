// Registration entry points of the text family, one per file; text.cc calls them all.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterStringNormalizerKernels(KernelRegistry& registry);  // text_string_normalizer.cc: StringNormalizer
void RegisterTfIdfKernels(KernelRegistry& registry);             // text_tfidf.cc: TfIdfVectorizer
// text_string_ops.cc: StringConcat, RegexFullMatch, StringSplit (opset 20)
void RegisterStringOpKernels(KernelRegistry& registry);

}  // namespace tessera
