// Protecting a job's links when its ranks were given a key file: the one step between opening the world
// and using it, shared by every command that runs on all ranks.
#pragma once

#include <memory>
#include <string>

#include "parallel/comm/communicator.h"

namespace tessera {

// Collective over `world`. With no key file on any rank, returns `world` as it is. With one on every
// rank, reads it (ReadLinkKeyFile's rules), seals the world (SealedCommunicator) and confirms that every
// rank holds the same key. Errors every rank returns: a rank could not read its file (that rank's
// message, the others' "... could not read") or only some ranks were given one; `report` says whether
// this rank should print it (the rank at fault, or rank 0). A rank with a different key ends the job
// through Abort — on rank 0 with "rank R holds a different link key" — since the ranks cannot trust
// each other to agree on anything else.
StatusOr<std::unique_ptr<Communicator>> ProtectWorldLinks(std::unique_ptr<Communicator> world, const std::string& key_file,
                                                          bool& report);

}  // namespace tessera
