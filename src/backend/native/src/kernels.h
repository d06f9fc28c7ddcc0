// Shared declarations for the per-ISA kernel sets.
#pragma once
#include <cstdlib>

enum Act { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_SIGMOID = 3, ACT_TANH = 4, ACT_SOFTPLUS = 5,
           ACT_LEAKYRELU = 6, ACT_ELU = 7, ACT_EXP = 8,
           ACT_SQRT = 9 };

struct GemmArgs {
  long m, n, k;
  bool transA, transB;
  const float* bias;  // per-column bias of length n, or nullptr
  int act;
  float alpha;        // leaky-relu slope
  bool lower = false; // compute only micro-tiles touching the lower triangle (row >= col) of C
};

struct KernelSet {
  const char* name;
  void (*gemm_region)(const GemmArgs&, const float* A, const float* B, float* C, long m0, long m1, long n0, long n1);
  void (*unary)(int op, const float* x, float* y, long n);
  void (*unary_grad)(int op, const float* t, const float* dy, float* dx, long n);
  void (*col_sum)(const float* X, long cols, long r0, long r1, long c0, long c1, float* out);
  void (*row_sum)(const float* X, long cols, long r0, long r1, float* out);
  double (*dot_d)(const double* x, const double* y, long n);
  // C[m,n] += alpha * A[m,k] B[n,k]^T, all row-major with leading dimensions (float64)
  void (*dgemm_nt)(long m, long n, long k, const double* A, long lda, const double* B, long ldb, double* C, long ldc, double alpha);
  // 12 chains of VW-wide FMAs for iters rounds (24 * VW * iters flops); see kernels_impl.inc
  float (*fma_probe)(long iters);
  int vw, mr, nr;
};

extern const KernelSet kernels_avx512;
extern const KernelSet kernels_avx2;
extern const KernelSet kernels_generic;
