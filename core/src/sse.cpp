#include <chainpp/sse.hpp>

#include <climits>

#include <cstring>

namespace chainpp {

namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";

// The first CR or LF in [p, end), or end.
const char* find_eol(const char* p, const char* end) {
  const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  const char* limit = lf ? lf : end;
  const auto* cr = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(limit - p)));
  return cr ? cr : limit;
}

}  // namespace

SseParser::SseParser(std::int64_t max_event_bytes) : max_event_bytes_(max_event_bytes) {
  partial_.reserve(256);
  data_.reserve(256);
}

void SseParser::feed(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  // A leading UTF-8 BOM is dropped, even when it arrives a byte at a time.
  while (bom_matched_ < 3 && p != end) {
    if (*p == kBom[bom_matched_]) {
      ++bom_matched_;
      ++p;
      continue;
    }
    const int matched = bom_matched_;
    bom_matched_ = 3;
    if (matched > 0) feed_lines(kBom, kBom + matched);  // not a BOM after all: keep the bytes
  }
  if (p != end) feed_lines(p, end);
}

void SseParser::feed_lines(const char* p, const char* end) {
  if (done_ || exceeded_) return;
  if (skip_lf_ && p != end) {
    skip_lf_ = false;
    if (*p == '\n') ++p;
  }
  while (p != end && !done_ && !exceeded_) {
    const char* eol = find_eol(p, end);
    if (static_cast<std::int64_t>(partial_.size()) + (eol - p) > max_event_bytes_) {
      exceeded_ = "line";
      partial_.clear();
      return;
    }
    if (eol == end) {
      partial_.append(p, end);
      return;
    }
    if (partial_.empty()) {
      line(std::string_view(p, static_cast<std::size_t>(eol - p)));
    } else {
      partial_.append(p, eol);
      line(partial_);
      partial_.clear();
    }
    p = eol + 1;
    if (*eol == '\r') {
      if (p == end) {
        skip_lf_ = true;
      } else if (*p == '\n') {
        ++p;
      }
    }
  }
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') return;  // comment
  std::string_view field = text;
  std::string_view value;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (static_cast<std::int64_t>(data_.size() + value.size()) > max_event_bytes_) {
      exceeded_ = "event";
      return;
    }
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (value.empty()) return;
    long ms = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') return;
      if (ms > (LONG_MAX - (c - '0')) / 10) return;  // a value that does not fit is ignored
      ms = ms * 10 + (c - '0');
    }
    retry_ms_ = ms;
  }
  // Unknown fields are ignored.
}

void SseParser::dispatch() {
  if (!has_data_) {
    event_.clear();
    return;
  }
  data_.pop_back();  // the last "\n"
  if (data_ == "[DONE]") {
    done_ = true;
    partial_.clear();
  } else {
    if (head_ == count_) head_ = count_ = 0;  // all taken: reuse the slots from the start
    if (count_ == events_.size()) events_.emplace_back();
    SseEvent& e = events_[count_++];
    if (event_.empty()) e.event.assign("message");
    else e.event.assign(event_);
    e.data.swap(data_);  // data_ takes the slot's old buffer, cleared below
    e.id.assign(last_id_);
  }
  data_.clear();
  event_.clear();
  has_data_ = false;
}

std::optional<SseEvent> SseParser::next() {
  if (head_ == count_) return std::nullopt;
  return std::move(events_[head_++]);
}

const SseEvent* SseParser::next_event() {
  if (head_ == count_) return nullptr;
  return &events_[head_++];
}

bool SseParser::finish() {
  if (finished_) return done_;
  finished_ = true;
  // Lenient about a final "data: [DONE]" that lacks its blank line.
  if (!done_ && !partial_.empty()) {
    std::string last;
    last.swap(partial_);
    line(last);
  }
  if (!done_ && has_data_ && data_ == "[DONE]\n") done_ = true;
  partial_.clear();
  data_.clear();
  event_.clear();
  has_data_ = false;
  return done_;
}

}  // namespace chainpp

// ---------------------------------------------------------------- SseEventReader

namespace chainpp {

SseEventReader::SseEventReader(std::unique_ptr<HttpBodyStream> body, std::string provider,
                               std::int64_t max_event_bytes, std::string end)
    : body_(std::move(body)), provider_(std::move(provider)), max_event_bytes_(max_event_bytes),
      end_(std::move(end)), parser_(max_event_bytes), last_event_(std::chrono::steady_clock::now()) {}

void SseEventReader::finish() {
  unfed_ = {};
  if (ended_) return;
  while (body_->read_since_event(last_event_)) {
  }
  ended_ = true;
}

ProviderErrorInfo SseEventReader::stream_error_info() const {
  ProviderErrorInfo info;
  info.provider = provider_;
  info.status = body_->status();
  info.request_id = body_->request_id();
  info.attempts = body_->attempts();
  return info;
}

const SseEvent* SseEventReader::next() {
  for (;;) {
    if (const SseEvent* event = parser_.next_event()) {
      last_event_ = std::chrono::steady_clock::now();
      if (event->data.empty()) continue;
      ++events_;
      return event;
    }
    if (parser_.done()) {
      finish();  // the (empty) rest, so that the connection goes back to the pool
      return nullptr;
    }
    if (!unfed_.empty()) {
      // At most 4 KiB at a time: the parser keeps a slot (and its buffers)
      // per event of a piece, a few per stream rather than one per event of
      // a 64 KiB read.
      constexpr std::size_t kPiece = 4096;
      const std::string_view piece = unfed_.substr(0, kPiece);
      unfed_.remove_prefix(piece.size());
      parser_.feed(piece);
      if (const char* what = parser_.exceeded()) {
        body_->close();
        throw ResponseTooLargeError(std::string("a stream ") + what, "max_sse_event_bytes", max_event_bytes_,
                                    stream_error_info());
      }
      continue;
    }
    if (!ended_) {
      if (auto bytes = body_->read_since_event(last_event_)) {
        unfed_ = *bytes;
      } else {
        parser_.finish();
        ended_ = true;
      }
      continue;
    }
    ProviderErrorInfo info = stream_error_info();
    std::string message = provider_ + ": the stream ended without " + end_ + " after " + std::to_string(events_) +
                          (events_ == 1 ? " event" : " events") + " (truncated)";
    if (!info.request_id.empty()) message += " (request id " + info.request_id + ")";
    throw BadResponseError(message, info);
  }
}

}  // namespace chainpp
