// ResponsesStreamDecoder: the typed events of a Responses stream, each read
// through core's Json. Text and argument deltas become chunks as they
// arrive; everything else comes from the finished items
// (response.output_item.done) and the terminal event, read by the functions
// parse_response uses, so that the merged chunks equal invoke's message.
#include "responses_read.hpp"

#include <chainpp/errors.hpp>
#include <chainpp/http.hpp>

#include <algorithm>
#include <utility>
#include <vector>

namespace chainpp::openai_wire {

class ResponsesStreamDecoder::Impl {
public:
  Impl(ResponseShape shape, std::int64_t max_stream_bytes)
      : shape_(std::move(shape)), max_stream_bytes_(max_stream_bytes) {}

  AIMessageChunk decode(std::string_view data);
  bool finished_ = false;

private:
  // A function call announced by response.output_item.added.
  struct Call {
    std::int64_t output_index;
    std::string item_id;
    std::string args;  // the arguments so far
  };

  // The index (among the calls) of the call at `output_index` or with `item_id`; -1 if none.
  int call_at(std::int64_t output_index, const std::string& item_id) const;
  std::int64_t output_index(const Json& event, const std::string& type) const;
  // A tool-call chunk starting the function_call `item` at `index`.
  AIMessageChunk call_started(const Json& item, std::int64_t index, const std::string& where);
  // Adds to `chunk` what the finished `response` holds beyond the deltas
  // (the terminal event is authoritative): the rest of a text or of a call's
  // arguments the deltas began, and calls no event announced.
  void complete_from(const Json& response, AIMessageChunk& chunk);
  // Appends `args` to call `call` and to `chunk`.
  void add_args(int call, std::string args, AIMessageChunk& chunk);
  void count(std::size_t bytes);

  ResponseShape shape_;
  std::int64_t max_stream_bytes_;
  std::int64_t streamed_ = 0;
  std::vector<Call> calls_;
  std::vector<std::int64_t> done_items_;  // the output_index of each response.output_item.done
  std::string text_;  // the text so far, carried by a ContentFilterError
};

namespace {

const Json& member(const ResponseShape& shape, const Json& event, const char* key, Json::Type type,
                   const std::string& type_name, const char* expected) {
  const Json* v = event.find(key);
  if (!v || v->type() != type)
    bad_response(shape, type_name + " event: '" + key + "' is " + (v ? to_string(v->type()) : std::string("missing")) +
                            ", expected " + expected);
  return *v;
}

}  // namespace

int ResponsesStreamDecoder::Impl::call_at(std::int64_t output_index, const std::string& item_id) const {
  for (std::size_t i = 0; i < calls_.size(); ++i)
    if ((output_index >= 0 && calls_[i].output_index == output_index) ||
        (!item_id.empty() && calls_[i].item_id == item_id))
      return static_cast<int>(i);
  return -1;
}

std::int64_t ResponsesStreamDecoder::Impl::output_index(const Json& event, const std::string& type) const {
  const Json& index = member(shape_, event, "output_index", Json::Type::integer, type, "an integer");
  if (index.as_int() < 0) bad_response(shape_, type + " event: 'output_index' is " + index.dump() + ", expected >= 0");
  return index.as_int();
}

void ResponsesStreamDecoder::Impl::count(std::size_t bytes) {
  streamed_ += static_cast<std::int64_t>(bytes);
  if (streamed_ <= max_stream_bytes_) return;
  ProviderErrorInfo info = info_for(shape_);
  throw ResponseTooLargeError("streamed content (text and tool arguments)", "max_stream_bytes", max_stream_bytes_,
                              std::move(info));
}

AIMessageChunk ResponsesStreamDecoder::Impl::call_started(const Json& item, std::int64_t index, const std::string& where) {
  Call call{index, responses::string_member(shape_, item, "id", where), {}};
  ToolCallChunk piece;
  piece.index = static_cast<int>(calls_.size());
  piece.id = responses::string_member(shape_, item, "call_id", where);
  piece.name = responses::string_member(shape_, item, "name", where);
  if (std::string args = responses::string_member(shape_, item, "arguments", where); !args.empty()) {
    call.args = args;
    piece.args = std::move(args);
  }
  count(piece.id->size() + piece.name->size() + (piece.args ? piece.args->size() : 0));
  calls_.push_back(std::move(call));
  AIMessageChunk chunk;
  chunk.tool_call_chunks.push_back(std::move(piece));
  return chunk;
}

void ResponsesStreamDecoder::Impl::add_args(int call, std::string args, AIMessageChunk& chunk) {
  count(args.size());
  calls_[static_cast<std::size_t>(call)].args += args;
  chunk.tool_call_chunks.push_back(ToolCallChunk{std::nullopt, std::move(args), std::nullopt, call});
}

void ResponsesStreamDecoder::Impl::complete_from(const Json& response, AIMessageChunk& chunk) {
  const Json* output = response.find("output");
  if (!output || !output->is_array()) return;
  std::string text;
  std::size_t i = 0;
  for (const Json& item : output->as_array()) {
    const std::string where = "response.output[" + std::to_string(i++) + "]";
    if (!item.is_object()) bad_response(shape_, where + " is " + to_string(item.type()) + ", expected an object");
    responses::append_item_text(shape_, item, where, text);
    const auto position = static_cast<std::int64_t>(i - 1);
    if (std::find(done_items_.begin(), done_items_.end(), position) == done_items_.end())
      merge_metadata(chunk.response_metadata, responses::item_metadata(shape_, item, where));
    if (item.value("type", "") != "function_call") continue;
    // A call is found by its place in the output, or by its item id.
    const int call = call_at(position, responses::string_member(shape_, item, "id", where));
    if (call < 0) {
      AIMessageChunk started = call_started(item, position, where);
      for (ToolCallChunk& piece : started.tool_call_chunks) chunk.tool_call_chunks.push_back(std::move(piece));
      continue;
    }
    const std::string args = responses::string_member(shape_, item, "arguments", where);
    const std::string& so_far = calls_[static_cast<std::size_t>(call)].args;
    if (args.size() > so_far.size() && args.starts_with(so_far)) add_args(call, args.substr(so_far.size()), chunk);
  }
  if (text.size() > text_.size() && text.starts_with(text_)) {
    chunk.content = text.substr(text_.size());
    count(chunk.content.size());
    text_ = std::move(text);
  }
}

AIMessageChunk ResponsesStreamDecoder::Impl::decode(std::string_view data) {
  const Json event = parse_json(data, shape_);
  if (!event.is_object()) bad_response(shape_, "stream event is not a JSON object");
  const std::string type = responses::string_member(shape_, event, "type", "stream event");
  if (type.empty()) bad_response(shape_, "stream event has no type");
  AIMessageChunk chunk;

  if (type == "response.output_text.delta") {
    chunk.content = member(shape_, event, "delta", Json::Type::string, type, "a string").as_string();
    count(chunk.content.size());
    text_ += chunk.content;
  } else if (type == "response.function_call_arguments.delta") {
    const std::string& delta = member(shape_, event, "delta", Json::Type::string, type, "a string").as_string();
    const std::int64_t index = output_index(event, type);
    const int call = call_at(index, responses::string_member(shape_, event, "item_id", type));
    if (call < 0)
      bad_response(shape_, type + " event for output_index " + std::to_string(index) +
                               ", which no response.output_item.added announced as a function_call");
    add_args(call, delta, chunk);
  } else if (type == "response.output_item.added" || type == "response.output_item.done") {
    const Json& item = member(shape_, event, "item", Json::Type::object, type, "an object");
    const std::int64_t index = output_index(event, type);
    const std::string where = type + " item";
    if (item.value("type", "") == "function_call") {
      if (call_at(index, responses::string_member(shape_, item, "id", where)) < 0)
        chunk = call_started(item, index, where);  // (a done without its added: the whole call now)
    } else if (type == "response.output_item.done") {
      done_items_.push_back(index);
      chunk.response_metadata = responses::item_metadata(shape_, item, where);
      if (!chunk.response_metadata.empty()) count(data.size());
    }
  } else if (type == "response.reasoning_summary_text.delta" || type == "response.refusal.delta") {
    // Counted as they arrive; kept whole from the item's response.output_item.done.
    count(member(shape_, event, "delta", Json::Type::string, type, "a string").as_string().size());
  } else if (type == "response.completed" || type == "response.incomplete" || type == "response.failed") {
    Json response = member(shape_, event, "response", Json::Type::object, type, "an object");
    if (type == "response.failed") response.set("status", "failed");  // whatever its response says
    complete_from(response, chunk);
    responses::check_outcome(shape_, response, text_);
    merge_metadata(chunk.response_metadata, responses::final_metadata(shape_, response));
    chunk.usage_metadata = responses::usage_of(shape_, response);
    finished_ = true;
  } else if (type == "error") {
    std::rethrow_exception(make_stream_error(shape_.provider, event, shape_.request_id));
  }
  // Every other event (created, in_progress, content parts, built-in tool
  // progress, ...) adds nothing a message keeps.
  return chunk;
}

ResponsesStreamDecoder::ResponsesStreamDecoder(ResponseShape shape, std::int64_t max_stream_bytes)
    : impl_(std::make_unique<Impl>(std::move(shape), max_stream_bytes)) {}
ResponsesStreamDecoder::~ResponsesStreamDecoder() = default;
ResponsesStreamDecoder::ResponsesStreamDecoder(ResponsesStreamDecoder&&) noexcept = default;
ResponsesStreamDecoder& ResponsesStreamDecoder::operator=(ResponsesStreamDecoder&&) noexcept = default;
AIMessageChunk ResponsesStreamDecoder::decode(std::string_view data) { return impl_->decode(data); }
bool ResponsesStreamDecoder::finished() const { return impl_->finished_; }

}  // namespace chainpp::openai_wire
