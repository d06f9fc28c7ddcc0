// avx2 kernel set: the generic kernels of kernels_impl.inc compiled for this ISA only.
// Chosen at run time (see addon.cc); the rest of the addon is built for the baseline ISA.
#include "kernels.h"
#include <cstdlib>
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx2,fma")

namespace k_avx2 {
#define ISA_NAME "avx2"
#define VW 8
#define MR 6
#define NR 16
#define KC 256
#define MC 120
#define NC 3072
#include "kernels_impl.inc"
#undef ISA_NAME
#undef VW
#undef MR
#undef NR
#undef KC
#undef MC
#undef NC
}  // namespace k_avx2

const KernelSet kernels_avx2 = k_avx2::kernel_set;
#else
const KernelSet kernels_avx2 = {};  // not built for this architecture: no name, never chosen
#endif
