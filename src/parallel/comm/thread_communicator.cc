// ThreadCommunicator: collectives as "everyone posts, barrier, everyone reads, barrier" over shared slots.
#include "parallel/comm/thread_communicator.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "core/tensor_slicing.h"

namespace tessera {

namespace {

// What the ranks of one world share.
struct World {
  explicit World(int n) : size(n), slots(static_cast<size_t>(n)), ints(static_cast<size_t>(n)) {}

  const int size;
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  int64_t generation = 0;
  std::vector<Tensor> slots;                  // one posted tensor per rank
  std::vector<std::pair<int, int>> ints;      // Split: (color, key) per rank
  std::map<std::tuple<int, int, int>, std::deque<Tensor>> mail;  // (src, dst, tag)
  std::map<std::pair<int64_t, int>, std::shared_ptr<World>> splits;  // (split number, color)
  int64_t split_count = 0;

  void Barrier() {
    std::unique_lock<std::mutex> lock(mutex);
    const int64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return generation != gen; });
    }
  }
};

class ThreadCommunicator : public Communicator {
 public:
  ThreadCommunicator(std::shared_ptr<World> world, int rank) : world_(std::move(world)), rank_(rank) {}

  int rank() const override { return rank_; }
  int size() const override { return world_->size; }
  std::string transport() const override { return "threads"; }

  Status Send(const Tensor& tensor, int dst, int tag) override {
    if (dst < 0 || dst >= size()) return InvalidArgument("send to rank " + std::to_string(dst) + " of " + std::to_string(size()));
    TS_ASSIGN_OR_RETURN(Tensor copy, tensor.Clone());
    std::lock_guard<std::mutex> lock(world_->mutex);
    world_->mail[{rank_, dst, tag}].push_back(std::move(copy));
    world_->cv.notify_all();
    return Status::Ok();
  }

  StatusOr<Tensor> Recv(int src, int tag) override {
    if (src < 0 || src >= size()) return InvalidArgument("receive from rank " + std::to_string(src) + " of " + std::to_string(size()));
    std::unique_lock<std::mutex> lock(world_->mutex);
    auto& box = world_->mail[{src, rank_, tag}];
    world_->cv.wait(lock, [&] { return !box.empty(); });
    Tensor t = std::move(box.front());
    box.pop_front();
    return t;
  }

  StatusOr<Tensor> SendRecv(const Tensor& tensor, int dst, int src, int tag) override {
    TS_RETURN_IF_ERROR(Send(tensor, dst, tag));  // Send only posts a copy, so it never waits for `dst`
    return Recv(src, tag);
  }

  Status Broadcast(Tensor& tensor, int root) override {
    if (root < 0 || root >= size()) return InvalidArgument("broadcast from rank " + std::to_string(root));
    Post(tensor);
    StatusOr<Tensor> copy = world_->slots[static_cast<size_t>(root)].Clone();
    world_->Barrier();
    if (!copy.ok()) return copy.status();
    if (rank_ != root) tensor = std::move(copy).value();
    return Status::Ok();
  }

  Status AllReduceSum(Tensor& tensor) override {
    Post(tensor);
    StatusOr<Tensor> sum = SumSlots();
    world_->Barrier();  // nobody overwrites a slot (or `tensor`) while another rank still reads it
    if (!sum.ok()) return sum.status();
    std::memcpy(tensor.raw_data(), sum->raw_data(), tensor.byte_size());
    return Status::Ok();
  }

  StatusOr<Tensor> AllGather(const Tensor& tensor, int64_t axis) override {
    Post(tensor);
    StatusOr<Tensor> joined = ConcatAlongAxis(world_->slots, axis);
    world_->Barrier();
    return joined;
  }

  Status Barrier() override {
    world_->Barrier();
    return Status::Ok();
  }

  StatusOr<std::unique_ptr<Communicator>> Split(int color, int key) override {
    {
      std::lock_guard<std::mutex> lock(world_->mutex);
      world_->ints[static_cast<size_t>(rank_)] = {color, key};
    }
    world_->Barrier();
    std::vector<std::pair<int, int>> members;  // (key, old rank) of my color
    for (int r = 0; r < size(); ++r) {
      if (world_->ints[static_cast<size_t>(r)].first == color) members.push_back({world_->ints[static_cast<size_t>(r)].second, r});
    }
    std::sort(members.begin(), members.end());
    int new_rank = 0;
    while (members[static_cast<size_t>(new_rank)].second != rank_) ++new_rank;
    std::shared_ptr<World> sub;
    {
      std::lock_guard<std::mutex> lock(world_->mutex);
      auto& entry = world_->splits[{world_->split_count, color}];
      if (!entry) entry = std::make_shared<World>(static_cast<int>(members.size()));
      sub = entry;
    }
    world_->Barrier();
    if (rank_ == 0) {
      std::lock_guard<std::mutex> lock(world_->mutex);
      world_->splits.clear();
      ++world_->split_count;
    }
    world_->Barrier();
    return std::unique_ptr<Communicator>(std::make_unique<ThreadCommunicator>(sub, new_rank));
  }

  [[noreturn]] void Abort(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "tessera: rank %d: %s\n", rank_, message.c_str());
    std::fflush(stderr);
    std::_Exit(exit_code);
  }

 private:
  // Posts `tensor` in this rank's slot and waits until every rank has posted.
  void Post(const Tensor& tensor) {
    {
      std::lock_guard<std::mutex> lock(world_->mutex);
      world_->slots[static_cast<size_t>(rank_)] = tensor;
    }
    world_->Barrier();
  }

  // The elementwise sum of every slot in rank order (float32, float64, int32, int64).
  StatusOr<Tensor> SumSlots() const {
    const Tensor& first = world_->slots[0];
    for (const Tensor& t : world_->slots) {
      if (t.dtype() != first.dtype() || t.shape() != first.shape()) {
        return InvalidArgument("all-reduce over tensors that differ: " + ShapeToString(first.shape()) + " " +
                               DTypeName(first.dtype()) + " vs " + ShapeToString(t.shape()) + " " + DTypeName(t.dtype()));
      }
    }
    TS_ASSIGN_OR_RETURN(Tensor sum, first.Clone());
    const int64_t n = sum.element_count();
    auto add = [&](auto* dst, auto tag) {
      using T = decltype(tag);
      for (size_t r = 1; r < world_->slots.size(); ++r) {
        const T* src = world_->slots[r].data<T>();
        for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
      }
    };
    switch (sum.dtype()) {
      case DType::kFloat32: add(sum.data<float>(), float{}); break;
      case DType::kFloat64: add(sum.data<double>(), double{}); break;
      case DType::kInt32: add(sum.data<int32_t>(), int32_t{}); break;
      case DType::kInt64: add(sum.data<int64_t>(), int64_t{}); break;
      default: return Unimplemented(std::string("all-reduce of ") + DTypeName(sum.dtype()));
    }
    return sum;
  }

  std::shared_ptr<World> world_;
  int rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> MakeThreadCommunicators(int size) {
  auto world = std::make_shared<World>(size);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < size; ++r) comms.push_back(std::make_unique<ThreadCommunicator>(world, r));
  return comms;
}

std::vector<Status> RunOnThreads(int size, const std::function<Status(Communicator&)>& body) {
  auto comms = MakeThreadCommunicators(size);
  std::vector<Status> statuses(static_cast<size_t>(size), Status::Ok());
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r) {
    threads.emplace_back([&, r] { statuses[static_cast<size_t>(r)] = body(*comms[static_cast<size_t>(r)]); });
  }
  for (auto& t : threads) t.join();
  return statuses;
}

}  // namespace tessera
