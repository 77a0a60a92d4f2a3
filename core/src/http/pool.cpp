// The connection pool: keep-alive sessions per (scheme, host, port, proxy,
// TLS settings), and HTTPS sessions from libchainpp_tls.so, loaded on the
// first https:// connection.
#include "http/transport.hpp"

#include "tls_session.hpp"

#include <dlfcn.h>

#include <functional>

namespace chainpp {

namespace {

// libchainpp_tls.so, loaded on first use from the directory of this library
// (else the loader's search path) and never unloaded; nullptr and why when
// it cannot be loaded.
std::pair<void*, std::string> tls_library() {
  static const auto lib = []() -> std::pair<void*, std::string> {
    std::string path = detail::kTlsLibrary;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&tls_library), &info) != 0 && info.dli_fname) {
      const std::string self = info.dli_fname;
      if (const auto slash = self.rfind('/'); slash != std::string::npos) path = self.substr(0, slash + 1) + path;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle && path != detail::kTlsLibrary) handle = dlopen(detail::kTlsLibrary, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return {nullptr, dlerror()};
    return {handle, {}};
  }();
  return lib;
}

}  // namespace

void* detail::tls_symbol(const char* name, const char* what) {
  const auto lib = tls_library();
  void* symbol = lib.first ? dlsym(lib.first, name) : nullptr;
  if (!symbol)
    throw ConfigError(std::string(what) + " needs TLS support, which could not be loaded: " +
                      (lib.first ? std::string(dlerror()) : lib.second));
  return symbol;
}

namespace http {

Poco::Timespan to_timespan(std::chrono::milliseconds ms) {
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

Connection ConnectionPool::acquire(const Target& t, const TransportOptions& o, std::chrono::milliseconds connect,
                                   std::chrono::milliseconds read_timeout) {
  const auto proxy = proxy_for(t, o);
  Connection c;
  c.key = t.scheme + "://" + t.authority();
  if (proxy) {
    // Sessions through one proxy with other credentials are not shared (the
    // key holds a hash of the password, not the password).
    c.key += "|proxy=" + proxy->host + ":" + std::to_string(proxy->port) + "|" + proxy->username + "|" +
             std::to_string(std::hash<std::string>{}(proxy->password));
  }
  if (t.scheme == "https") c.key += (o.verify_tls ? "|verify|" : "|noverify|") + o.ca_file;
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(c.key);
    if (it != idle_.end() && !it->second.empty()) {
      c.session = std::move(it->second.back().session);
      c.receive_timeout = it->second.back().receive_timeout;
      c.body_buffer = std::move(it->second.back().body_buffer);
      it->second.pop_back();
      c.reused = true;
    }
  }
  if (!c.session) {
    if (t.scheme == "https") {
      c.session.reset(reinterpret_cast<detail::NewTlsSession>(detail::tls_symbol(detail::kNewTlsSessionSymbol, "https://"))(t.host, t.port, o.verify_tls, o.ca_file));
    } else {
      c.session = std::make_unique<Poco::Net::HTTPClientSession>(t.host, t.port);
    }
    if (proxy) {
      // Poco's default is Basic authentication even without credentials
      // (it would send "Proxy-Authorization: Basic Og=="): none unless given.
      Poco::Net::HTTPClientSession::ProxyConfig config;
      config.host = proxy->host;
      config.port = proxy->port;
      config.username = proxy->username;
      config.password = proxy->password;
      config.authMethod = proxy->username.empty() ? Poco::Net::HTTPClientSession::PROXY_AUTH_NONE
                                                  : Poco::Net::HTTPClientSession::PROXY_AUTH_HTTP_BASIC;
      c.session->setProxyConfig(config);
    }
    c.session->setKeepAlive(true);
  }
  // Stored for the next connect (which applies it to the new socket); a
  // connected pooled socket gets it now unless it already has it.
  c.session->setTimeout(to_timespan(connect), to_timespan(read_timeout), to_timespan(read_timeout));
  if (c.session->connected()) c.set_receive_timeout(to_timespan(read_timeout));
  else c.receive_timeout = to_timespan(read_timeout);
  return c;
}

// Pools `c` when the response that `body` read to its end allows another request on it.
void ConnectionPool::release_after(Connection&& c, BodyReader& body, const Poco::Net::HTTPResponse& response) {
  if (!response.getKeepAlive() || !body.reusable() || !c.session || !c.session->connected()) return;
  std::lock_guard lock(mutex_);
  auto& list = idle_[c.key];
  if (list.size() < kMaxIdlePerHost)
    list.push_back(IdleSession{std::move(c.session), c.receive_timeout, body.take_buffer()});
}

std::size_t ConnectionPool::idle() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [key, list] : idle_) n += list.size();
  return n;
}

void ConnectionPool::clear() {
  std::lock_guard lock(mutex_);
  idle_.clear();
}

}  // namespace http

}  // namespace chainpp
