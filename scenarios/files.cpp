#include "scenarios/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "scenarios/scenario.h"

namespace kasim::scn {

using nlohmann::json;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// Closes a descriptor on every path out of a scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// nlohmann's messages start with "[json.exception.parse_error.101] ".
std::string without_exception_tag(const std::string& what) {
  const auto pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

// "line L, column C" of byte `offset` in `text`.
std::string where_in_text(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The parser's callback sees the document as a stream of events; this keeps
// the path to the current value so that a problem can name its JSON Pointer.
// The parser copies its callback, so the path lives outside it (`frames`)
// where the caller can still read it when the parser throws.
class StrictChecker {
 public:
  struct Frame {
    bool object = false;
    std::set<std::string> keys;
    std::string key;   // object: the member being parsed
    size_t index = 0;  // array: the element being parsed
  };

  StrictChecker(std::string file, std::vector<Frame>* frames)
      : file_(std::move(file)), frames_(frames) {}

  // The JSON Pointer of the value being parsed.
  static std::string pointer(const std::vector<Frame>& frames) {
    json::json_pointer p;  // escapes "~" and "/" in keys (RFC 6901)
    for (const Frame& f : frames) {
      if (f.object)
        p /= f.key;
      else
        p /= f.index;
    }
    return p.to_string();
  }

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (frames_->size() >= static_cast<size_t>(kMaxJsonDepth))
          fail("nested more than " + std::to_string(kMaxJsonDepth) + " arrays and objects deep");
        frames_->push_back({event == json::parse_event_t::object_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = frames_->back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          fail("duplicate key (JSON would silently keep only the last)");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_->pop_back();
        next_element();
        break;
      case json::parse_event_t::value:
        next_element();
        break;
    }
    return true;
  }

 private:
  void next_element() {
    if (!frames_->empty() && !frames_->back().object) ++frames_->back().index;
  }

  [[noreturn]] void fail(const std::string& why) const {
    const std::string ptr = pointer(*frames_);
    throw ScenarioError({file_ + ": " + (ptr.empty() ? "" : ptr + ": ") + why});
  }

  std::string file_;
  std::vector<Frame>* frames_;
};

}  // namespace

std::string read_input_file(const std::string& path) {
  auto refuse = [&](const std::string& why) -> ScenarioError {
    return ScenarioError({path + ": " + why});
  };
  Fd f;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
  f.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f.fd < 0) throw refuse("cannot read the file: " + errno_text(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw refuse("cannot read the file: " + errno_text(errno));
  if (S_ISDIR(st.st_mode)) throw refuse("is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw refuse("is not a regular file (a device, FIFO or socket)");
  if (static_cast<uint64_t>(st.st_size) > kMaxInputBytes)
    throw refuse("is " + std::to_string(st.st_size) + " bytes; kasim reads files of at most " +
                 std::to_string(kMaxInputBytes) + " bytes");
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw refuse("cannot read the file: " + errno_text(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxInputBytes)  // it grew while being read
      throw refuse("grew past " + std::to_string(kMaxInputBytes) + " bytes while being read");
  }
  return text;
}

json parse_json_strict(const std::string& text, const std::string& file) {
  // nlohmann's lexer takes a NUL byte for the end of the input and would
  // accept whatever follows it.
  if (const size_t nul = text.find('\0'); nul != std::string::npos)
    throw ScenarioError({file + ": a NUL byte at " + where_in_text(text, nul) +
                         " (a JSON text has none)"});
  std::vector<StrictChecker::Frame> frames;
  try {
    return json::parse(text, StrictChecker(file, &frames));
  } catch (const json::parse_error& e) {
    // nlohmann names the line and column.
    throw ScenarioError({file + ": " + without_exception_tag(e.what())});
  } catch (const json::exception& e) {
    // out_of_range for a number no double holds (1e400): name where it is.
    const std::string ptr = StrictChecker::pointer(frames);
    throw ScenarioError({file + ": " + (ptr.empty() ? "" : ptr + ": ") +
                         without_exception_tag(e.what())});
  }
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  auto fail = [&](int e) {
    ::unlink(tmp.c_str());
    throw OutputError("cannot write " + path + ": " + errno_text(e));
  };
  Fd f;
  f.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f.fd < 0) throw OutputError("cannot write " + path + ": " + errno_text(errno));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    done += static_cast<size_t>(n);
  }
  const int fd = f.fd;
  f.fd = -1;
  if (::close(fd) != 0) fail(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(errno);
}

std::string dump_json(const json& j, int indent) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace kasim::scn
