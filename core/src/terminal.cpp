#include <chainpp/json.hpp>
#include <chainpp/terminal.hpp>

namespace chainpp {

namespace {

constexpr char hex[] = "0123456789abcdef";

void append_escape(std::string& out, const char* prefix, unsigned value) {
  out += prefix;
  out += hex[(value >> 4) & 0xf];
  out += hex[value & 0xf];
}

}  // namespace

std::string escape_for_terminal(std::string_view text, bool keep_line_breaks) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t bad = utf8_error_offset(text);
    const std::string_view valid = text.substr(0, bad);
    for (std::size_t i = 0; i < valid.size(); ++i) {
      const auto c = static_cast<unsigned char>(valid[i]);
      if (c == '\n' || c == '\t') {
        if (keep_line_breaks) out += static_cast<char>(c);
        else out += c == '\n' ? "\\n" : "\\t";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c < 0x20 || c == 0x7f) {
        append_escape(out, "\\u00", c);
      } else if (c == 0xc2 && i + 1 < valid.size() && static_cast<unsigned char>(valid[i + 1]) <= 0x9f) {
        append_escape(out, "\\u00", static_cast<unsigned char>(valid[++i]));  // C1: C2 80..C2 9F
      } else {
        out += static_cast<char>(c);
      }
    }
    if (bad == std::string_view::npos) break;
    append_escape(out, "\\x", static_cast<unsigned char>(text[bad]));
    text.remove_prefix(bad + 1);
  }
  return out;
}

}  // namespace chainpp
