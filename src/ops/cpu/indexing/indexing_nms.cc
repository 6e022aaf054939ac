// NonMaxSuppression: per batch and class, greedily keeps the highest-scoring boxes and drops those
// that overlap a kept box by more than iou_threshold. Output: int64 [selected, 3] rows of
// (batch, class, box), grouped by batch then class, each group in selection order.
//
// Matches ONNX Runtime where the spec is loose: a score must be strictly above score_threshold, equal
// scores keep the lower box index first, boxes with no intersection never suppress each other, and
// corner boxes may list their corners in either order.
#include <algorithm>
#include <string>

#include "ops/cpu/indexing/indexing_common.h"
#include "ops/op_helpers.h"

namespace tessera {
namespace {

struct Box {
  float y1, x1, y2, x2;  // y1 <= y2, x1 <= x2
  float area() const { return (y2 - y1) * (x2 - x1); }
};

Box ReadBox(const float* p, bool center_point) {
  if (center_point) {  // [x_center, y_center, width, height]
    const float hw = p[2] / 2, hh = p[3] / 2;
    return {p[1] - hh, p[0] - hw, p[1] + hh, p[0] + hw};
  }
  return {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
}

bool Suppresses(const Box& a, const Box& b, float iou_threshold) {
  const float iy1 = std::max(a.y1, b.y1), ix1 = std::max(a.x1, b.x1);
  const float iy2 = std::min(a.y2, b.y2), ix2 = std::min(a.x2, b.x2);
  if (iy2 <= iy1 || ix2 <= ix1) return false;
  const float inter = (iy2 - iy1) * (ix2 - ix1);
  const float uni = a.area() + b.area() - inter;
  if (uni <= 0) return false;
  return inter / uni > iou_threshold;
}

class NonMaxSuppressionKernel : public Kernel {
 public:
  explicit NonMaxSuppressionKernel(const Node& node) : center_point_(node.GetInt("center_point_box", 0) != 0) {}

  Status Run(KernelContext& ctx) override {
    const Tensor& boxes_t = ctx.input(0);
    const Tensor& scores_t = ctx.input(1);
    if (boxes_t.dtype() != DType::kFloat32 || scores_t.dtype() != DType::kFloat32) {
      return KernelContext::Error("inputs 'boxes' and 'scores' must be float32");
    }
    if (boxes_t.rank() != 3 || boxes_t.dim(2) != 4) {
      return KernelContext::Error("input 'boxes' must have shape [batches, boxes, 4], got " + ShapeToString(boxes_t.shape()));
    }
    if (scores_t.rank() != 3 || scores_t.dim(0) != boxes_t.dim(0) || scores_t.dim(2) != boxes_t.dim(1)) {
      return KernelContext::Error("input 'scores' must have shape [" + std::to_string(boxes_t.dim(0)) + ", classes, " +
                                  std::to_string(boxes_t.dim(1)) + "], got " + ShapeToString(scores_t.shape()));
    }
    int64_t max_out = 0;
    float iou_threshold = 0, score_threshold = 0;
    const bool has_score_threshold = ctx.has_input(4);
    if (ctx.has_input(2) && ctx.input(2).element_count() > 0) {
      TS_ASSIGN_OR_RETURN(std::vector<int64_t> v, ReadInt64Values(ctx.input(2), "input 'max_output_boxes_per_class'"));
      max_out = v[0];
    }
    if (ctx.has_input(3) && ctx.input(3).element_count() > 0) {
      TS_ASSIGN_OR_RETURN(std::vector<float> v, ReadFloatValues(ctx.input(3), "input 'iou_threshold'"));
      iou_threshold = v[0];
      if (!(iou_threshold >= 0 && iou_threshold <= 1)) {
        return KernelContext::Error("input 'iou_threshold' must be in [0, 1], got " + std::to_string(iou_threshold));
      }
    }
    if (has_score_threshold && ctx.input(4).element_count() > 0) {
      TS_ASSIGN_OR_RETURN(std::vector<float> v, ReadFloatValues(ctx.input(4), "input 'score_threshold'"));
      score_threshold = v[0];
    }
    const int64_t batches = scores_t.dim(0), classes = scores_t.dim(1), num_boxes = scores_t.dim(2);
    const float* boxes = boxes_t.data<float>();
    const float* scores = scores_t.data<float>();
    std::vector<int64_t> selected;  // flattened (batch, class, box) triples
    std::vector<int64_t> candidates, kept;
    std::vector<Box> batch_boxes(static_cast<size_t>(num_boxes));
    for (int64_t b = 0; b < batches && max_out > 0; ++b) {
      for (int64_t i = 0; i < num_boxes; ++i) {
        batch_boxes[static_cast<size_t>(i)] = ReadBox(boxes + (b * num_boxes + i) * 4, center_point_);
      }
      for (int64_t c = 0; c < classes; ++c) {
        const float* s = scores + (b * classes + c) * num_boxes;
        candidates.clear();
        for (int64_t i = 0; i < num_boxes; ++i) {
          if (!has_score_threshold || s[i] > score_threshold) candidates.push_back(i);
        }
        std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
        kept.clear();
        for (int64_t i : candidates) {
          if (static_cast<int64_t>(kept.size()) >= max_out) break;
          const Box& box = batch_boxes[static_cast<size_t>(i)];
          bool keep = true;
          for (int64_t k : kept) {
            if (Suppresses(batch_boxes[static_cast<size_t>(k)], box, iou_threshold)) {
              keep = false;
              break;
            }
          }
          if (!keep) continue;
          kept.push_back(i);
          selected.insert(selected.end(), {b, c, i});
        }
      }
    }
    const int64_t n = static_cast<int64_t>(selected.size() / 3);
    TS_ASSIGN_OR_RETURN(Tensor * out, ctx.AllocateUninitializedOutput(0, DType::kInt64, {n, 3}));
    std::copy(selected.begin(), selected.end(), out->data<int64_t>());
    return Status::Ok();
  }

 private:
  bool center_point_;
};

}  // namespace

void RegisterNmsKernels(KernelRegistry& registry) {
  registry.Register("NonMaxSuppression", 10, kLatestOpset, MakeNodeKernelFactory<NonMaxSuppressionKernel>());
}

}  // namespace tessera
