// Response bodies: Content-Length, chunked and close-delimited framing,
// read straight from the session in reads of up to 64 KiB.
#include "http/transport.hpp"

#include <algorithm>
#include <cstring>

namespace chainpp::http {

namespace {

// Poco keeps HTTPSession::read protected. It returns the bytes the session
// buffered (with the response headers) first, then reads the socket with the
// caller's length; HTTPS sessions override it.
struct SessionAccess : Poco::Net::HTTPClientSession {
  static int read_from(Poco::Net::HTTPSession& session, char* buffer, std::streamsize length) {
    int (Poco::Net::HTTPSession::*read_member)(char*, std::streamsize) = &SessionAccess::read;
    return (session.*read_member)(buffer, length);
  }
  // Bytes the session holds that were not read yet.
  static int unread(const Poco::Net::HTTPSession& session) {
    int (Poco::Net::HTTPSession::*buffered_member)() const = &SessionAccess::buffered;
    return (session.*buffered_member)();
  }
};

}  // namespace

BodyReader::BodyReader(Connection& connection, const Poco::Net::HTTPResponse& response, const std::string& method)
    : session_(connection.session.get()), buf_(std::move(connection.body_buffer)) {
  const int status = static_cast<int>(response.getStatus());
  if (method == "HEAD" || status < 200 || status == 204 || status == 304) {
    state_ = State::done;
  } else if (response.getChunkedTransferEncoding()) {
    state_ = State::chunk_size;
  } else if (response.hasContentLength() &&
             response.getContentLength64() != Poco::Net::HTTPMessage::UNKNOWN_CONTENT_LENGTH) {
    expected_ = response.getContentLength64();
    left_ = expected_;
    state_ = left_ > 0 ? State::data : State::done;
  } else {
    state_ = State::until_close;
  }
}

std::optional<std::string_view> BodyReader::next() {
  for (;;) {
    switch (state_) {
      case State::done: return std::nullopt;
      case State::data:
      case State::until_close: {
        if (state_ == State::data && left_ == 0) {
          state_ = expected_ >= 0 ? State::done : State::chunk_end;
          continue;
        }
        if (pos_ == end_ && !fill()) {
          if (state_ == State::until_close) {
            state_ = State::done;
            closed_ = true;
            return std::nullopt;
          }
          throw BodyError(expected_ >= 0 ? "connection closed after " + std::to_string(received_) + " of " +
                                               std::to_string(expected_) + " body bytes"
                                         : "connection closed in the middle of a chunk, after " +
                                               std::to_string(received_) + " body bytes",
                          false);
        }
        auto n = end_ - pos_;
        if (state_ == State::data && static_cast<std::int64_t>(n) > left_) n = static_cast<std::size_t>(left_);
        const std::string_view piece(buf_.get() + pos_, n);
        pos_ += n;
        left_ -= static_cast<std::int64_t>(n);
        received_ += static_cast<std::int64_t>(n);
        return piece;
      }
      case State::chunk_size: {
        const std::string_view l = line();
        std::size_t i = 0;
        std::int64_t size = 0;
        for (; i < l.size(); ++i) {
          const char c = l[i];
          const int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
          if (d < 0) break;
          if (size > (std::int64_t{1} << 56)) throw BodyError("chunk size too large in a chunked body", true);
          size = size * 16 + d;
        }
        if (i == 0 || (i < l.size() && l[i] != ';' && l[i] != ' ' && l[i] != '\t'))
          throw BodyError("invalid chunk size line in a chunked body", true);
        left_ = size;
        state_ = size > 0 ? State::data : State::trailers;
        continue;
      }
      case State::chunk_end:
        if (!line().empty()) throw BodyError("no line break after a chunk of a chunked body", true);
        state_ = State::chunk_size;
        continue;
      case State::trailers:
        if (line().empty()) state_ = State::done;
        continue;
    }
  }
}

std::optional<std::string> BodyReader::read_all(const Poco::Net::HTTPResponse& response, std::int64_t max_bytes) {
  if (expected_ > max_bytes) return std::nullopt;  // refused before a byte of it is read
  std::string out;
  if (response.hasContentLength() && response.getContentLength64() > 0)  // not more than a MiB before it arrives
    out.reserve(static_cast<std::size_t>(std::min<Poco::Int64>(response.getContentLength64(), 1 << 20)));
  while (const auto piece = next()) {
    if (static_cast<std::int64_t>(out.size() + piece->size()) > max_bytes) return std::nullopt;
    out.append(*piece);
  }
  return out;
}

std::string read_whole_body(BodyReader& body, const Poco::Net::HTTPResponse& response, const std::string& provider,
                            const TransportOptions& options, int attempts) {
  auto out = body.read_all(response, options.max_response_bytes);
  if (out) return std::move(*out);
  ProviderErrorInfo info;
  info.provider = provider_name(provider);
  info.status = static_cast<int>(response.getStatus());
  info.attempts = attempts;
  info.request_id = request_id_of(headers_of(response));
  std::string what = info.status >= 200 && info.status < 300 ? "response body"
                                                              : "HTTP " + std::to_string(info.status) + " error body";
  if (body.expected() > options.max_response_bytes)
    what += " of " + std::to_string(body.expected()) + " bytes (Content-Length)";
  throw ResponseTooLargeError(what, "max_response_bytes", options.max_response_bytes, std::move(info));
}

bool BodyReader::reusable() const {
  return state_ == State::done && !closed_ && pos_ == end_ && SessionAccess::unread(*session_) == 0;
}

// Reads more bytes after end_; false at the end of the connection.
bool BodyReader::fill() {
  if (!buf_) buf_ = std::make_unique_for_overwrite<char[]>(kCapacity);
  if (pos_ == end_) pos_ = end_ = 0;
  const int n = SessionAccess::read_from(*session_, buf_.get() + end_, static_cast<std::streamsize>(kCapacity - end_));
  if (n <= 0) return false;
  end_ += static_cast<std::size_t>(n);
  return true;
}

// A line of the chunked framing (a chunk size, the end of a chunk, a
// trailer), without its CRLF (or LF).
std::string_view BodyReader::line() {
  for (;;) {
    const char* begin = buf_ ? buf_.get() + pos_ : nullptr;
    const void* nl = begin ? std::memchr(begin, '\n', end_ - pos_) : nullptr;
    const std::size_t length = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin) : end_ - pos_;
    if (length >= kMaxLine)
      throw BodyError("a line of the chunked framing longer than " + std::to_string(kMaxLine) + " bytes", true);
    if (nl) {
      std::string_view l(begin, length);
      pos_ += length + 1;
      if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
      return l;
    }
    if (pos_ > 0) {  // keep the partial line at the start of the buffer
      std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
      end_ -= pos_;
      pos_ = 0;
    }
    if (!fill())
      throw BodyError("connection closed before the end of a chunked body, after " + std::to_string(received_) +
                          " body bytes",
                      false);
  }
}

}  // namespace chainpp::http
