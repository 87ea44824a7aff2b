// The mixture-of-experts feed-forward layer (qwen3moe, qwen2moe): a router
// scores every expert per token, the top n_expert_used experts run their
// SwiGLU FFN on it, and their outputs are summed with the router's weights.
//
// Tokens are grouped by expert: each used expert gathers the rows of the
// tokens routed to it and runs one matmul over that group (decode: a group
// of one), and every used expert's matrices go to the thread pool as one job
// (kernels::matmul_many), so an expert no token chose is never read.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.hpp"
#include "kernels/thread_pool.hpp"
#include "model/hparams.hpp"
#include "model/weights.hpp"

namespace pensieve::model {

// One token's routing: softmax over the n_expert router logits, then the k
// largest (ties: the lower expert index first, as a stable sort would give),
// ids[0..k) in that order with their probabilities in weights[0..k),
// divided by their sum when renormalise. Experts are chosen by logit, which
// orders them as their probabilities do without rounding's ties.
void route_token(const float* logits, int64_t n_expert, int64_t k, bool renormalise, int32_t* ids,
                 float* weights);

class MoeFfn {
  public:
    MoeFfn(const HParams& hp, int64_t max_batch);

    // out[n][n_embd] = the layer's mixture over the normed input x[n][n_embd].
    void run(const LayerWeights& w, const float* x, int64_t n, float* out,
             kernels::ThreadPool& pool, kernels::MatmulScratch& scratch);

  private:
    const HParams& hp_;
    std::vector<float> logits_;       // [max_batch][n_expert]      router logits
    std::vector<int32_t> ids_;        // [max_batch][n_expert_used] chosen experts per token
    std::vector<float> weights_;      // [max_batch][n_expert_used] and their weights
    std::vector<int64_t> offsets_;    // [n_expert + 1] first gathered row of each expert
    std::vector<int64_t> fill_;       // [n_expert] rows placed so far per expert
    std::vector<int32_t> row_token_;  // [max_batch × n_expert_used] token of each gathered row
    std::vector<float> row_weight_;   // [max_batch × n_expert_used] and its weight
    std::vector<float> xg_;     // [max_batch × n_expert_used][n_embd] gathered input, then output
    std::vector<float> gate_;   // [max_batch × n_expert_used][n_ff_exp]
    std::vector<float> up_;     // [max_batch × n_expert_used][n_ff_exp]
    std::vector<float> sgate_;  // [max_batch][n_ff_shexp]  shared expert (qwen2moe)
    std::vector<float> sup_;    // [max_batch][n_ff_shexp]
    std::vector<float> sout_;   // [max_batch][n_embd]
    std::vector<kernels::WeightMatrix> mats_;  // [2 × n_expert + 3] this call's expert slices
    std::vector<kernels::MatmulJob> jobs_;     // [2 × n_expert + 2]
};

}  // namespace pensieve::model
