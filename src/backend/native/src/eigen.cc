// Symmetric eigendecomposition in float64: Householder tridiagonalisation (tred2) and implicit
// QL with eigenvector accumulation (tql2), after JAMA / EISPACK. The matrix is kept
// COLUMN-major so that every O(n^3) inner loop runs over contiguous memory; the reductions use
// the vectorised dot product of the active kernel set and the accumulation is spread over the pool.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "kernels.h"

// Provided by addon.cc: run f(0..ntasks-1) on the thread pool.
void pool_run(int ntasks, const std::function<void(int)>& f);

namespace {

struct Eig {
  long n;
  double* W;  // column-major: V(r, c) = W[c * n + r]
  std::vector<double> d, e, rc, rs;
  const KernelSet* ks;
  double& V(long r, long c) { return W[c * n + r]; }
  double* col(long c) { return W + c * n; }

  void tred2() {
    for (long j = 0; j < n; j++) d[j] = V(n - 1, j);
    for (long i = n - 1; i > 0; i--) {
      double scale = 0.0, h = 0.0;
      for (long k = 0; k < i; k++) scale += std::fabs(d[k]);
      if (scale == 0.0) {
        e[i] = d[i - 1];
        for (long j = 0; j < i; j++) {
          d[j] = V(i - 1, j);
          V(i, j) = 0.0;
          V(j, i) = 0.0;
        }
      } else {
        for (long k = 0; k < i; k++) {
          d[k] /= scale;
          h += d[k] * d[k];
        }
        double f = d[i - 1];
        double g = std::sqrt(h);
        if (f > 0) g = -g;
        e[i] = scale * g;
        h = h - f * g;
        d[i - 1] = f - g;
        for (long j = 0; j < i; j++) e[j] = 0.0;
        for (long j = 0; j < i; j++) {
          f = d[j];
          V(j, i) = f;
          double* cj = col(j);
          // g = e[j] + V(j,j) f + sum_{k=j+1}^{i-1} V(k,j) d[k];  e[k] += V(k,j) f
          g = e[j] + cj[j] * f + (i - 1 > j ? ks->dot_d(cj + j + 1, d.data() + j + 1, i - 1 - j) : 0.0);
          double* ek = e.data();
          for (long k = j + 1; k <= i - 1; k++) ek[k] += cj[k] * f;
          e[j] = g;
        }
        f = 0.0;
        for (long j = 0; j < i; j++) {
          e[j] /= h;
          f += e[j] * d[j];
        }
        const double hh = f / (h + h);
        for (long j = 0; j < i; j++) e[j] -= hh * d[j];
        for (long j = 0; j < i; j++) {
          f = d[j];
          g = e[j];
          double* cj = col(j);
          const double* dk = d.data();
          const double* ekk = e.data();
          for (long k = j; k <= i - 1; k++) cj[k] -= (f * ekk[k] + g * dk[k]);
          d[j] = V(i - 1, j);
          V(i, j) = 0.0;
        }
      }
      d[i] = h;
    }
    // Accumulate transformations.
    for (long i = 0; i < n - 1; i++) {
      V(n - 1, i) = V(i, i);
      V(i, i) = 1.0;
      const double h = d[i + 1];
      if (h != 0.0) {
        double* ci1 = col(i + 1);
        for (long k = 0; k <= i; k++) d[k] = ci1[k] / h;
        const long len = i + 1;
        auto update = [&](long j0, long j1) {
          for (long j = j0; j < j1; j++) {
            double* cj = col(j);
            const double g = ks->dot_d(ci1, cj, len);
            const double* dk = d.data();
            for (long k = 0; k < len; k++) cj[k] -= g * dk[k];
          }
        };
        if (len >= 128) {
          const int T = 8;
          const long step = (len + T - 1) / T;
          pool_run(T, [&](int t) { update(t * step, std::min(len, (t + 1) * step)); });
        } else {
          update(0, len);
        }
      }
      for (long k = 0; k <= i; k++) V(k, i + 1) = 0.0;
    }
    for (long j = 0; j < n; j++) {
      d[j] = V(n - 1, j);
      V(n - 1, j) = 0.0;
    }
    V(n - 1, n - 1) = 1.0;
    e[0] = 0.0;
  }

  bool tql2() {
    for (long i = 1; i < n; i++) e[i - 1] = e[i];
    e[n - 1] = 0.0;
    double f = 0.0, tst1 = 0.0;
    const double eps = std::ldexp(1.0, -52);
    for (long l = 0; l < n; l++) {
      tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
      long m = l;
      while (m < n) {
        if (std::fabs(e[m]) <= eps * tst1) break;
        m++;
      }
      if (m == n) m = n - 1;  // e[n-1] == 0, so this only guards against NaN
      if (m > l) {
        int iter = 0;
        do {
          if (++iter > 100) return false;
          double g = d[l];
          double p = (d[l + 1] - g) / (2.0 * e[l]);
          double r = std::hypot(p, 1.0);
          if (p < 0) r = -r;
          d[l] = e[l] / (p + r);
          d[l + 1] = e[l] * (p + r);
          const double dl1 = d[l + 1];
          double h = g - d[l];
          for (long i = l + 2; i < n; i++) d[i] -= h;
          f = f + h;
          p = d[m];
          double c = 1.0, c2 = c, c3 = c;
          const double el1 = e[l + 1];
          double s = 0.0, s2 = 0.0;
          // The rotation sequence depends only on d and e; record it, then apply it to the
          // eigenvector columns l..m in parallel over blocks of rows.
          for (long i = m - 1; i >= l; i--) {
            c3 = c2;
            c2 = c;
            s2 = s;
            g = c * e[i];
            h = c * p;
            r = std::hypot(p, e[i]);
            e[i + 1] = s * r;
            s = e[i] / r;
            c = p / r;
            p = c * d[i] - s * g;
            d[i + 1] = h + s * (c * g + s * d[i]);
            rc[i] = c;
            rs[i] = s;
          }
          auto rotate = [&](long k0, long k1) {
            for (long i = m - 1; i >= l; i--) {
              const double ci = rc[i], si = rs[i];
              double* a = col(i);
              double* b = col(i + 1);
              for (long k = k0; k < k1; k++) {
                const double hb = b[k];
                b[k] = si * a[k] + ci * hb;
                a[k] = ci * a[k] - si * hb;
              }
            }
          };
          if ((m - l) * n >= 32768) {
            const long blk = 128;
            pool_run((int)((n + blk - 1) / blk), [&](int t) { rotate(t * blk, std::min(n, (t + 1) * blk)); });
          } else {
            rotate(0, n);
          }
          p = -s * s2 * c3 * el1 * e[l] / dl1;
          e[l] = s * p;
          d[l] = c * p;
        } while (std::fabs(e[l]) > eps * tst1);
      }
      d[l] = d[l] + f;
      e[l] = 0.0;
    }
    // Ascending eigenvalues, vectors permuted alike.
    for (long i = 0; i < n - 1; i++) {
      long k = i;
      double p = d[i];
      for (long j = i + 1; j < n; j++)
        if (d[j] < p) {
          k = j;
          p = d[j];
        }
      if (k != i) {
        d[k] = d[i];
        d[i] = p;
        std::swap_ranges(col(i), col(i) + n, col(k));
      }
    }
    for (long i = 0; i < n; i++)
      if (!std::isfinite(d[i])) return false;
    return true;
  }
};

}  // namespace

// A: row-major symmetric n x n (read fully; symmetric so row/column major agree).
// values: n ascending eigenvalues; vectors: row-major n x n, column j = eigenvector j.
bool sym_eig(const KernelSet* ks, const double* A, long n, double* values, double* vectors) {
  if (n == 0) return true;
  std::vector<double> W(A, A + n * n);
  Eig eg{n, W.data(), std::vector<double>(n), std::vector<double>(n), std::vector<double>(n), std::vector<double>(n), ks};
  eg.tred2();
  if (!eg.tql2()) return false;
  for (long i = 0; i < n; i++) values[i] = eg.d[i];
  for (long r = 0; r < n; r++)
    for (long c = 0; c < n; c++) vectors[r * n + c] = W[c * n + r];
  return true;
}
