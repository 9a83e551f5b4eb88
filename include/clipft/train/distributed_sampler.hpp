#pragma once
// Data-parallel batches: every rank draws the same global batch from the same seeded GroupSampler
// and keeps its own contiguous share of the groups. The draw is only index bookkeeping, so repeating
// it on every rank costs nothing and gives, whatever the rank count: the same seeded order of groups,
// the same description per class (drawn once per global batch), shards that are disjoint and together
// the whole batch, and a state that is the global sampler's, so that a run resumes on another rank
// count. Groups never span ranks: a rank's group contrastive loss needs no other rank's images.
#include <clipft/backends.hpp>
#include <clipft/train/sampler.hpp>

namespace clipft::inline CLIPFT_BACKENDS::train {

// Items [begin, end) of a sequence shared out among ranks (groups of a batch, validation images).
struct Shard {
    std::int64_t begin = 0, end = 0;
    std::int64_t size() const { return end - begin; }
};

// The share of rank `rank` of `ranks` in `count` items: contiguous, sizes differ by at most one.
inline Shard shard_of(std::int64_t count, int rank, int ranks) {
    if (ranks < 1 || rank < 0 || rank >= ranks) fail("shard_of: rank ", rank, " of ", ranks, " ranks does not exist");
    return {count * rank / ranks, count * (rank + 1) / ranks};
}

// The groups of `shard`, slots still in row-major [group, slot] order.
inline SampledBatch take_groups(const SampledBatch& batch, Shard shard) {
    if (shard.begin < 0 || shard.end > batch.groups || shard.begin > shard.end)
        fail("take_groups: groups [", shard.begin, ", ", shard.end, ") are not within the batch's ", batch.groups,
             " groups");
    auto slots = [&](const auto& values) {
        using Values = std::decay_t<decltype(values)>;
        if (values.empty()) return Values();
        return Values(values.begin() + shard.begin * batch.k, values.begin() + shard.end * batch.k);
    };
    return {shard.size(),      batch.k, slots(batch.classes), slots(batch.items), slots(batch.descriptions),
            slots(batch.seeds)};
}

class DistributedGroupSampler {
public:
    // `global.options().groups_per_batch` is the global batch, shared out among `ranks`.
    DistributedGroupSampler(GroupSampler global, int rank, int ranks)
        : global_(std::move(global)), shard_(shard_of(global_.options().groups_per_batch, rank, ranks)) {
        if (global_.options().groups_per_batch < ranks)
            fail("DistributedGroupSampler: a batch of ", global_.options().groups_per_batch,
                 " groups cannot be shared out among ", ranks,
                 " ranks; use at least one group per rank (a larger batch, or fewer processes)");
    }

    SampledBatch next() { return take_groups(global_.next(), shard_); }

    std::int64_t batches_per_epoch() const { return global_.batches_per_epoch(); }
    std::int64_t global_groups() const { return global_.options().groups_per_batch; }
    Shard shard() const { return shard_; }
    const GroupSamplerOptions& options() const { return global_.options(); }

    io::Json state() const { return global_.state(); }
    void load_state(const io::Json& state) { global_.load_state(state); }

private:
    GroupSampler global_;
    Shard shard_;
};

} // namespace clipft::train
