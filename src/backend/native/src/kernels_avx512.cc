// avx512 kernel set: the generic kernels of kernels_impl.inc compiled for this ISA only.
// Chosen at run time (see addon.cc); the rest of the addon is built for the baseline ISA.
#include "kernels.h"
#include <cstdlib>
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma,bmi2")

namespace k_avx512 {
#define ISA_NAME "avx512"
#define VW 16
#define MR 12
#define NR 32
#define KC 512  // 512 vs 256: +3–4 % single-thread (fewer passes over C), measured interleaved on Zen 4
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
}  // namespace k_avx512

const KernelSet kernels_avx512 = k_avx512::kernel_set;
#else
const KernelSet kernels_avx512 = {};  // not built for this architecture: no name, never chosen
#endif
