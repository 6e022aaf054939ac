// The process-wide table of registered communicators.
#include "parallel/comm/communicator_registry.h"

#include <map>
#include <mutex>

namespace tessera {

namespace {

struct Table {
  std::mutex mutex;
  std::map<int64_t, Communicator*> entries;
  int64_t next = 1;
};

Table& Registry() {
  static Table* table = new Table();  // never destroyed: kernels may look up during static teardown
  return *table;
}

}  // namespace

CommunicatorRegistration::CommunicatorRegistration(Communicator& comm) {
  Table& t = Registry();
  std::lock_guard<std::mutex> lock(t.mutex);
  handle_ = t.next++;
  t.entries[handle_] = &comm;
}

CommunicatorRegistration::~CommunicatorRegistration() {
  Table& t = Registry();
  std::lock_guard<std::mutex> lock(t.mutex);
  t.entries.erase(handle_);
}

Communicator* FindRegisteredCommunicator(int64_t handle) {
  Table& t = Registry();
  std::lock_guard<std::mutex> lock(t.mutex);
  auto it = t.entries.find(handle);
  return it == t.entries.end() ? nullptr : it->second;
}

}  // namespace tessera
