// MpiCommunicator: tensors over MPI point-to-point and collectives.
#include "parallel/comm/mpi_communicator.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/tensor_slicing.h"
#include "parallel/comm/tensor_wire.h"

namespace tessera {

namespace {

constexpr size_t kChunkBytes = size_t{1} << 30;  // MPI counts are ints

// Each logical tag uses two MPI tags: header and payload, so a probe never matches a payload.
int HeaderTag(int tag) { return tag * 2; }
int PayloadTag(int tag) { return tag * 2 + 1; }

std::string MpiError(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

Status Check(int code, const char* what) {
  if (code == MPI_SUCCESS) return Status::Ok();
  return IoError(std::string(what) + " failed: " + MpiError(code));
}

// Completes a nonblocking collective without starving its peer: MPI's blocking collectives busy-poll, and
// a rank that arrives first at a tensor-parallel all-reduce would keep its peer (on the same core, or
// behind other processes on a shared machine) from reaching it. The wait polls, yielding the core between
// polls, for up to 2 ms: a decode step's collectives complete within that when both ranks run, and a
// yield costs nothing when no other task wants the core. Only then does it back off to sleeps of up to
// 200 us, since every sleep costs tens of microseconds of timer slack on top of its length.
// Measured on the 0.5 B int4 decoder at tp = 2, 1 thread per rank, idle 2-core machine (bench/RESULTS.md,
// tensor-parallel generation and "Quiet-machine reruns"): sleeping after 200 polls 25.5 ms/token, yielding
// for 2 ms first 14.8-16.2 ms/token.
// Blocking MPI_Allreduce on the shared machine was 1520 ms/token.
Status WaitPolitely(MPI_Request& request, const char* what) {
  using Clock = std::chrono::steady_clock;
  int done = 0;
  const Clock::time_point yield_until = Clock::now() + std::chrono::milliseconds(2);
  do {
    TS_RETURN_IF_ERROR(Check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what));
    if (done) return Status::Ok();
    std::this_thread::yield();
  } while (Clock::now() < yield_until);
  for (int waited_us = 1;; waited_us = std::min(200, waited_us * 2)) {
    std::this_thread::sleep_for(std::chrono::microseconds(waited_us));
    TS_RETURN_IF_ERROR(Check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what));
    if (done) return Status::Ok();
  }
}

StatusOr<MPI_Datatype> ReduceType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return MPI_FLOAT;
    case DType::kFloat64: return MPI_DOUBLE;
    case DType::kInt32: return MPI_INT32_T;
    case DType::kInt64: return MPI_INT64_T;
    default: return Unimplemented(std::string("all-reduce of ") + DTypeName(dtype) + " tensors");
  }
}

struct MpiFinalizer {
  ~MpiFinalizer() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Finalize();
  }
};

}  // namespace

Status EnsureMpiInitialized() {
  static Status status = [] {
    int provided = 0;
    int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    if (code != MPI_SUCCESS) return IoError("MPI_Init_thread failed: " + MpiError(code));
    static MpiFinalizer finalizer;
    return Status::Ok();
  }();
  return status;
}

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

Status MpiCommunicator::CheckPeer(int peer, const char* what) const {
  if (peer < 0 || peer >= size_) {
    return InvalidArgument(std::string(what) + " rank " + std::to_string(peer) + " of a world of " + std::to_string(size_));
  }
  return Status::Ok();
}

Status MpiCommunicator::Send(const Tensor& tensor, int dst, int tag) {
  TS_RETURN_IF_ERROR(CheckPeer(dst, "send to"));
  if (tensor.dtype() == DType::kString) return Unimplemented("sending string tensors between ranks");
  std::vector<int64_t> header = EncodeTensorHeader(tensor);
  TS_RETURN_IF_ERROR(Check(MPI_Send(header.data(), static_cast<int>(header.size()), MPI_INT64_T, dst, HeaderTag(tag), comm_), "MPI_Send"));
  const char* data = static_cast<const char*>(tensor.raw_data());
  for (size_t done = 0; done < tensor.byte_size(); done += kChunkBytes) {
    int n = static_cast<int>(std::min(kChunkBytes, tensor.byte_size() - done));
    TS_RETURN_IF_ERROR(Check(MPI_Send(data + done, n, MPI_BYTE, dst, PayloadTag(tag), comm_), "MPI_Send"));
  }
  return Status::Ok();
}

StatusOr<Tensor> MpiCommunicator::Recv(int src, int tag) {
  TS_RETURN_IF_ERROR(CheckPeer(src, "receive from"));
  return Receive(src, tag, /*partner_is_due=*/false);
}

StatusOr<Tensor> MpiCommunicator::SendRecv(const Tensor& tensor, int dst, int src, int tag) {
  TS_RETURN_IF_ERROR(CheckPeer(dst, "send to"));
  TS_RETURN_IF_ERROR(CheckPeer(src, "receive from"));
  if (tensor.dtype() == DType::kString) return Unimplemented("sending string tensors between ranks");
  // Nonblocking sends, then the receive: a large send (rendezvous) completes only once `dst` receives it,
  // and `dst` may itself be sending to us first.
  const std::vector<int64_t> header = EncodeTensorHeader(tensor);
  std::vector<MPI_Request> sends(1);
  int code = MPI_Isend(header.data(), static_cast<int>(header.size()), MPI_INT64_T, dst, HeaderTag(tag), comm_,
                       &sends[0]);
  const char* data = static_cast<const char*>(tensor.raw_data());
  for (size_t done = 0; code == MPI_SUCCESS && done < tensor.byte_size(); done += kChunkBytes) {
    int n = static_cast<int>(std::min(kChunkBytes, tensor.byte_size() - done));
    sends.emplace_back();
    code = MPI_Isend(data + done, n, MPI_BYTE, dst, PayloadTag(tag), comm_, &sends.back());
    if (code != MPI_SUCCESS) sends.pop_back();
  }
  StatusOr<Tensor> got = code == MPI_SUCCESS ? Receive(src, tag, /*partner_is_due=*/true)
                                             : StatusOr<Tensor>(Check(code, "MPI_Isend"));
  // Always wait for the sends: their buffers (`header`, `tensor`) must outlive them.
  const int waited = MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE);
  if (!got.ok()) return got.status();
  TS_RETURN_IF_ERROR(Check(waited, "MPI_Waitall"));
  return got;
}

StatusOr<Tensor> MpiCommunicator::Receive(int src, int tag, bool partner_is_due) {
  // Wait for the header without spinning for long: MPI_Probe busy-polls, and a pipeline stage waiting
  // for its input would take a core from the stage computing it. Polls back off to 1 ms (a stage's run
  // is tens of milliseconds or more). A collective's partner sends within moments, and one sleep costs
  // tens of microseconds of timer slack, so then the wait first polls, yielding, for up to 5 ms.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point spin_until = partner_is_due ? Clock::now() + std::chrono::milliseconds(5) : Clock::now();
  MPI_Status st;
  int arrived = 0;
  for (int waited_us = 0;;) {
    TS_RETURN_IF_ERROR(Check(MPI_Iprobe(src, HeaderTag(tag), comm_, &arrived, &st), "MPI_Iprobe"));
    if (arrived) break;
    if (partner_is_due && Clock::now() < spin_until) {
      std::this_thread::yield();
      continue;
    }
    waited_us = std::min(1000, waited_us < 10 ? waited_us + 1 : waited_us * 2);
    std::this_thread::sleep_for(std::chrono::microseconds(waited_us));
  }
  int count = 0;
  MPI_Get_count(&st, MPI_INT64_T, &count);
  if (count < 0 || count > kMaxWireHeaderWords) return InvalidArgument("rank " + std::to_string(src) + " sent a tensor header of " + std::to_string(count) + " words");
  int64_t words[kMaxWireHeaderWords];
  TS_RETURN_IF_ERROR(Check(MPI_Recv(words, count, MPI_INT64_T, src, HeaderTag(tag), comm_, MPI_STATUS_IGNORE), "MPI_Recv"));
  auto header = DecodeTensorHeader(words, count);
  if (!header.ok()) return header.status().WithContext("from rank " + std::to_string(src));
  TS_ASSIGN_OR_RETURN(Tensor t, Tensor::AllocateUninitialized(header->dtype, header->shape));
  char* data = static_cast<char*>(t.raw_data());
  for (size_t done = 0; done < header->bytes; done += kChunkBytes) {
    int n = static_cast<int>(std::min(kChunkBytes, header->bytes - done));
    TS_RETURN_IF_ERROR(Check(MPI_Recv(data + done, n, MPI_BYTE, src, PayloadTag(tag), comm_, MPI_STATUS_IGNORE), "MPI_Recv"));
  }
  return t;
}

StatusOr<int> MpiCommunicator::ProbeAny(int tag) {
  int flag = 0;
  MPI_Status st;
  TS_RETURN_IF_ERROR(Check(MPI_Iprobe(MPI_ANY_SOURCE, HeaderTag(tag), comm_, &flag, &st), "MPI_Iprobe"));
  return flag ? st.MPI_SOURCE : -1;
}

Status MpiCommunicator::Broadcast(Tensor& tensor, int root) {
  TS_RETURN_IF_ERROR(CheckPeer(root, "broadcast from"));
  int64_t words[kMaxWireHeaderWords + 1] = {0};  // words[0]: header length
  if (rank_ == root) {
    if (tensor.dtype() == DType::kString) return Unimplemented("broadcasting string tensors");
    std::vector<int64_t> header = EncodeTensorHeader(tensor);
    words[0] = static_cast<int64_t>(header.size());
    std::copy(header.begin(), header.end(), words + 1);
  }
  TS_RETURN_IF_ERROR(Check(MPI_Bcast(words, kMaxWireHeaderWords + 1, MPI_INT64_T, root, comm_), "MPI_Bcast"));
  if (rank_ != root) {
    if (words[0] < 0 || words[0] > kMaxWireHeaderWords) return InvalidArgument("broadcast header of bad length");
    TS_ASSIGN_OR_RETURN(TensorHeader h, DecodeTensorHeader(words + 1, static_cast<int>(words[0])));
    TS_ASSIGN_OR_RETURN(tensor, Tensor::AllocateUninitialized(h.dtype, h.shape));
  }
  char* data = static_cast<char*>(tensor.raw_data());
  for (size_t done = 0; done < tensor.byte_size(); done += kChunkBytes) {
    int n = static_cast<int>(std::min(kChunkBytes, tensor.byte_size() - done));
    TS_RETURN_IF_ERROR(Check(MPI_Bcast(data + done, n, MPI_BYTE, root, comm_), "MPI_Bcast"));
  }
  return Status::Ok();
}

Status MpiCommunicator::AllReduceSum(Tensor& tensor) {
  TS_ASSIGN_OR_RETURN(MPI_Datatype type, ReduceType(tensor.dtype()));
  size_t elem = DTypeSize(tensor.dtype());
  size_t per_chunk = kChunkBytes / elem;
  char* data = static_cast<char*>(tensor.raw_data());
  for (int64_t done = 0; done < tensor.element_count(); done += static_cast<int64_t>(per_chunk)) {
    int n = static_cast<int>(std::min<int64_t>(static_cast<int64_t>(per_chunk), tensor.element_count() - done));
    MPI_Request request;
    TS_RETURN_IF_ERROR(Check(MPI_Iallreduce(MPI_IN_PLACE, data + static_cast<size_t>(done) * elem, n, type, MPI_SUM,
                                            comm_, &request), "MPI_Iallreduce"));
    TS_RETURN_IF_ERROR(WaitPolitely(request, "MPI_Iallreduce"));
  }
  return Status::Ok();
}

StatusOr<Tensor> MpiCommunicator::AllGather(const Tensor& tensor, int64_t axis) {
  if (axis < 0 || axis >= tensor.rank()) return InvalidArgument("all-gather axis " + std::to_string(axis) + " of a rank-" + std::to_string(tensor.rank()) + " tensor");
  if (tensor.dtype() == DType::kString) return Unimplemented("all-gather of string tensors");
  int64_t mine = tensor.dim(axis);
  std::vector<int64_t> sizes(static_cast<size_t>(size_));
  MPI_Request request;
  TS_RETURN_IF_ERROR(Check(MPI_Iallgather(&mine, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, comm_, &request),
                           "MPI_Iallgather"));
  TS_RETURN_IF_ERROR(WaitPolitely(request, "MPI_Iallgather"));
  size_t row_bytes = tensor.byte_size() / static_cast<size_t>(std::max<int64_t>(mine, 1));
  if (mine == 0) {
    Shape one = tensor.shape();
    one[static_cast<size_t>(axis)] = 1;
    row_bytes = static_cast<size_t>(ShapeElementCount(one)) * DTypeSize(tensor.dtype());
  }
  std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
  size_t total = 0;
  for (int r = 0; r < size_; ++r) {
    size_t bytes = static_cast<size_t>(sizes[static_cast<size_t>(r)]) * row_bytes;
    if (total + bytes > static_cast<size_t>(INT32_MAX)) return Unimplemented("all-gather of more than 2 GiB");
    counts[static_cast<size_t>(r)] = static_cast<int>(bytes);
    displs[static_cast<size_t>(r)] = static_cast<int>(total);
    total += bytes;
  }
  TS_ASSIGN_OR_RETURN(Tensor flat, Tensor::AllocateUninitialized(DType::kUInt8, {static_cast<int64_t>(total)}));
  TS_RETURN_IF_ERROR(Check(MPI_Iallgatherv(tensor.raw_data(), static_cast<int>(tensor.byte_size()), MPI_BYTE,
                                           flat.raw_data(), counts.data(), displs.data(), MPI_BYTE, comm_, &request),
                           "MPI_Iallgatherv"));
  TS_RETURN_IF_ERROR(WaitPolitely(request, "MPI_Iallgatherv"));
  // Every rank's block is that rank's tensor in its own row-major layout; join them along `axis`.
  std::vector<Tensor> parts;
  for (int r = 0; r < size_; ++r) {
    Shape shape = tensor.shape();
    shape[static_cast<size_t>(axis)] = sizes[static_cast<size_t>(r)];
    parts.emplace_back(tensor.dtype(), std::move(shape), flat.buffer(), static_cast<size_t>(displs[static_cast<size_t>(r)]));
  }
  return ConcatAlongAxis(parts, axis);
}

Status MpiCommunicator::Barrier() { return Check(MPI_Barrier(comm_), "MPI_Barrier"); }

StatusOr<std::unique_ptr<Communicator>> MpiCommunicator::Split(int color, int key) {
  MPI_Comm sub;
  TS_RETURN_IF_ERROR(Check(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split"));
  return std::unique_ptr<Communicator>(std::make_unique<MpiCommunicator>(sub));
}

void MpiCommunicator::Abort(const std::string& message, int exit_code) {
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  std::fprintf(stderr, "tessera: rank %d: %s\n", world_rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace tessera
