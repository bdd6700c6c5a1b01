#include "sim/ipl.h"

#include <array>

namespace kasim {

namespace {
constexpr std::array<std::string_view, kIplCount> kIplNames = {
    "IPL_NONE", "IPL_SOFTCLOCK", "IPL_SOFTBIO", "IPL_SOFTNET",
    "IPL_SOFTSERIAL", "IPL_VM", "IPL_SCHED", "IPL_HIGH"};
}

std::string_view ipl_name(ipl_t ipl) {
  if (ipl < 0 || ipl >= kIplCount) return "IPL_?";
  return kIplNames[static_cast<size_t>(ipl)];
}

std::optional<ipl_t> ipl_from_name(std::string_view name) {
  for (size_t i = 0; i < kIplNames.size(); ++i)
    if (kIplNames[i] == name) return static_cast<ipl_t>(i);
  return std::nullopt;
}

std::string_view errno_name(int err) {
  switch (err) {
    case 0: return "0";
    case kENOMEM: return "ENOMEM";
    case kEAGAIN: return "EAGAIN (EWOULDBLOCK)";  // one value in NetBSD
    case kEINVAL: return "EINVAL";
    case kEINTR: return "EINTR";
    case kERESTART: return "ERESTART";
    default: return "E?";
  }
}

std::optional<int> errno_from_name(std::string_view name) {
  if (name == "0") return 0;
  if (name == "ENOMEM") return kENOMEM;
  if (name == "EAGAIN") return kEAGAIN;
  if (name == "EWOULDBLOCK") return kEWOULDBLOCK;
  if (name == "EINVAL") return kEINVAL;
  if (name == "EINTR") return kEINTR;
  return std::nullopt;
}

}  // namespace kasim
