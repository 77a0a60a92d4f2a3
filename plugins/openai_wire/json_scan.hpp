#pragma once
// A validating pull scanner over JSON text, for the hot paths of response
// parsing (stream events and completions): the caller reads the values it
// wants in document order and skips the others, and nothing is built for a
// skipped value.
//
// It handles the common cases only and gives up (a method returns false) on
// anything else: numbers with a fraction or an exponent when they are to be
// built, integers beyond 18 digits, NaN/Infinity, \u0000 and lone surrogate
// escapes, nesting deeper than kMaxDepth. It also gives up on any syntax
// error. The caller then parses the text with the general parser, which
// gives the result or the error message. It never accepts text the general
// parser refuses (strings with bytes beyond ASCII are checked to be UTF-8;
// such bytes elsewhere are a syntax error).
#include <chainpp/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <string>
#include <string_view>

namespace chainpp::openai_wire {

static_assert(std::endian::native == std::endian::little, "JsonScan reads eight bytes at a time, first byte lowest");

class JsonScan {
public:
  static constexpr int kMaxDepth = 64;
  /// Members of one object built here; more: the general parser builds it.
  static constexpr std::size_t kMaxMembers = 64;

  /// `scratch` holds object members while they are read (reused across
  /// scans, so that each object built is allocated once, at its size).
  JsonScan(std::string_view text, JsonObject& scratch)
      : p_(text.data()), end_(text.data() + text.size()), scratch_(scratch) {}

  /// The first byte of the next token (after whitespace), or '\0' at the end.
  char peek() {
    if (p_ < end_ && !space(*p_)) return *p_;  // compact JSON: no whitespace
    skip_space();
    return p_ < end_ ? *p_ : '\0';
  }

  /// Consumes `c` when it is the next token.
  bool consume(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    if (peek() != c) return false;
    ++p_;
    return true;
  }

  /// Consumes the next value when its text is exactly `text` (a value this
  /// scanner accepted before, so it is valid).
  bool match(std::string_view text) {
    peek();
    if (text.empty() || static_cast<std::size_t>(end_ - p_) < text.size() ||
        std::memcmp(p_, text.data(), text.size()) != 0)
      return false;
    p_ += text.size();
    return true;
  }

  /// Where the scanner is in the text.
  const char* position() const { return p_; }

  /// True when only whitespace is left.
  bool at_end() {
    skip_space();
    return p_ == end_;
  }

  /// A string; `out` views the text, or storage of this scanner when the string had escapes.
  bool string(std::string_view& out) {
    if (!consume('"')) return false;
    const char* start = p_;
    // Every byte read, OR-ed (with some after the string's end: harmless):
    // bit 7 set when one may be beyond ASCII, and the string is checked.
    std::uint64_t seen = 0;
    // Eight bytes at a time up to the first quote, backslash or control character.
    for (std::uint64_t word; end_ - p_ >= 8; p_ += 8) {
      std::memcpy(&word, p_, sizeof word);
      seen |= word;
      if (const std::uint64_t special = special_bytes(word)) {
        p_ += std::countr_zero(special) / 8;
        break;
      }
    }
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return !(seen & 0x8080808080808080u) || utf8_error_offset(out) == std::string_view::npos;
      }
      if (c == '\\') return escaped_string(start, out);
      if (c < 0x20) return false;
      seen |= c;
      ++p_;
    }
    return false;
  }

  /// An object member's name and the colon after it.
  bool key(std::string_view& out) { return string(out) && consume(':'); }

  /// Any value, checked and not built.
  bool skip(int depth = 0) {
    switch (peek()) {
      case '"': {
        std::string_view s;
        return string(s);
      }
      case '{':
      case '[': {
        const bool object = *p_ == '{';
        ++p_;
        if (depth >= kMaxDepth) return false;
        if (consume(object ? '}' : ']')) return true;
        do {
          if (object) {
            std::string_view k;
            if (!key(k)) return false;
          }
          if (!skip(depth + 1)) return false;
        } while (consume(','));
        return consume(object ? '}' : ']');
      }
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number(nullptr);
    }
  }

  /// Any value, built as chainpp::Json (as the general parser builds it).
  bool value(Json& out, int depth = 0) {
    switch (peek()) {
      case '"': {
        std::string_view s;
        if (!string(s)) return false;
        out = Json(s);
        return true;
      }
      case '{': {
        ++p_;
        if (depth >= kMaxDepth) return false;
        const std::size_t first = scratch_.size();  // this object's members are scratch_[first, ...)
        if (!consume('}')) {
          do {
            std::string_view k;
            if (!key(k)) return false;
            Json v;  // built apart: nested objects grow scratch_
            if (!value(v, depth + 1)) return false;
            // A repeated name keeps its place and takes the last value, as
            // the general parser (and JavaScript's and Python's) does; the
            // check is linear, so larger objects go to the general parser.
            if (scratch_.size() - first >= kMaxMembers) return false;
            auto same = std::find_if(scratch_.begin() + static_cast<std::ptrdiff_t>(first), scratch_.end(),
                                     [&](const auto& member) { return member.first == k; });
            if (same != scratch_.end()) same->second = std::move(v);
            else scratch_.emplace_back(std::piecewise_construct, std::forward_as_tuple(k), std::forward_as_tuple(std::move(v)));
          } while (consume(','));
          if (!consume('}')) return false;
        }
        const auto begin = scratch_.begin() + static_cast<std::ptrdiff_t>(first);
        out = Json(JsonObject(std::make_move_iterator(begin), std::make_move_iterator(scratch_.end())));
        scratch_.erase(begin, scratch_.end());
        return true;
      }
      case '[': {
        ++p_;
        if (depth >= kMaxDepth) return false;
        JsonArray items;
        if (!consume(']')) {
          do {
            if (!value(items.emplace_back(), depth + 1)) return false;
          } while (consume(','));
          if (!consume(']')) return false;
        }
        out = Json(std::move(items));
        return true;
      }
      case 't': return literal("true") && (out = Json(true), true);
      case 'f': return literal("false") && (out = Json(false), true);
      case 'n': return literal("null") && (out = Json(), true);
      default: {
        long long i = 0;
        return number(&i) && (out = Json(i), true);
      }
    }
  }

private:
  // A mask with bit 7 set in the byte of `word` (little-endian) that is the
  // first quote, backslash or control character (bytes after it may be set
  // too); zero when there is none.
  static std::uint64_t special_bytes(std::uint64_t word) {
    constexpr std::uint64_t ones = 0x0101010101010101u;
    constexpr std::uint64_t high = 0x8080808080808080u;
    const auto below = [](std::uint64_t w, std::uint64_t n) { return (w - ones * n) & ~w & high; };
    return below(word, 0x20) | below(word ^ (ones * '"'), 1) | below(word ^ (ones * '\\'), 1);
  }

  static bool space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
  void skip_space() {
    while (p_ < end_ && space(*p_)) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // A JSON number. With `integer`, only an integer of at most 18 digits is
  // accepted and its value stored; without, any number is checked and skipped.
  bool number(long long* integer) {
    const char* start = p_;
    const bool minus = p_ < end_ && *p_ == '-';
    if (minus) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    const char* digits = p_;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && digit(*p_)) ++p_;
    }
    const char* digits_end = p_;
    bool fraction_or_exponent = false;
    bool exponent = false;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
      fraction_or_exponent = true;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ < end_ && digit(*p_)) ++p_;
      fraction_or_exponent = true;
      exponent = true;
    }
    if (!integer) return within_double(start, exponent, digits_end - digits);
    if (fraction_or_exponent || digits_end - digits > 18) return false;
    long long v = 0;
    for (const char* d = digits; d < digits_end; ++d) v = v * 10 + (*d - '0');
    *integer = minus ? -v : v;
    return true;
  }

  // Whether the number [start, p_) that is skipped is one Json::parse reads:
  // it refuses a magnitude past a double's ("Number too big to be stored in
  // double"), so the scanner leaves such a body to the general path. Only a
  // number with an exponent or hundreds of digits can be that large.
  bool within_double(const char* start, bool exponent, std::ptrdiff_t integer_digits) const {
    if (!exponent && integer_digits <= 300) return true;
    const std::string text(start, p_);
    return std::isfinite(std::strtod(text.c_str(), nullptr));
  }

  static bool hex4(const char* p, unsigned& out) {
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = p[i];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<unsigned>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void append_utf8(std::string& s, unsigned cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // The rest of a string from its first backslash (p_), unescaped into storage.
  bool escaped_string(const char* start, std::string_view& out) {
    std::string& s = unescaped_.emplace_front(start, p_);
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = s;
        return utf8_error_offset(s) == std::string_view::npos;  // escapes give UTF-8: the raw bytes decide
      }
      if (c < 0x20) return false;
      if (c != '\\') {
        s += static_cast<char>(c);
        ++p_;
        continue;
      }
      if (end_ - p_ < 2) return false;
      const char e = p_[1];
      p_ += 2;
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          unsigned cp = 0;
          if (end_ - p_ < 4 || !hex4(p_, cp)) return false;
          p_ += 4;
          if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return false;  // NUL, a lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: its low half must follow
            unsigned low = 0;
            if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u' || !hex4(p_ + 2, low) || low < 0xDC00 ||
                low > 0xDFFF)
              return false;
            p_ += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(s, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  const char* p_;
  const char* end_;
  JsonObject& scratch_;
  std::forward_list<std::string> unescaped_;  // stable addresses (views of them stay valid), nothing allocated when empty
};

}  // namespace chainpp::openai_wire
