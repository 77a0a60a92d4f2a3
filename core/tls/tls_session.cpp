// libchainpp_tls.so: HTTPS sessions for core/src/http/pool.cpp (see tls_session.hpp).
#include "tls_session.hpp"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>

#include <map>
#include <mutex>
#include <string>
#include <type_traits>

namespace {

// One TLS context per (verification, CA file), shared by all sessions.
Poco::Net::Context::Ptr context(bool verify, const std::string& ca_file) {
  static std::mutex mutex;
  static std::map<std::string, Poco::Net::Context::Ptr> contexts;
  static std::once_flag ssl_once;
  std::call_once(ssl_once, [] { Poco::Net::initializeSSL(); });
  const std::string key = (verify ? "v|" : "n|") + ca_file;
  std::lock_guard lock(mutex);
  auto& ctx = contexts[key];
  if (!ctx) {
    ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, ca_file,
                                 verify ? Poco::Net::Context::VERIFY_RELAXED : Poco::Net::Context::VERIFY_NONE, 9,
                                 ca_file.empty());
    static std::once_flag handler_once;
    std::call_once(handler_once, [&] {
      Poco::Net::SSLManager::instance().initializeClient(nullptr, new Poco::Net::RejectCertificateHandler(false), ctx);
    });
  }
  return ctx;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) Poco::Net::HTTPClientSession* chainpp_new_tls_session(
    const std::string& host, unsigned short port, bool verify, const std::string& ca_file) {
  return new Poco::Net::HTTPSClientSession(host, port, context(verify, ca_file));
}

// The exported function has the type pool.cpp expects.
static_assert(std::is_same_v<decltype(&chainpp_new_tls_session), chainpp::detail::NewTlsSession>);
