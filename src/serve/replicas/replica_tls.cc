// CheckReplicaTlsFiles (replica_tls.h): the files loaded into a throwaway OpenSSL client context.
#include "serve/replicas/replica_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace tessera::serve::replicas {

namespace {

// OpenSSL's reason for the last failure on this thread, emptying its error queue.
std::string OpenSslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

}  // namespace

Status CheckReplicaTlsFiles(const ReplicaTlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return InvalidArgument("a replica client certificate and its key go together (--replica-cert, --replica-key)");
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) return Internal("TLS client context: " + OpenSslReason());
  if (!files.ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument("replica CA file '" + files.ca_file + "': " + OpenSslReason());
  }
  if (files.cert_file.empty()) return Status::Ok();
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1) {
    return InvalidArgument("replica client certificate '" + files.cert_file + "': " + OpenSslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgument("replica client key '" + files.key_file + "': " + OpenSslReason());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InvalidArgument("replica client key '" + files.key_file + "' does not match the certificate '" +
                           files.cert_file + "'");
  }
  return Status::Ok();
}

}  // namespace tessera::serve::replicas
