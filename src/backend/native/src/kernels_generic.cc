// generic kernel set: the generic kernels of kernels_impl.inc compiled for this ISA only.
// Chosen at run time (see addon.cc); the rest of the addon is built for the baseline ISA.
#include "kernels.h"
#include <cstdlib>
// portable: baseline ISA of the compiler (SSE2 on x86-64, NEON on arm64)

namespace k_generic {
#define ISA_NAME "generic"
#define VW 4
#define MR 4
#define NR 8
#define KC 256
#define MC 64
#define NC 3072
#include "kernels_impl.inc"
#undef ISA_NAME
#undef VW
#undef MR
#undef NR
#undef KC
#undef MC
#undef NC
}  // namespace k_generic

const KernelSet kernels_generic = k_generic::kernel_set;
