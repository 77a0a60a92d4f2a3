#include <chainpp/callbacks.hpp>
#include <chainpp/diagnostics.hpp>

#include <random>

namespace chainpp {

CallbackHandler::~CallbackHandler() = default;
void CallbackHandler::on_chain_start(const RunInfo&, const Value&) {}
void CallbackHandler::on_chain_end(const RunInfo&, const Value&) {}
void CallbackHandler::on_chain_error(const RunInfo&, const std::exception&) {}
void CallbackHandler::on_chat_model_start(const RunInfo&, const Messages&, const Json&) {}
void CallbackHandler::on_llm_new_token(const RunInfo&, const std::string&, const AIMessageChunk&) {}
void CallbackHandler::on_llm_end(const RunInfo&, const AIMessage&) {}
void CallbackHandler::on_llm_error(const RunInfo&, const std::exception&) {}
void CallbackHandler::on_retry(const RunInfo&, int, const std::exception&, double) {}
void CallbackHandler::on_rate_limit_status(const RunInfo&, const RateLimitStatus&) {}

namespace {

// Calls `fn` on each handler; a handler that throws is reported as a
// diagnostic and skipped, never failing the run.
template <class Fn>
void dispatch(const Callbacks& handlers, const char* event, Fn&& fn) {
  for (const auto& h : handlers) {
    if (!h) continue;
    try {
      fn(*h);
    } catch (const std::exception& e) {
      report_diagnostic({DiagnosticKind::handler_error, std::string("callback handler failed in ") + event + ": " +
                                                            e.what()});
    } catch (...) {
      report_diagnostic({DiagnosticKind::handler_error, std::string("callback handler failed in ") + event});
    }
  }
}

}  // namespace

void RunManager::chain_start(const Value& inputs) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_chain_start", [&](CallbackHandler& h) { h.on_chain_start(info_, inputs); });
}
void RunManager::chain_end(const Value& outputs) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_chain_end", [&](CallbackHandler& h) { h.on_chain_end(info_, outputs); });
}
void RunManager::chain_error(const std::exception& error) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_chain_error", [&](CallbackHandler& h) { h.on_chain_error(info_, error); });
}
void RunManager::chat_model_start(const Messages& messages, const Json& params) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_chat_model_start",
           [&](CallbackHandler& h) { h.on_chat_model_start(info_, messages, params); });
}
void RunManager::new_token(const std::string& token, const AIMessageChunk& chunk) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_llm_new_token", [&](CallbackHandler& h) { h.on_llm_new_token(info_, token, chunk); });
}
void RunManager::llm_end(const AIMessage& result) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_llm_end", [&](CallbackHandler& h) { h.on_llm_end(info_, result); });
}
void RunManager::llm_error(const std::exception& error) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_llm_error", [&](CallbackHandler& h) { h.on_llm_error(info_, error); });
}
void RunManager::retry(int attempt, const std::exception& error, double delay_seconds) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_retry", [&](CallbackHandler& h) { h.on_retry(info_, attempt, error, delay_seconds); });
}

void RunManager::rate_limit_status(const RateLimitStatus& status) const {
  if (handlers_.empty()) return;
  dispatch(handlers_, "on_rate_limit_status", [&](CallbackHandler& h) { h.on_rate_limit_status(info_, status); });
}

std::string new_uuid() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  // 8-4-4-4-12 lowercase hex digits, most significant first.
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (int i = 15; i >= 0; --i) {
    if (at == 8 || at == 13) ++at;
    out[at++] = hex[(hi >> (4 * i)) & 15];
  }
  for (int i = 15; i >= 0; --i) {
    if (at == 18 || at == 23) ++at;
    out[at++] = hex[(lo >> (4 * i)) & 15];
  }
  return out;
}

}  // namespace chainpp
