// sim/ipl.h: interrupt priority levels and errno values, as NetBSD names them.
#pragma once

#include <optional>
#include <string_view>

namespace kasim {

// IPL order as in NetBSD: IPL_NONE < soft levels < IPL_VM < IPL_SCHED < IPL_HIGH.
using ipl_t = int;
inline constexpr ipl_t IPL_NONE = 0;
inline constexpr ipl_t IPL_SOFTCLOCK = 1;
inline constexpr ipl_t IPL_SOFTBIO = 2;
inline constexpr ipl_t IPL_SOFTNET = 3;
inline constexpr ipl_t IPL_SOFTSERIAL = 4;
inline constexpr ipl_t IPL_VM = 5;
inline constexpr ipl_t IPL_SCHED = 6;
inline constexpr ipl_t IPL_HIGH = 7;
inline constexpr int kIplCount = 8;

// Soft interrupt levels: an interrupt at one of these is a softint (cpu_softintr_p).
inline constexpr bool ipl_is_soft(ipl_t ipl) { return ipl > IPL_NONE && ipl < IPL_VM; }

std::string_view ipl_name(ipl_t ipl);
std::optional<ipl_t> ipl_from_name(std::string_view name);

// errno values kasim's allocators return (Linux/NetBSD numbering of the ones used).
inline constexpr int kENOMEM = 12;
inline constexpr int kEAGAIN = 35;  // NetBSD's EAGAIN
inline constexpr int kEINVAL = 22;
inline constexpr int kEINTR = 4;
inline constexpr int kEWOULDBLOCK = kEAGAIN;  // NetBSD: EWOULDBLOCK == EAGAIN
inline constexpr int kERESTART = -3;

std::string_view errno_name(int err);
std::optional<int> errno_from_name(std::string_view name);

}  // namespace kasim
