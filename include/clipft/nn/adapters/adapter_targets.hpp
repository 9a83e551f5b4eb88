#pragma once
// Where adapters go in a transformer block, by the HuggingFace names of its linear layers: q, k
// and v (the rows of the fused in_proj_weight), out (attn.out_proj), fc1 (mlp.c_fc), fc2 (mlp.c_proj).
#include <clipft/backends.hpp>
#include <clipft/nn/layers.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::nn {

enum class AdapterTarget { q, k, v, out, fc1, fc2 };

inline const char* target_name(AdapterTarget target) {
    static const char* names[] = {"q", "k", "v", "out", "fc1", "fc2"};
    return names[int(target)];
}

// "q,v" -> {q, v}; unknown or repeated names are errors.
inline std::vector<AdapterTarget> parse_adapter_targets(const std::string& text) {
    std::vector<AdapterTarget> targets;
    std::istringstream words(text);
    for (std::string word; std::getline(words, word, ',');) {
        bool known = false;
        for (int i = 0; i < 6; ++i)
            if (word == target_name(AdapterTarget(i))) {
                if (std::find(targets.begin(), targets.end(), AdapterTarget(i)) != targets.end())
                    fail("adapter targets '", text, "': '", word, "' is named twice");
                targets.push_back(AdapterTarget(i));
                known = true;
            }
        if (!known)
            fail("adapter targets '", text, "': unknown target '", word,
                 "'; use q, k, v, out, fc1, fc2 joined with ','");
    }
    if (targets.empty()) fail("adapter targets '", text, "': name at least one of q, k, v, out, fc1, fc2");
    return targets;
}

inline std::string join_target_names(const std::vector<AdapterTarget>& targets) {
    std::string text;
    for (AdapterTarget target : targets) {
        if (!text.empty()) text += ','; // not "," + std::string&&: GCC 12 reports a false -Wrestrict for that
        text += target_name(target);
    }
    return text;
}

// One place for an adapter: the weight it changes (relative to the block, OpenAI naming), the
// rows of that weight it covers, and the slot that holds it.
template <Floating T> struct AdapterSite {
    AdapterTarget target;
    std::string weight_name; // "attn.in_proj_weight", "attn.out_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"
    std::int64_t projection = 0; // q, k or v: its row block of in_proj_weight (0, 1, 2)
    Tensor<T> weight;            // [out, in]: a view of the rows (the whole weight but for q, k, v)
    std::function<AdapterHandle<T>()> adapter;
    std::function<void(AdapterHandle<T>)> set_adapter;
};

template <Floating T> AdapterSite<T> adapter_site(ResidualAttentionBlock<T>& block, AdapterTarget target) {
    auto linear_site = [&](const char* name, Linear<T>& layer) {
        return AdapterSite<T>{target,
                              name,
                              0,
                              layer.weight,
                              [&layer] { return layer.adapter; },
                              [&layer](AdapterHandle<T> adapter) { layer.set_adapter(std::move(adapter)); }};
    };
    switch (target) {
    case AdapterTarget::out:
        return linear_site("attn.out_proj.weight", block.attn.out_proj);
    case AdapterTarget::fc1:
        return linear_site("mlp.c_fc.weight", block.mlp.c_fc);
    case AdapterTarget::fc2:
        return linear_site("mlp.c_proj.weight", block.mlp.c_proj);
    default:
        break;
    }
    const std::int64_t projection = std::int64_t(target), width = block.attn.width;
    MultiheadAttention<T>& attention = block.attn;
    return AdapterSite<T>{target,
                          "attn.in_proj_weight",
                          projection,
                          attention.in_proj_weight.detach().narrow(0, projection * width, width),
                          [&attention, projection] { return attention.projection_adapters[std::size_t(projection)]; },
                          [&attention, projection](AdapterHandle<T> adapter) {
                              attention.set_projection_adapter(projection, std::move(adapter));
                          }};
}

// W += the adapter's weight change, then the adapter is removed: the layer computes the same map
// with plain weights.
template <Floating T> void merge_adapter(const AdapterSite<T>& site) {
    AdapterHandle<T> adapter = site.adapter();
    if (!adapter) return;
    NoGradGuard no_grad;
    Tensor<T>(site.weight).copy_(site.weight + adapter->weight_change());
    site.set_adapter(nullptr);
}

} // namespace clipft::nn
