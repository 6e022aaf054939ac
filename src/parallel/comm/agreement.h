// Turning one rank's (or each rank's) success into a decision every rank shares, so that a failure seen
// by some ranks makes all of them stop together instead of leaving the others waiting in a collective.
#pragma once

#include "parallel/comm/communicator.h"

namespace tessera {

// Every rank passes its own status; all get an error when any rank failed (their own message when it
// was theirs, else one naming how many ranks failed).
Status AgreeAll(Communicator& comm, const Status& mine);

// Only `root`'s status counts (it alone read the inputs, say); every rank gets its verdict.
Status AgreeOnRoot(Communicator& comm, int root, const Status& root_status);

}  // namespace tessera
