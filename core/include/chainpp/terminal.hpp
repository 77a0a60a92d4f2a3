#pragma once
// Text from outside (a server's error message, a request id, a model's answer)
// made safe to print on a terminal: no byte of it can move the cursor, clear
// the screen, ring the bell, set the window title or forge a second line.
#include <chainpp/export.hpp>

#include <string>
#include <string_view>

namespace chainpp {

/// `text` with every byte a terminal could act on written as a visible escape,
/// and valid UTF-8 text ("é", "日本", emoji) kept as it is:
///
/// - newline, carriage return and tab as `\n`, `\r` and `\t`;
/// - every other C0 control (U+0000-U+001F), DEL (U+007F) and C1 control
///   (U+0080-U+009F, as UTF-8 C2 80-C2 9F) as `\u00XX` (ESC is `\u001b`);
/// - each byte that is not part of well-formed UTF-8 (see utf8_error_offset) as
///   `\xNN`.
///
/// Hex digits are lowercase. A backslash is kept as it is: the result is for
/// reading, not to be unescaped. With `keep_line_breaks`, newline and tab stay
/// as they are (text of several lines, such as a model's answer); by default
/// the result is one line.
///
///   escape_for_terminal("\x1b[2J\r\nfake") == "\\u001b[2J\\r\\nfake"
CHAINPP_API std::string escape_for_terminal(std::string_view text, bool keep_line_breaks = false);

}  // namespace chainpp
