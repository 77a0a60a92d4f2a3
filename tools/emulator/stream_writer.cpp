// The stream writer: a streamed answer as server-sent events of
// chat.completion.chunk objects (Azure's prompt filter results first, the
// asynchronous filter's annotations, usage last when asked for, then
// [DONE]), with the stream faults: slow-stream, reset-mid-stream,
// error-mid-stream, malformed-json and no-done.
#include "handler.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

namespace emulator {

using chainpp::Json;

std::ostream& Handler::send_event_stream(Poco::Net::HTTPServerResponse& response) {
  status_ = 200;
  set_common_headers(response);
  response.setContentType("text/event-stream; charset=utf-8");
  response.setChunkedTransferEncoding(true);
  return response.send();
}

void Handler::stream_completion(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                                const Json& req, const Completion& c, const std::vector<Fault>& faults) {
  const StreamFaults sf = stream_faults(faults);
  const long slow_ms = sf.slow_ms;
  const bool mid_reset = sf.reset, malformed = sf.malformed, no_done = sf.no_done, mid_error = sf.error;
  const bool include_usage = [&] {
    const Json* so = req.find("stream_options");
    return so && so->is_object() && so->value("include_usage", false);
  }();
  const bool azure = dialect_ == Dialect::azure;
  const long created = static_cast<long>(std::time(nullptr));
  const std::string id = completion_id();

  std::vector<std::string> events;
  auto chunk = [&](Json choices, bool with_usage_null = true) {
    Json ch = Json::object();
    ch.set("choices", std::move(choices));
    ch.set("created", created);
    ch.set("id", id);
    ch.set("model", model_name());
    ch.set("object", "chat.completion.chunk");
    ch.set("system_fingerprint", fingerprint());
    if (with_usage_null && (azure || include_usage)) ch.set("usage", nullptr);
    events.push_back(ch.dump());
  };
  long current_index = 0;  // the choice being streamed (n > 1 streams the choices one after another)
  auto choice = [&](Json delta, Json finish, const Json& filters, Json logprobs = Json()) {
    Json ch = Json::object();
    if (azure) ch.set("content_filter_results", filters);
    ch.set("delta", std::move(delta));
    ch.set("finish_reason", std::move(finish));
    ch.set("index", current_index);
    ch.set("logprobs", std::move(logprobs));
    return Json::array({ch});
  };

  if (azure) {
    events.push_back(Json{{"choices", Json::array()},
                          {"created", 0},
                          {"id", ""},
                          {"model", ""},
                          {"object", ""},
                          {"prompt_filter_results", prompt_filter_results(!deployment_->legacy())}}
                         .dump());
  }
  const long n = std::max<std::int64_t>(1, req.value("n", std::int64_t{1}));
  const auto pieces = c.content ? split_pieces(*c.content) : std::vector<std::string>{};
  const bool async = azure && deployment_->async_filter;
  std::size_t sent_bytes = 0;
  std::size_t checked_bytes = 0;
  // An annotation chunk of the asynchronous filter: results for content bytes [start, end).
  auto annotation = [&](const Json& filters, std::size_t start, std::size_t end) {
    Json ch = Json::object();
    ch.set("content_filter_offsets", Json{{"check_offset", static_cast<long>(start)},
                                          {"start_offset", static_cast<long>(start)},
                                          {"end_offset", static_cast<long>(end)}});
    ch.set("content_filter_results", filters);
    ch.set("finish_reason", nullptr);
    ch.set("index", current_index);
    events.push_back(Json{{"choices", Json::array({ch})}, {"created", 0}, {"id", ""}, {"model", ""}, {"object", ""}}.dump());
  };
  for (current_index = 0; current_index < n; ++current_index) {
    sent_bytes = 0;
    checked_bytes = 0;
    Json first_delta{{"content", c.tool_calls.empty() ? Json("") : Json()}, {"refusal", nullptr}, {"role", "assistant"}};
    chunk(choice(first_delta, Json(), Json::object()));
    if (c.tool_calls.empty()) {
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        const bool last = i + 1 == pieces.size();
        // Buffered (Azure's default): every segment sent passed the filter; the flagged one
        // is withheld and its verdict comes with the finish chunk. Asynchronous: the last
        // segment sent is the flagged one, annotated after the finish chunk.
        const Json filters = filter_results(async && last ? c.filtered_category : std::string());
        chunk(choice(Json{{"content", pieces[i]}}, Json(), async ? Json::object() : filters,
                     logprobs_json(req, std::vector<std::string>{pieces[i]}, i)));
        sent_bytes += pieces[i].size();
        if (async && i % 2 == 1 && !last) {
          annotation(filters, checked_bytes, sent_bytes);
          checked_bytes = sent_bytes;
        }
      }
    } else {
      for (std::size_t t = 0; t < c.tool_calls.size(); ++t) {
        const auto& call = c.tool_calls[t];
        chunk(choice(Json{{"tool_calls", Json::array({Json{{"function", Json{{"arguments", ""}, {"name", call.name}}},
                                                            {"id", call.id},
                                                            {"index", static_cast<long>(t)},
                                                            {"type", "function"}}})}},
                     Json(), Json::object()));
        for (std::size_t p = 0; p < call.arguments.size(); p += 8) {
          chunk(choice(Json{{"tool_calls", Json::array({Json{{"function", Json{{"arguments", call.arguments.substr(p, 8)}}},
                                                              {"index", static_cast<long>(t)}}})}},
                       Json(), Json::object()));
        }
      }
    }
    chunk(choice(Json::object(), Json(c.finish_reason),
                 !async && !c.filtered_category.empty() ? filter_results(c.filtered_category) : Json::object()));
    // The asynchronous filter's last annotation arrives after the finish chunk.
    if (async && c.tool_calls.empty() && checked_bytes < sent_bytes)
      annotation(filter_results(c.filtered_category), checked_bytes, sent_bytes);
  }
  if (include_usage) {
    Json ch = Json::object();
    ch.set("choices", Json::array());
    ch.set("created", created);
    ch.set("id", id);
    ch.set("model", model_name());
    ch.set("object", "chat.completion.chunk");
    ch.set("system_fingerprint", fingerprint());
    ch.set("usage", usage_json(c));
    events.push_back(ch.dump());
  }
  if (malformed && events.size() > 2) {
    auto& e = events[events.size() / 2];
    e = e.substr(0, e.size() / 2);
  }

  std::ostream& os = send_event_stream(response);
  const std::size_t reset_after = std::min<std::size_t>(3, events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (mid_reset && i == reset_after) {
      reset_connection(request);
      return;
    }
    if (mid_error && i == reset_after) {
      // The service reports a failure mid-stream as an event with a top-level "error".
      os << "data: "
         << Json{{"error", Json{{"code", "server_error"},
                                {"message", "The server had an error while processing your request. Sorry about that!"}}}}
                .dump()
         << "\n\n";
      os.flush();
      return;
    }
    if (slow_ms > 0 && i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
    os << "data: " << events[i] << "\n\n";
    os.flush();
  }
  if (!no_done) os << "data: [DONE]\n\n";
  os.flush();
}

}  // namespace emulator
