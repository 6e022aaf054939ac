// ProtectWorldLinks: agreeing on whether to seal, then sealing and confirming the key.
#include "parallel/comm/sealed_world.h"

#include <chrono>
#include <thread>

#include "parallel/comm/link_key.h"
#include "parallel/comm/sealed_communicator.h"

namespace tessera {

StatusOr<std::unique_ptr<Communicator>> ProtectWorldLinks(std::unique_ptr<Communicator> world, const std::string& key_file,
                                                          bool& report) {
  report = world->rank() == 0;
  const bool given = !key_file.empty();
  StatusOr<LinkSecret> secret = given ? ReadLinkKeyFile(key_file) : StatusOr<LinkSecret>(LinkSecret());
  // In the clear, before anything is sealed: how many ranks have a key, and how many failed to read it.
  Tensor counts = Tensor::FromVector<int64_t>(DType::kInt64, {2}, {given ? 1 : 0, secret.ok() ? 0 : 1});
  TS_RETURN_IF_ERROR(world->AllReduceSum(counts));
  const int64_t keyed = counts.data<int64_t>()[0], unreadable = counts.data<int64_t>()[1];
  if (!secret.ok()) {
    report = true;
    return secret.status();
  }
  if (unreadable > 0) return InvalidArgument(std::to_string(unreadable) + " rank(s) could not read their link key file");
  if (keyed == 0) return world;
  if (keyed != world->size()) {
    return InvalidArgument("a link key was given to " + std::to_string(keyed) + " of " + std::to_string(world->size()) +
                           " ranks: give --link-key (or TESSERA_LINK_KEY_FILE) to every rank or to none");
  }
  TS_ASSIGN_OR_RETURN(std::unique_ptr<SealedCommunicator> sealed, SealedCommunicator::Open(std::move(world), *secret));
  Status confirmed = sealed->ConfirmKeys();
  if (!confirmed.ok()) {
    // Rank 0 names the rank(s) at fault; the others give its Abort a moment to be the message shown.
    if (sealed->rank() != 0) std::this_thread::sleep_for(std::chrono::seconds(3));
    sealed->Abort(confirmed.message(), 1);
  }
  return std::unique_ptr<Communicator>(std::move(sealed));
}

}  // namespace tessera
