// The Responses API's stream: the finished Response object written as the
// typed server-sent events of the specification, in its order
// (response.created, response.in_progress, then per output item
// output_item.added, its parts and deltas, output_item.done, and last
// response.completed or response.incomplete), each `event: <type>` with a
// `data:` object that repeats the type and carries its sequence_number, and
// no [DONE]. Stream faults: slow-stream, reset-mid-stream and
// error-mid-stream (after 3 events), malformed-json (one event cut in half),
// no-done (the terminal event left out).
#include "handler.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace emulator {

using chainpp::Json;

namespace {

// The events of one stream, numbered as they are added.
struct Events {
  // Adds an event of `type` with `fields` after its type and sequence number.
  void add(const std::string& type, std::initializer_list<std::pair<const char*, Json>> fields) {
    Json data = Json::object();
    data.set("type", type);
    data.set("sequence_number", static_cast<long>(list_.size()));
    for (const auto& [key, value] : fields) data.set(key, value);
    list_.push_back({type, data.dump()});
  }
  struct Event {
    std::string type;
    std::string data;
  };
  std::vector<Event> list_;
};

// The response as the stream's first events show it: in progress, no output, no usage.
Json in_progress(Json response) {
  response.set("status", "in_progress");
  response.set("completed_at", nullptr);
  response.set("incomplete_details", nullptr);
  response.set("output", Json::array());
  response.set("usage", nullptr);
  return response;
}

// The events of output item `index` (reasoning, message or function_call).
void item_events(Events& events, const Json& item, long index) {
  const std::string type = item.value("type", "");
  const std::string item_id = item.value("id", "");
  Json added = item;
  if (type == "reasoning") {
    added.set("summary", Json::array());
  } else if (type == "message") {
    added.set("status", "in_progress");
    added.set("content", Json::array());
  } else if (type == "function_call") {
    added.set("status", "in_progress");
    added.set("arguments", "");
  }
  events.add("response.output_item.added", {{"output_index", index}, {"item", added}});
  if (type == "reasoning") {
    long k = 0;
    for (const auto& part : item.at("summary").as_array()) {
      const std::string text = part.value("text", "");
      events.add("response.reasoning_summary_part.added", {{"item_id", item_id},
                                                           {"output_index", index},
                                                           {"summary_index", k},
                                                           {"part", Json{{"type", "summary_text"}, {"text", ""}}}});
      for (const auto& piece : split_pieces(text))
        events.add("response.reasoning_summary_text.delta",
                   {{"item_id", item_id}, {"output_index", index}, {"summary_index", k}, {"delta", piece}});
      events.add("response.reasoning_summary_text.done",
                 {{"item_id", item_id}, {"output_index", index}, {"summary_index", k}, {"text", text}});
      events.add("response.reasoning_summary_part.done",
                 {{"item_id", item_id}, {"output_index", index}, {"summary_index", k}, {"part", part}});
      ++k;
    }
  } else if (type == "message") {
    long k = 0;
    for (const auto& part : item.at("content").as_array()) {
      const std::string text = part.value("text", "");
      events.add(
          "response.content_part.added",
          {{"item_id", item_id},
           {"output_index", index},
           {"content_index", k},
           {"part",
            Json{{"type", "output_text"}, {"text", ""}, {"annotations", Json::array()}, {"logprobs", Json::array()}}}});
      for (const auto& piece : split_pieces(text))
        events.add("response.output_text.delta", {{"item_id", item_id},
                                                  {"output_index", index},
                                                  {"content_index", k},
                                                  {"delta", piece},
                                                  {"logprobs", Json::array()}});
      events.add("response.output_text.done", {{"item_id", item_id},
                                               {"output_index", index},
                                               {"content_index", k},
                                               {"text", text},
                                               {"logprobs", Json::array()}});
      events.add("response.content_part.done",
                 {{"item_id", item_id}, {"output_index", index}, {"content_index", k}, {"part", part}});
      ++k;
    }
  } else if (type == "function_call") {
    const std::string arguments = item.value("arguments", "");
    for (std::size_t p = 0; p < arguments.size(); p += 8)
      events.add("response.function_call_arguments.delta",
                 {{"item_id", item_id}, {"output_index", index}, {"delta", arguments.substr(p, 8)}});
    events.add(
        "response.function_call_arguments.done",
        {{"item_id", item_id}, {"name", item.value("name", "")}, {"output_index", index}, {"arguments", arguments}});
  }
  events.add("response.output_item.done", {{"output_index", index}, {"item", item}});
}

}  // namespace

void Handler::stream_response(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
                              const Json& final, const std::vector<Fault>& faults) {
  const StreamFaults f = stream_faults(faults);

  Events events;
  const Json start = in_progress(final);
  events.add("response.created", {{"response", start}});
  events.add("response.in_progress", {{"response", start}});
  long index = 0;
  for (const auto& item : final.at("output").as_array()) item_events(events, item, index++);
  const bool completed = final.value("status", "") == "completed";
  if (!f.no_done) events.add(completed ? "response.completed" : "response.incomplete", {{"response", final}});
  if (f.malformed && events.list_.size() > 2) {
    auto& e = events.list_[events.list_.size() / 2].data;
    e = e.substr(0, e.size() / 2);
  }

  std::ostream& os = send_event_stream(response);
  const std::size_t cut_after = std::min<std::size_t>(3, events.list_.size());
  for (std::size_t i = 0; i < events.list_.size(); ++i) {
    if (f.reset && i == cut_after) {
      reset_connection(request);
      return;
    }
    if (f.error && i == cut_after) {
      // The specification's error event: no response, the stream ends after it.
      os << "event: error\ndata: "
         << Json{{"type", "error"},
                 {"sequence_number", static_cast<long>(i)},
                 {"code", "server_error"},
                 {"message", "The server had an error while processing your request. Sorry about that!"},
                 {"param", nullptr}}
                .dump()
         << "\n\n";
      os.flush();
      return;
    }
    if (f.slow_ms > 0 && i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.slow_ms));
    os << "event: " << events.list_[i].type << "\ndata: " << events.list_[i].data << "\n\n";
    os.flush();
  }
}

}  // namespace emulator
