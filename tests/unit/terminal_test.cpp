// escape_for_terminal: controls and invalid UTF-8 become visible escapes, valid
// UTF-8 text stays as it is.
#include <catch2/catch.hpp>
#include <chainpp/terminal.hpp>

#include <string>

using chainpp::escape_for_terminal;

TEST_CASE("escape_for_terminal: C0 controls, DEL and C1 controls are escaped") {
  CHECK(escape_for_terminal("\x1b[2J\x07\r\nfake line") == "\\u001b[2J\\u0007\\r\\nfake line");
  CHECK(escape_for_terminal(std::string("a\0b", 3)) == "a\\u0000b");
  CHECK(escape_for_terminal("\x01\x08\x0b\x0c\x1f\x7f\t") == "\\u0001\\u0008\\u000b\\u000c\\u001f\\u007f\\t");
  // C1 controls as UTF-8: U+0080, U+009B (CSI), U+009D (OSC), U+009F.
  CHECK(escape_for_terminal("\xc2\x80|\xc2\x9b" "31m|\xc2\x9d|\xc2\x9f") == "\\u0080|\\u009b31m|\\u009d|\\u009f");
}

TEST_CASE("escape_for_terminal: valid UTF-8 text is kept as it is") {
  const std::string text = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xc2\xa0\xc2\xa9 ~ \\x1b";
  CHECK(escape_for_terminal(text) == text);  // é 日本 😀 NBSP © and a literal backslash
  CHECK(escape_for_terminal("") == "");
}

TEST_CASE("escape_for_terminal: bytes that are not UTF-8 are escaped one by one") {
  CHECK(escape_for_terminal("a\x9b" "b") == "a\\x9bb");            // a lone continuation byte (8-bit CSI)
  CHECK(escape_for_terminal("\xff\xfe") == "\\xff\\xfe");
  CHECK(escape_for_terminal("\xc3") == "\\xc3");                   // truncated sequence at the end
  CHECK(escape_for_terminal("\xe6\x97z") == "\\xe6\\x97z");        // truncated sequence in the middle
  CHECK(escape_for_terminal("\xc0\xaf") == "\\xc0\\xaf");          // overlong '/'
  CHECK(escape_for_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  CHECK(escape_for_terminal("\xc3\xa9\xff\xc3\xa9") == "\xc3\xa9\\xff\xc3\xa9");
}

TEST_CASE("escape_for_terminal: keep_line_breaks keeps newline and tab only") {
  CHECK(escape_for_terminal("one\n\ttwo\r\x1b]0;title\x07", true) == "one\n\ttwo\\r\\u001b]0;title\\u0007");
}
