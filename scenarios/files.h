// scenarios/files.h: reading what users give kasim and writing what kasim
// keeps, so that no input can crash or hang it and no result is half-written.
//
// Inputs (scenarios, traces) are regular files of bounded size, parsed as
// strict JSON: no NUL byte, bounded nesting, no duplicate key, every number
// representable. Every problem is a ScenarioError naming the file (exit 2).
//
// Outputs are written to a temporary name beside the target and renamed over
// it once complete; a write that fails leaves the old file (or none), never
// a partial one, and throws OutputError saying what was lost (exit 3).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace kasim::scn {

// The largest input file kasim reads. Scenarios are a few kilobytes and
// traces a few megabytes; anything larger is refused before it is read.
inline constexpr uint64_t kMaxInputBytes = 64ULL << 20;
// The deepest nesting of arrays and objects an input may have. Scenarios
// nest about six levels; the bound keeps every recursive walk of a document
// (copy, validation, dump) far from the stack's end.
inline constexpr int kMaxJsonDepth = 64;

// The contents of `path`: refuses what is not a regular file (a directory,
// /dev/zero, a FIFO) and anything over kMaxInputBytes, with one line naming
// the file and the reason.
std::string read_input_file(const std::string& path);

// Parses `text` strictly; `file` names it in messages. Throws ScenarioError.
nlohmann::json parse_json_strict(const std::string& text, const std::string& file);

// A result file could not be written; what() says which and why.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes `content` to `path` through a temporary file and a rename; throws
// OutputError (with the errno text) if any write, close or rename fails.
void write_file_atomic(const std::string& path, const std::string& content);

// JSON as kasim writes it: indented (or one line with indent < 0), and with
// any invalid UTF-8 (a name NetBSD cut inside a character) replaced by U+FFFD
// instead of throwing.
std::string dump_json(const nlohmann::json& j, int indent = 2);

// A line for a terminal: control characters (a NUL in a JSON key, say) as
// \u escapes, so a message is never cut or garbled.
std::string printable(const std::string& s);

}  // namespace kasim::scn
