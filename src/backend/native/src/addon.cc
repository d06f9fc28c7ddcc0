// geodesic-native: SGEMM, activations and reductions for tfjs-wasm tensors, via plain Node-API.
// One persistent thread pool (workers block on a condition variable; the caller thread works too).
// The kernel set (avx512 / avx2 / generic) is chosen at load time with __builtin_cpu_supports.
#define NAPI_VERSION 8
#include <node_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernels.h"

// ------------------------------------------------------------------ thread pool
class Pool {
 public:
  explicit Pool(int workers) : nworkers_(workers) {
    for (int i = 0; i < workers; i++) std::thread([this] { loop(); }).detach();
  }
  int threads() const { return nworkers_ + 1; }

  // Run f(0..ntasks-1) on the caller plus the workers; returns when all are done. Tasks are
  // claimed with a generation-tagged ticket, so the caller never waits for a worker that has
  // not started (on a loaded machine a descheduled worker simply gets no task), and a worker
  // that wakes late cannot claim a task of a later region.
  void run(int ntasks, const std::function<void(int)>& f) {
    if (ntasks <= 0) return;
    if (ntasks == 1 || nworkers_ == 0) {
      for (int i = 0; i < ntasks; i++) f(i);
      return;
    }
    std::lock_guard<std::mutex> one_region(submit_);
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lk(m_);
      gen = ++generation_;
      job_ = &f;
      ntasks_ = ntasks;
      done_.store(0);
      ticket_.store(gen << 32);
    }
    cv_work_.notify_all();
    work(gen, f, ntasks);
    std::unique_lock<std::mutex> lk(m_);
    cv_done_.wait(lk, [&] { return done_.load() == ntasks; });
  }

 private:
  void work(uint64_t gen, const std::function<void(int)>& f, int ntasks) {
    uint64_t t = ticket_.load();
    for (;;) {
      if ((t >> 32) != (gen & 0xffffffffu) || (int)(t & 0xffffffffu) >= ntasks) return;
      if (!ticket_.compare_exchange_weak(t, t + 1)) continue;
      f((int)(t & 0xffffffffu));
      if (done_.fetch_add(1) + 1 == ntasks) {
        std::lock_guard<std::mutex> lk(m_);
        cv_done_.notify_one();
      }
      t = ticket_.load();
    }
  }

  void loop() {
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lk(m_);
      cv_work_.wait(lk, [&] { return generation_ != seen; });
      seen = generation_;
      const std::function<void(int)>* f = job_;
      const int nt = ntasks_;
      lk.unlock();
      work(seen, *f, nt);  // claims nothing if that region is already finished
    }
  }

  std::mutex submit_, m_;
  std::condition_variable cv_work_, cv_done_;
  const std::function<void(int)>* job_ = nullptr;
  int ntasks_ = 0;
  const int nworkers_;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<int> done_{0};
};

static Pool* g_pool = nullptr;  // leaked on purpose: detached workers outlive static destructors
static const KernelSet* g_k = nullptr;

void pool_run(int ntasks, const std::function<void(int)>& f) { g_pool->run(ntasks, f); }
bool sym_eig(const KernelSet* ks, const double* A, long n, double* values, double* vectors);

static bool isa_available(const std::string& name) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (name == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  if (name == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return name == "generic";
}

static const KernelSet* kernel_set(const std::string& name) {
  if (!isa_available(name)) return nullptr;
  if (name == "avx512") return &kernels_avx512;
  if (name == "avx2") return &kernels_avx2;
  return &kernels_generic;
}

static void init_once() {
  if (g_k != nullptr) return;
  const char* want = std::getenv("GEODESIC_NATIVE_ISA");
  if (want != nullptr) g_k = kernel_set(want);
  if (g_k == nullptr) g_k = kernel_set("avx512");
  if (g_k == nullptr) g_k = kernel_set("avx2");
  if (g_k == nullptr) g_k = &kernels_generic;
  int threads = 2;
  const char* t = std::getenv("GEODESIC_NATIVE_THREADS");
  if (t != nullptr && std::atoi(t) > 0) threads = std::atoi(t);
  const int hw = (int)std::thread::hardware_concurrency();
  if (hw > 0) threads = std::min(threads, hw);
  g_pool = new Pool(std::max(threads, 1) - 1);
}

// ------------------------------------------------------------------ N-API helpers
#define CHECK(call)                                          \
  do {                                                       \
    if ((call) != napi_ok) {                                 \
      napi_throw_error(env, nullptr, "geodesic-native: N-API call failed: " #call); \
      return nullptr;                                        \
    }                                                        \
  } while (0)

struct F32 {
  float* data = nullptr;
  size_t length = 0;
};

static bool get_f32(napi_env env, napi_value v, F32* out, const char* what, bool allow_null = false) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (allow_null && (t == napi_null || t == napi_undefined)) return true;
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type type;
    void* data;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, &out->length, &data, &ab, &off) == napi_ok && type == napi_float32_array) {
      out->data = static_cast<float*>(data);
      return true;
    }
  }
  std::string msg = std::string("geodesic-native: ") + what + " must be a Float32Array";
  napi_throw_type_error(env, nullptr, msg.c_str());
  return false;
}

static bool get_long(napi_env env, napi_value v, long* out, const char* what) {
  int64_t x;
  if (napi_get_value_int64(env, v, &x) != napi_ok || x < 0) {
    std::string msg = std::string("geodesic-native: ") + what + " must be a non-negative integer";
    napi_throw_type_error(env, nullptr, msg.c_str());
    return false;
  }
  *out = (long)x;
  return true;
}

static bool get_bool(napi_env env, napi_value v) {
  bool b = false;
  if (napi_get_value_bool(env, v, &b) != napi_ok) {
    int32_t i = 0;
    napi_get_value_int32(env, v, &i);
    b = i != 0;
  }
  return b;
}

static bool too_short(napi_env env, const F32& a, size_t need, const char* what) {
  if (a.length >= need) return false;
  std::string msg = std::string("geodesic-native: ") + what + " is too short (" + std::to_string(a.length) +
                    " < " + std::to_string(need) + ")";
  napi_throw_range_error(env, nullptr, msg.c_str());
  return true;
}

// ------------------------------------------------------------------ gemm
struct Task {
  long b, m0, m1, n0, n1;
};

// Symmetric product (A and B the same data with op(B) = op(A)^T, so C = C^T, m == n): the rows
// are cut into one band per thread of equal lower-triangle area (boundaries n·sqrt(i/T)); band
// [r0, r1) runs one ordinary gemm_region over columns [0, r1) that skips the micro-tiles entirely
// above the diagonal (about half the flops of the full product, each operand packed about once),
// then mirrors its rows' lower part into the upper triangle. Tasks write disjoint parts of C:
// band i's mirror writes columns [r0, r1) of rows < r1, which no other band computes.
static void gemm_symmetric(const KernelSet* ks, const GemmArgs& g0, const float* A, const float* B, float* C) {
  const long n = g0.n;
  GemmArgs g = g0;
  g.lower = true;
  const int T = (double)n * n * g.k < 2.0e6 ? 1 : g_pool->threads();
  std::vector<long> r(T + 1, n);
  r[0] = 0;
  for (int i = 1; i < T; i++) r[i] = std::min(n, (long)std::lround(n * std::sqrt((double)i / T) / ks->mr) * ks->mr);
  g_pool->run(T, [&](int t) {
    const long r0 = r[t], r1 = r[t + 1];
    if (r0 >= r1) return;
    ks->gemm_region(g, A, B, C, r0, r1, 0, r1);
    const long TB = 32;  // mirror in TB x TB tiles
    for (long i0 = r0; i0 < r1; i0 += TB) {
      const long i1 = std::min(r1, i0 + TB);
      for (long j0 = 0; j0 < i1; j0 += TB) {
        const long j1 = std::min(i1, j0 + TB);
        for (long j = j0; j < j1; j++)
          for (long i = std::max(i0, j + 1); i < i1; i++) C[j * n + i] = C[i * n + j];
      }
    }
  });
}

// gemm(A, B, C, bias|null, batch, m, n, k, transA, transB, strideA, strideB, act, alpha[, symmetric])
static napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value a[15];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  if (argc < 14) {
    napi_throw_type_error(env, nullptr, "geodesic-native: gemm expects 14 arguments");
    return nullptr;
  }
  F32 A, B, C, bias;
  long batch, m, n, k, sa, sb;
  if (!get_f32(env, a[0], &A, "A") || !get_f32(env, a[1], &B, "B") || !get_f32(env, a[2], &C, "C") ||
      !get_f32(env, a[3], &bias, "bias", true) || !get_long(env, a[4], &batch, "batch") || !get_long(env, a[5], &m, "m") ||
      !get_long(env, a[6], &n, "n") || !get_long(env, a[7], &k, "k") || !get_long(env, a[10], &sa, "strideA") ||
      !get_long(env, a[11], &sb, "strideB"))
    return nullptr;
  int32_t act = 0;
  double alpha = 0;
  napi_get_value_int32(env, a[12], &act);
  napi_get_value_double(env, a[13], &alpha);
  GemmArgs g{m, n, k, get_bool(env, a[8]), get_bool(env, a[9]), bias.data, act, (float)alpha};
  if (batch == 0 || m == 0 || n == 0) return nullptr;
  if (too_short(env, A, (size_t)((batch - 1) * sa + m * k), "A") || too_short(env, B, (size_t)((batch - 1) * sb + k * n), "B") ||
      too_short(env, C, (size_t)(batch * m * n), "C") || (bias.data != nullptr && too_short(env, bias, (size_t)n, "bias")))
    return nullptr;

  const bool symmetric = argc >= 15 && get_bool(env, a[14]);
  if (symmetric) {
    if (m != n || bias.data != nullptr || act != ACT_LINEAR || g.transA == g.transB) {
      napi_throw_range_error(env, nullptr, "geodesic-native: symmetric gemm needs m == n, op(B) = op(A)^T, no bias, linear");
      return nullptr;
    }
    for (long b = 0; b < batch; b++) gemm_symmetric(g_k, g, A.data + b * sa, B.data + b * sb, C.data + b * m * n);
    return nullptr;
  }
  const int T = g_pool->threads();
  const double flops = 2.0 * batch * m * n * k;
  std::vector<Task> tasks;
  if (T == 1 || flops < 4.0e6 || batch >= 2 * T) {
    for (long b = 0; b < batch; b++) tasks.push_back({b, 0, m, 0, n});
  } else {
    for (long b = 0; b < batch; b++) {
      if (m >= n) {  // split rows, keeping micro-tile multiples
        const long step = ((m + T - 1) / T + g_k->mr - 1) / g_k->mr * g_k->mr;
        for (long r = 0; r < m; r += step) tasks.push_back({b, r, std::min(m, r + step), 0, n});
      } else {
        const long step = ((n + T - 1) / T + g_k->nr - 1) / g_k->nr * g_k->nr;
        for (long c = 0; c < n; c += step) tasks.push_back({b, 0, m, c, std::min(n, c + step)});
      }
    }
  }
  const KernelSet* ks = g_k;
  const float *pa = A.data, *pb = B.data;
  float* pc = C.data;
  g_pool->run((int)tasks.size(), [&](int i) {
    const Task& t = tasks[i];
    ks->gemm_region(g, pa + t.b * sa, pb + t.b * sb, pc + t.b * m * n, t.m0, t.m1, t.n0, t.n1);
  });
  return nullptr;
}

// ------------------------------------------------------------------ elementwise
static const long kChunk = 1 << 15;

// unary(op, X, Y[, n])
static napi_value Unary(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  int32_t op = 0;
  napi_get_value_int32(env, a[0], &op);
  F32 X, Y;
  if (!get_f32(env, a[1], &X, "X") || !get_f32(env, a[2], &Y, "Y")) return nullptr;
  const long n = (long)X.length;
  if (too_short(env, Y, (size_t)n, "Y")) return nullptr;
  const KernelSet* ks = g_k;
  const int chunks = (int)((n + kChunk - 1) / kChunk);
  g_pool->run(chunks, [&](int i) {
    const long s = i * kChunk, e = std::min(n, s + kChunk);
    ks->unary(op, X.data + s, Y.data + s, e - s);
  });
  return nullptr;
}

// unaryGrad(op, T, dY, dX): T = forward output (tanh, sigmoid) or input (relu, softplus)
static napi_value UnaryGrad(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  int32_t op = 0;
  napi_get_value_int32(env, a[0], &op);
  F32 Tt, dY, dX;
  if (!get_f32(env, a[1], &Tt, "T") || !get_f32(env, a[2], &dY, "dY") || !get_f32(env, a[3], &dX, "dX")) return nullptr;
  const long n = (long)Tt.length;
  if (too_short(env, dY, (size_t)n, "dY") || too_short(env, dX, (size_t)n, "dX")) return nullptr;
  const KernelSet* ks = g_k;
  const int chunks = (int)((n + kChunk - 1) / kChunk);
  g_pool->run(chunks, [&](int i) {
    const long s = i * kChunk, e = std::min(n, s + kChunk);
    ks->unary_grad(op, Tt.data + s, dY.data + s, dX.data + s, e - s);
  });
  return nullptr;
}

// ------------------------------------------------------------------ reductions
// The arguments of colSum / rowSum: (X, rows, cols, out), out at least cols (per_column) or rows
// long; false (a JS exception pending) when one is wrong.
static bool get_reduction_args(napi_env env, napi_callback_info info, F32* X, long* rows, long* cols, F32* out, bool per_column) {
  size_t argc = 4;
  napi_value a[4];
  if (napi_get_cb_info(env, info, &argc, a, nullptr, nullptr) != napi_ok) {
    napi_throw_error(env, nullptr, "geodesic-native: N-API call failed: napi_get_cb_info");
    return false;
  }
  if (!get_f32(env, a[0], X, "X") || !get_long(env, a[1], rows, "rows") || !get_long(env, a[2], cols, "cols") ||
      !get_f32(env, a[3], out, "out"))
    return false;
  return !too_short(env, *X, (size_t)(*rows * *cols), "X") && !too_short(env, *out, (size_t)(per_column ? *cols : *rows), "out");
}

// colSum(X, rows, cols, out): out[c] = sum_r X[r, c]
static napi_value ColSum(napi_env env, napi_callback_info info) {
  F32 X, out;
  long rows, cols;
  if (!get_reduction_args(env, info, &X, &rows, &cols, &out, true)) return nullptr;
  const KernelSet* ks = g_k;
  const int T = (rows * cols >= (1 << 16) && cols >= 64) ? g_pool->threads() : 1;
  const long step = ((cols + T - 1) / T + 15) / 16 * 16;
  const int ntasks = (int)((cols + step - 1) / step);
  g_pool->run(ntasks, [&](int i) {
    const long c0 = i * step, c1 = std::min(cols, c0 + step);
    ks->col_sum(X.data, cols, 0, rows, c0, c1, out.data);
  });
  return nullptr;
}

// rowSum(X, rows, cols, out): out[r] = sum_c X[r, c]
static napi_value RowSum(napi_env env, napi_callback_info info) {
  F32 X, out;
  long rows, cols;
  if (!get_reduction_args(env, info, &X, &rows, &cols, &out, false)) return nullptr;
  const KernelSet* ks = g_k;
  const int T = (rows * cols >= (1 << 16) && rows >= 2) ? g_pool->threads() : 1;
  const long step = (rows + T - 1) / T;
  g_pool->run(T, [&](int i) {
    const long r0 = i * step, r1 = std::min(rows, r0 + step);
    if (r0 < r1) ks->row_sum(X.data, cols, r0, r1, out.data);
  });
  return nullptr;
}

// ------------------------------------------------------------------ float64 Cholesky / SPD inverse
// Blocked, on row-major n x n arrays, in blocks of DB rows/columns. All the O(n^3) work is the
// kernel set's dgemm_nt (C += alpha A B^T: inner products of contiguous rows); what remains per
// block is an O(DB^2) per-row triangular solve. Each of the three stages (Cholesky, L^-1,
// L^-T L^-1) costs n^3/3 flops; the off-diagonal blocks of a stage are spread over the pool.
static const long DB = 48;

// g_pool->run(ntasks, f) when parallel, else a plain loop on the calling thread (a task running
// on the pool must never call g_pool->run: the pool is not re-entrant).
static void for_tasks(bool parallel, int ntasks, const std::function<void(int)>& f) {
  if (parallel) {
    g_pool->run(ntasks, f);
  } else {
    for (int i = 0; i < ntasks; i++) f(i);
  }
}

// Rows X[r] (r < rows, nb entries, stride ldx), in place: x <- x Ljj^-T, i.e. solve x Ljj^T = x
// by forward substitution (Ljj lower triangular nb x nb, stride ld). Four rows at a time, two
// partial sums each, so the inner products are eight independent chains instead of one.
static void trsm_rows_lt(double* X, long ldx, long rows, const double* Ljj, long ld, long nb) {
  long r = 0;
  for (; r + 4 <= rows; r += 4) {
    double* x0 = X + r * ldx;
    double* x1 = x0 + ldx;
    double* x2 = x1 + ldx;
    double* x3 = x2 + ldx;
    for (long j = 0; j < nb; j++) {
      const double* Lj = Ljj + j * ld;
      double a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      long t = 0;
      for (; t + 2 <= j; t += 2) {
        a0 += x0[t] * Lj[t]; b0 += x0[t + 1] * Lj[t + 1];
        a1 += x1[t] * Lj[t]; b1 += x1[t + 1] * Lj[t + 1];
        a2 += x2[t] * Lj[t]; b2 += x2[t + 1] * Lj[t + 1];
        a3 += x3[t] * Lj[t]; b3 += x3[t + 1] * Lj[t + 1];
      }
      if (t < j) {
        a0 += x0[t] * Lj[t]; a1 += x1[t] * Lj[t]; a2 += x2[t] * Lj[t]; a3 += x3[t] * Lj[t];
      }
      const double d = Lj[j];
      x0[j] = (x0[j] - (a0 + b0)) / d;
      x1[j] = (x1[j] - (a1 + b1)) / d;
      x2[j] = (x2[j] - (a2 + b2)) / d;
      x3[j] = (x3[j] - (a3 + b3)) / d;
    }
  }
  for (; r < rows; r++) {
    double* x = X + r * ldx;
    for (long j = 0; j < nb; j++) {
      const double* Lj = Ljj + j * ld;
      double v = x[j];
      for (long t = 0; t < j; t++) v -= x[t] * Lj[t];
      x[j] = v / Lj[j];
    }
  }
}

// Lower Cholesky factor L of A + damping*I (A's lower triangle read; L's upper triangle zero).
// Left-looking by block columns J: L_JJ = chol(A_JJ - L_J,<J L_J,<J^T), then for every block row
// I > J (in parallel unless `parallel` is false): L_IJ = (A_IJ - L_I,<J L_J,<J^T) L_JJ^-T.
// False if not positive definite.
static bool potrf(const KernelSet* ks, const double* A, long n, double damping, double* L, bool parallel = true) {
  for (long i = 0; i < n; i++) {
    for (long j = 0; j <= i; j++) L[i * n + j] = A[i * n + j];
    L[i * n + i] += damping;
    for (long j = i + 1; j < n; j++) L[i * n + j] = 0.0;
  }
  const long nblocks = (n + DB - 1) / DB;
  for (long J = 0; J < nblocks; J++) {
    const long j0 = J * DB, jb = std::min(DB, n - j0);
    double* Ljj = L + j0 * n + j0;
    ks->dgemm_nt(jb, jb, j0, L + j0 * n, n, L + j0 * n, n, Ljj, n, -1.0);
    for (long i = 0; i < jb; i++) {
      double* Li = Ljj + i * n;
      for (long j = 0; j < i; j++) {
        const double* Lj = Ljj + j * n;
        double v = Li[j];
        for (long t = 0; t < j; t++) v -= Li[t] * Lj[t];
        Li[j] = v / Lj[j];
      }
      double d = Li[i];
      for (long t = 0; t < i; t++) d -= Li[t] * Li[t];
      if (!(d > 0.0) || !std::isfinite(d)) return false;
      Li[i] = std::sqrt(d);
      for (long j = i + 1; j < jb; j++) Li[j] = 0.0;  // the block product touched the upper half
    }
    const long below = nblocks - J - 1;
    for_tasks(parallel, (int)below, [&](int t) {
      const long i0 = (J + 1 + t) * DB, ib = std::min(DB, n - i0);
      ks->dgemm_nt(ib, jb, j0, L + i0 * n, n, L + j0 * n, n, L + i0 * n + j0, n, -1.0);
      trsm_rows_lt(L + i0 * n + j0, n, ib, Ljj, n, jb);
    });
  }
  for (long i = 0; i < n * n; i++)
    if (!std::isfinite(L[i])) return false;
  return true;
}

// out = (A + damping I)^-1 = W W^T given its factor L, with W = L^-T (upper triangular; row j
// of W = column j of L^-1). W from W L^T = I, block row J at a time (block rows in parallel):
// W_JJ = L_JJ^-T and, for I > J, W_JI = -(W_J,[J,I) L_I,[J,I)^T) L_II^-T. Then the lower
// blocks out_IJ = W_I,>=I W_J,>=I^T (in parallel), mirrored to the upper half: `out` holds both
// triangles, exactly symmetric. With `parallel` false every stage runs on the calling thread.
static void spd_inverse_from_factor(const KernelSet* ks, const double* L, long n, double* W, double* out, bool parallel = true) {
  const long nblocks = (n + DB - 1) / DB;
  for (long i = 0; i < n * n; i++) W[i] = 0.0;
  for_tasks(parallel, (int)nblocks, [&](int J) {
    const long j0 = J * DB, jb = std::min(DB, n - j0);
    for (long r = 0; r < jb; r++) W[(j0 + r) * n + j0 + r] = 1.0;
    trsm_rows_lt(W + j0 * n + j0, n, jb, L + j0 * n + j0, n, jb);
    for (long I = J + 1; I < nblocks; I++) {
      const long i0 = I * DB, ib = std::min(DB, n - i0);
      double* C = W + j0 * n + i0;
      ks->dgemm_nt(jb, ib, i0 - j0, W + j0 * n + j0, n, L + i0 * n + j0, n, C, n, -1.0);
      trsm_rows_lt(C, n, jb, L + i0 * n + i0, n, ib);
    }
  });
  const long npairs = nblocks * (nblocks + 1) / 2;
  for_tasks(parallel, (int)npairs, [&](int p) {
    long I = 0;
    while ((I + 1) * (I + 2) / 2 <= p) I++;
    const long J = p - I * (I + 1) / 2;
    const long i0 = I * DB, ib = std::min(DB, n - i0), j0 = J * DB, jb = std::min(DB, n - j0);
    double* C = out + i0 * n + j0;
    for (long r = 0; r < ib; r++)
      for (long c = 0; c < jb; c++) C[r * n + c] = 0.0;
    ks->dgemm_nt(ib, jb, n - i0, W + i0 * n + i0, n, W + j0 * n + i0, n, C, n, 1.0);
    // mirror into the upper half: block (J, I) = block (I, J)^T (the diagonal block's own upper half)
    for (long r = 0; r < ib; r++)
      for (long c = 0; c < jb && (I != J || c < r); c++) out[(j0 + c) * n + i0 + r] = C[r * n + c];
  });
}

static bool get_f64(napi_env env, napi_value v, double** data, size_t* length, const char* what) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (is_ta) {
    napi_typedarray_type type;
    void* d;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &type, length, &d, &ab, &off) == napi_ok && type == napi_float64_array) {
      *data = static_cast<double*>(d);
      return true;
    }
  }
  std::string msg = std::string("geodesic-native: ") + what + " must be a Float64Array";
  napi_throw_type_error(env, nullptr, msg.c_str());
  return false;
}

// cholesky(A, n, damping, L) -> boolean (false: A + damping I is not positive definite)
static napi_value Cholesky(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  double *A, *L, damping = 0;
  size_t la, ll;
  long n;
  if (!get_f64(env, a[0], &A, &la, "A") || !get_long(env, a[1], &n, "n") || !get_f64(env, a[3], &L, &ll, "L")) return nullptr;
  napi_get_value_double(env, a[2], &damping);
  if (la < (size_t)(n * n) || ll < (size_t)(n * n)) {
    napi_throw_range_error(env, nullptr, "geodesic-native: cholesky arrays shorter than n*n");
    return nullptr;
  }
  const bool ok = potrf(g_k, A, n, damping, L);
  napi_value r;
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}

// spdInverse(A, n, damping, out) -> boolean: out = (A + damping I)^-1 via L^-T L^-1.
static napi_value SpdInverse(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  double *A, *out, damping = 0;
  size_t la, lo;
  long n;
  if (!get_f64(env, a[0], &A, &la, "A") || !get_long(env, a[1], &n, "n") || !get_f64(env, a[3], &out, &lo, "out")) return nullptr;
  napi_get_value_double(env, a[2], &damping);
  if (la < (size_t)(n * n) || lo < (size_t)(n * n)) {
    napi_throw_range_error(env, nullptr, "geodesic-native: spdInverse arrays shorter than n*n");
    return nullptr;
  }
  const KernelSet* ks = g_k;
  std::vector<double> L((size_t)(n * n)), W((size_t)(n * n));
  const bool ok = potrf(ks, A, n, damping, L.data());
  if (ok) spd_inverse_from_factor(ks, L.data(), n, W.data(), out);
  napi_value r;
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}

// spdInverseMany(As, ns, dampings, outs) -> boolean[]: outs[i] = (As[i] + dampings[i] I)^-1 for
// every i (false where not positive definite). The matrices are spread over the pool, one task
// each, claimed largest first; each task factors and inverts its matrix serially (no nested
// g_pool->run). A single matrix takes the parallel path of spdInverse instead.
static napi_value SpdInverseMany(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  if (argc < 4) {
    napi_throw_type_error(env, nullptr, "geodesic-native: spdInverseMany expects 4 arguments");
    return nullptr;
  }
  uint32_t count = 0;
  bool is_arr[4] = {false, false, false, false};
  for (int i = 0; i < 4; i++) napi_is_array(env, a[i], &is_arr[i]);
  if (!is_arr[0] || !is_arr[1] || !is_arr[2] || !is_arr[3]) {
    napi_throw_type_error(env, nullptr, "geodesic-native: spdInverseMany expects four arrays (As, ns, dampings, outs)");
    return nullptr;
  }
  CHECK(napi_get_array_length(env, a[0], &count));
  for (int i = 1; i < 4; i++) {
    uint32_t len = 0;
    CHECK(napi_get_array_length(env, a[i], &len));
    if (len != count) {
      napi_throw_range_error(env, nullptr, "geodesic-native: spdInverseMany arrays differ in length");
      return nullptr;
    }
  }
  struct Item {
    const double* A;
    double* out;
    long n;
    double damping;
  };
  std::vector<Item> items(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value vA, vn, vd, vo;
    CHECK(napi_get_element(env, a[0], i, &vA));
    CHECK(napi_get_element(env, a[1], i, &vn));
    CHECK(napi_get_element(env, a[2], i, &vd));
    CHECK(napi_get_element(env, a[3], i, &vo));
    double *A, *out;
    size_t la, lo;
    long n;
    if (!get_f64(env, vA, &A, &la, "As[i]") || !get_long(env, vn, &n, "ns[i]") || !get_f64(env, vo, &out, &lo, "outs[i]")) return nullptr;
    double damping = 0;
    if (napi_get_value_double(env, vd, &damping) != napi_ok) {
      napi_throw_type_error(env, nullptr, "geodesic-native: dampings[i] must be a number");
      return nullptr;
    }
    if (la < (size_t)(n * n) || lo < (size_t)(n * n)) {
      napi_throw_range_error(env, nullptr, "geodesic-native: spdInverseMany arrays shorter than n*n");
      return nullptr;
    }
    items[i] = {A, out, n, damping};
  }
  const KernelSet* ks = g_k;
  std::vector<char> ok(count, 0);
  if (count == 1) {
    const Item& it = items[0];
    // scratch left uninitialised: potrf writes all of L, spd_inverse_from_factor zeroes W
    std::unique_ptr<double[]> L(new double[it.n * it.n]), W(new double[it.n * it.n]);
    ok[0] = potrf(ks, it.A, it.n, it.damping, L.get());
    if (ok[0]) spd_inverse_from_factor(ks, L.get(), it.n, W.get(), it.out);
  } else if (count > 1) {
    std::vector<int> order(count);
    for (uint32_t i = 0; i < count; i++) order[i] = (int)i;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return items[x].n > items[y].n; });
    g_pool->run((int)count, [&](int t) {
      const Item& it = items[order[t]];
      std::unique_ptr<double[]> L(new double[it.n * it.n]), W(new double[it.n * it.n]);
      const bool good = potrf(ks, it.A, it.n, it.damping, L.get(), false);
      if (good) spd_inverse_from_factor(ks, L.get(), it.n, W.get(), it.out, false);
      ok[order[t]] = good;
    });
  }
  napi_value r;
  CHECK(napi_create_array_with_length(env, count, &r));
  for (uint32_t i = 0; i < count; i++) {
    napi_value b;
    CHECK(napi_get_boolean(env, ok[i] != 0, &b));
    CHECK(napi_set_element(env, r, i, b));
  }
  return r;
}

// symEig(A, n, values, vectors) -> boolean: A = V diag(values) V^T, values ascending,
// vectors row-major with eigenvectors in columns. False if QL did not converge.
static napi_value SymEig(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  double *A, *vals, *vecs;
  size_t la, lv, lw;
  long n;
  if (!get_f64(env, a[0], &A, &la, "A") || !get_long(env, a[1], &n, "n") || !get_f64(env, a[2], &vals, &lv, "values") ||
      !get_f64(env, a[3], &vecs, &lw, "vectors"))
    return nullptr;
  if (la < (size_t)(n * n) || lv < (size_t)n || lw < (size_t)(n * n)) {
    napi_throw_range_error(env, nullptr, "geodesic-native: symEig arrays too short");
    return nullptr;
  }
  const bool ok = sym_eig(g_k, A, n, vals, vecs);
  napi_value r;
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}

// ------------------------------------------------------------------ FMA peak
// fmaPeak(iters) -> { gflops, threads, seconds }: every pool thread runs the kernel set's
// in-register FMA probe for `iters` rounds at once; flops over wall time = the float32 rate the
// GEMM could reach at best on this machine, now (frequency, other tenants).
static napi_value FmaPeak(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  long iters = 0;
  if (!get_long(env, a[0], &iters, "iters")) return nullptr;
  const KernelSet* ks = g_k;
  const int T = g_pool->threads();
  std::vector<float> sink(T);
  const auto t0 = std::chrono::steady_clock::now();
  g_pool->run(T, [&](int t) { sink[t] = ks->fma_probe(iters); });
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double flops = 24.0 * ks->vw * (double)iters * T;
  napi_value o, gf, th, sec;
  CHECK(napi_create_object(env, &o));
  CHECK(napi_create_double(env, s > 0 && std::isfinite(sink[0]) ? flops / s / 1e9 : 0.0, &gf));
  CHECK(napi_create_int32(env, T, &th));
  CHECK(napi_create_double(env, s, &sec));
  CHECK(napi_set_named_property(env, o, "gflops", gf));
  CHECK(napi_set_named_property(env, o, "threads", th));
  CHECK(napi_set_named_property(env, o, "seconds", sec));
  return o;
}

// ------------------------------------------------------------------ info / isa
static napi_value Info(napi_env env, napi_callback_info) {
  napi_value o, isa, threads, mr, nr;
  CHECK(napi_create_object(env, &o));
  CHECK(napi_create_string_utf8(env, g_k->name, NAPI_AUTO_LENGTH, &isa));
  CHECK(napi_create_int32(env, g_pool->threads(), &threads));
  CHECK(napi_create_int32(env, g_k->mr, &mr));
  CHECK(napi_create_int32(env, g_k->nr, &nr));
  CHECK(napi_set_named_property(env, o, "isa", isa));
  CHECK(napi_set_named_property(env, o, "threads", threads));
  CHECK(napi_set_named_property(env, o, "mr", mr));
  CHECK(napi_set_named_property(env, o, "nr", nr));
  return o;
}

// setIsa(name) -> boolean: switch kernel set (tests cover every set the CPU supports).
static napi_value SetIsa(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, nullptr, nullptr));
  char buf[32] = {0};
  size_t len = 0;
  napi_get_value_string_utf8(env, a[0], buf, sizeof buf, &len);
  const KernelSet* ks = kernel_set(buf);
  if (ks != nullptr) g_k = ks;
  napi_value r;
  CHECK(napi_get_boolean(env, ks != nullptr, &r));
  return r;
}

NAPI_MODULE_INIT() {
  init_once();
  struct {
    const char* name;
    napi_callback cb;
  } fns[] = {{"gemm", Gemm}, {"unary", Unary}, {"unaryGrad", UnaryGrad}, {"colSum", ColSum},
             {"rowSum", RowSum}, {"cholesky", Cholesky}, {"spdInverse", SpdInverse},
             {"spdInverseMany", SpdInverseMany}, {"symEig", SymEig}, {"fmaPeak", FmaPeak}, {"info", Info}, {"setIsa", SetIsa}};
  for (auto& f : fns) {
    napi_value fn;
    CHECK(napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn));
    CHECK(napi_set_named_property(env, exports, f.name, fn));
  }
  return exports;
}
