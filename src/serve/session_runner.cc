// The single-process ModelRunner: one Session with its own intra-op thread pool.
#include <utility>

#include "serve/distributed/mpi_serving.h"
#include "serve/model_runner.h"

namespace tessera::serve {

namespace {

class SessionRunner : public ModelRunner {
 public:
  explicit SessionRunner(std::unique_ptr<Session> session) : session_(std::move(session)) {}
  const std::vector<TensorInfo>& inputs() const override { return session_->inputs(); }
  const std::vector<TensorInfo>& outputs() const override { return session_->outputs(); }
  StatusOr<std::vector<Tensor>> Run(const Feeds& feeds) override { return session_->Run(feeds); }

 private:
  std::unique_ptr<Session> session_;
};

}  // namespace

StatusOr<std::unique_ptr<ModelRunner>> CreateSessionRunner(const std::string& model_path, int threads) {
  SessionOptions options;
  options.threads = threads;
  TS_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Load(model_path, options));
  return std::unique_ptr<ModelRunner>(std::make_unique<SessionRunner>(std::move(session)));
}

StatusOr<std::unique_ptr<ModelRunner>> CreateModelRunner(const std::string& model_path, const ServingPlan& plan,
                                                         const std::string& model_name) {
  if (plan.parallel.distributed()) return CreateDistributedRunner(model_path, plan, model_name);
  return CreateSessionRunner(model_path, plan.threads);
}

}  // namespace tessera::serve
