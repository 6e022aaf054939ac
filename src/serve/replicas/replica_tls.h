// How a routing server reaches https:// workers: whom it trusts and what it shows them.
//
// The worker's certificate must chain to `ca_file` (or, without one, to the system's trust store) and
// name the URL's host; with `cert_file` and `key_file` the router presents a client certificate, for
// workers started with --tls-client-ca (mutual TLS).
#pragma once

#include <string>

#include "tessera/status.h"

namespace tessera::serve::replicas {

struct ReplicaTlsFiles {
  std::string ca_file;    // PEM CA certificate(s) that sign the workers' certificates; empty: system store
  std::string cert_file;  // PEM client certificate chain; empty: none is presented
  std::string key_file;   // its private key
};

// Loads every file named once, so that a wrong path or a key that does not match its certificate stops
// the server at start (naming the file) instead of showing up later as workers that are all down.
Status CheckReplicaTlsFiles(const ReplicaTlsFiles& files);

}  // namespace tessera::serve::replicas
