// allocators/allocators.cpp: what every allocator shares (nothing yet beyond
// sim/kernel.h); keeps kasim_allocators a real library while it has no allocator.
#include "sim/kernel.h"
