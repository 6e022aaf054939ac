// The ai.onnx.ml family: the classical machine-learning ops that scikit-learn exporters (skl2onnx,
// onnxmltools) write. Registration entry points, one per file; ml.cc calls them all.
#pragma once

#include "ops/registry.h"

namespace tessera {

constexpr char kMlDomain[] = "ai.onnx.ml";

void RegisterMlMapKernels(KernelRegistry& registry);  // ml_maps.cc: ZipMap, CastMap, DictVectorizer (map values)

void RegisterMlPreprocessKernels(KernelRegistry& registry);  // ml_preprocess.cc: Binarizer, Scaler, Normalizer,
                                                             // Imputer, ArrayFeatureExtractor, FeatureVectorizer,
                                                             // OneHotEncoder
void RegisterMlLinearKernels(KernelRegistry& registry);      // ml_linear.cc: LinearClassifier, LinearRegressor
void RegisterMlLabelKernels(KernelRegistry& registry);       // ml_label_encoder.cc: LabelEncoder, CategoryMapper
void RegisterMlTreeKernels(KernelRegistry& registry);        // ml_tree_ensemble.cc: TreeEnsemble*
void RegisterMlSvmKernels(KernelRegistry& registry);         // ml_svm.cc: SVMRegressor
void RegisterMlSvmClassifierKernel(KernelRegistry& registry);  // ml_svm_classifier.cc: SVMClassifier

}  // namespace tessera
