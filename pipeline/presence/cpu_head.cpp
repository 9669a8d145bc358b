// The LM head's log-probability of each row's target token, on CPU, as one op.
//
//   log p(target) = logit[target] - logsumexp(logits),   logits = hidden @ weight.T (+ bias)
//
// The vocabulary is walked in blocks: each block's logits are one matmul (oneDNN: AMX/AVX-512 where the CPU
// has them) into a small reused buffer that stays in cache, and each row's running maximum and sum of
// exp(logit - maximum) are updated from it at once (the exact online log-sum-exp, exp with ATen's exp_u20:
// 20 ulp, in float32). The full-vocabulary logits of the rows are never written to memory, which is what
// the obvious way (matmul of all rows, then a log-softmax pass over them) spends its time on with 32k-256k
// vocabularies. Built on first use by pipeline/presence/kernels.py (torch.utils.cpp_extension).

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <torch/library.h>

#include <cmath>
#include <optional>
#include <tuple>

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int64_t W = Vec::size();

// 2 * W consecutive values of ``p`` as two float vectors
template <typename T>
inline void load2(const T* p, Vec& a, Vec& b) {
  if constexpr (std::is_same_v<T, float>) {
    a = Vec::loadu(p);
    b = Vec::loadu(p + W);
  } else {
    static_assert(at::vec::Vectorized<T>::size() == 2 * W);
    std::tie(a, b) = at::vec::convert_to_float<T>(at::vec::Vectorized<T>::loadu(p));
  }
}

// Fold one block of logits (R rows of n, vocabulary ids v0 .. v0 + n - 1) into each row's running maximum m
// and sum s of exp(logit - m); pick up the target's logit if it lies in the block.
template <typename T>
void fold_block(const T* x, int64_t R, int64_t n, int64_t v0, const int64_t* target, float* m, float* s,
                float* target_logit) {
  at::parallel_for(0, R, 8, [&](int64_t r0, int64_t r1) {
    const int64_t main = n - n % (2 * W);
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = x + r * n;
      Vec a, b, m0(-INFINITY), m1(-INFINITY);
      for (int64_t j = 0; j < main; j += 2 * W) {
        load2(row + j, a, b);
        m0 = at::vec::maximum(m0, a);
        m1 = at::vec::maximum(m1, b);
      }
      float block_max = at::vec::vec_reduce_all<float>(
          [](Vec& u, Vec& v) { return at::vec::maximum(u, v); }, at::vec::maximum(m0, m1));
      for (int64_t j = main; j < n; ++j) block_max = std::max(block_max, static_cast<float>(row[j]));
      const float new_max = std::max(m[r], block_max);
      const Vec vmax(new_max);
      Vec s0(0.f), s1(0.f);
      for (int64_t j = 0; j < main; j += 2 * W) {
        load2(row + j, a, b);
        s0 += (a - vmax).exp_u20();
        s1 += (b - vmax).exp_u20();
      }
      float block_sum = at::vec::vec_reduce_all<float>([](Vec& u, Vec& v) { return u + v; }, s0 + s1);
      for (int64_t j = main; j < n; ++j) block_sum += std::exp(static_cast<float>(row[j]) - new_max);
      s[r] = s[r] * std::exp(m[r] - new_max) + block_sum;  // the first block: 0 * exp(-inf) = 0
      m[r] = new_max;
      const int64_t t = target[r] - v0;
      if (t >= 0 && t < n) target_logit[r] = static_cast<float>(row[t]);
    }
  });
}

at::Tensor head_logprobs(const at::Tensor& hidden, const at::Tensor& weight, const std::optional<at::Tensor>& bias,
                         const at::Tensor& targets, int64_t block) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
              "head_logprobs: hidden (rows, hidden) and weight (vocabulary, hidden) do not match");
  TORCH_CHECK(hidden.scalar_type() == weight.scalar_type(), "head_logprobs: hidden and weight dtypes differ");
  const auto dtype = hidden.scalar_type();
  TORCH_CHECK(dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf,
              "head_logprobs: float32, bfloat16 or float16 only, not ", dtype);
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0) && targets.scalar_type() == at::kLong,
              "head_logprobs: targets must be int64, one per row of hidden");
  TORCH_CHECK(block > 0, "head_logprobs: block must be positive");
  const int64_t R = hidden.size(0), V = weight.size(0);
  const auto f32 = hidden.options().dtype(at::kFloat);
  auto target_logit = at::empty({R}, f32);
  if (R == 0) return target_logit;
  auto m = at::full({R}, -INFINITY, f32);
  auto s = at::zeros({R}, f32);
  const auto t = targets.contiguous();
  TORCH_CHECK(t.min().item<int64_t>() >= 0 && t.max().item<int64_t>() < V,
              "head_logprobs: a target is not a token id of this head's vocabulary of ", V);
  const auto h = hidden.contiguous();
  const auto wt = weight.t();  // a transposed view: the matmul reads the weight rows in place
  block = std::min(block, V);
  auto buffer = at::empty({R * block}, hidden.options());
  for (int64_t v0 = 0; v0 < V; v0 += block) {
    const int64_t n = std::min(block, V - v0);
    auto logits = buffer.narrow(0, 0, R * n).view({R, n});
    if (bias.has_value()) {
      at::addmm_out(logits, bias->narrow(0, v0, n), h, wt.narrow(1, v0, n));
    } else {
      at::mm_out(logits, h, wt.narrow(1, v0, n));
    }
    const auto fold = [&](const auto* x) {
      fold_block(x, R, n, v0, t.const_data_ptr<int64_t>(), m.data_ptr<float>(), s.data_ptr<float>(),
                 target_logit.data_ptr<float>());
    };
    if (dtype == at::kFloat) {
      fold(logits.const_data_ptr<float>());
    } else if (dtype == at::kBFloat16) {
      fold(logits.const_data_ptr<at::BFloat16>());
    } else {
      fold(logits.const_data_ptr<at::Half>());
    }
  }
  return target_logit - m - s.log();
}

}  // namespace

TORCH_LIBRARY(rm_advisor, lib) {
  lib.def("head_logprobs(Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, int block) -> Tensor");
}

TORCH_LIBRARY_IMPL(rm_advisor, CPU, lib) { lib.impl("head_logprobs", &head_logprobs); }
