// Registration entry points of the text family, one per file; text.cc calls them both.
#pragma once

#include "ops/registry.h"

namespace tessera {

void RegisterStringNormalizerKernels(KernelRegistry& registry);  // text_string_normalizer.cc: StringNormalizer
void RegisterTfIdfKernels(KernelRegistry& registry);             // text_tfidf.cc: TfIdfVectorizer

}  // namespace tessera
