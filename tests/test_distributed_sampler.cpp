// The distributed sampler: for every rank count, each rank's shard of every batch of an epoch is
// disjoint from the others' and together they are exactly the one-process batch (same groups, images,
// descriptions and augmentation seeds, in the same order); its state resumes on another rank count.
#include <doctest/doctest.h>

#include <clipft/train/distributed_sampler.hpp>

#include <map>
#include <set>

using namespace clipft;
using train::DistributedGroupSampler;
using train::GroupSampler;

namespace {

// Three classes with 9, 7 and 5 images, several descriptions each: per-batch draws and k < N both matter.
GroupSampler sampler(std::int64_t groups, train::DescriptionDraw draw = train::DescriptionDraw::per_batch) {
    std::vector<std::vector<std::int64_t>> items = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8}, {9, 10, 11, 12, 13, 14, 15}, {16, 17, 18, 19, 20}};
    return GroupSampler(items, {3, 2, 4},
                        {.k = 2, .groups_per_batch = groups, .description_draw = draw, .seed = 11, .draw_seeds = true});
}

void append(train::SampledBatch& whole, const train::SampledBatch& part) {
    whole.groups += part.groups;
    whole.k = part.k;
    whole.classes.insert(whole.classes.end(), part.classes.begin(), part.classes.end());
    whole.items.insert(whole.items.end(), part.items.begin(), part.items.end());
    whole.descriptions.insert(whole.descriptions.end(), part.descriptions.begin(), part.descriptions.end());
    whole.seeds.insert(whole.seeds.end(), part.seeds.begin(), part.seeds.end());
}

} // namespace

TEST_CASE("shards of groups are balanced, disjoint and cover the batch") {
    CHECK(train::shard_of(8, 0, 3).begin == 0);
    CHECK(train::shard_of(8, 0, 3).end == 2);
    CHECK(train::shard_of(8, 1, 3).end == 5);
    CHECK(train::shard_of(8, 2, 3).end == 8);
    CHECK_THROWS_AS(train::shard_of(8, 3, 3), Error);
}

TEST_CASE("every rank count gives disjoint shards whose union is the one-process batch, epoch after epoch") {
    for (auto draw : {train::DescriptionDraw::per_batch, train::DescriptionDraw::per_group}) {
        for (int ranks : {1, 2, 3, 4, 6}) {
            CAPTURE(ranks);
            GroupSampler reference = sampler(6, draw);
            std::vector<DistributedGroupSampler> shards;
            for (int rank = 0; rank < ranks; ++rank) shards.emplace_back(sampler(6, draw), rank, ranks);
            CHECK(shards.front().batches_per_epoch() == reference.batches_per_epoch());
            for (std::int64_t batch = 0; batch < 3 * reference.batches_per_epoch(); ++batch) {
                train::SampledBatch expected = reference.next(), whole;
                std::set<std::int64_t> groups_seen;
                for (int rank = 0; rank < ranks; ++rank) {
                    train::SampledBatch part = shards[std::size_t(rank)].next();
                    for (std::int64_t g = shards[std::size_t(rank)].shard().begin;
                         g < shards[std::size_t(rank)].shard().end; ++g)
                        CHECK(groups_seen.insert(g).second); // no group on two ranks
                    append(whole, part);
                }
                CHECK(groups_seen.size() == 6); // every group on some rank
                CHECK(whole.groups == expected.groups);
                CHECK(whole.classes == expected.classes);
                CHECK(whole.items == expected.items);
                CHECK(whole.descriptions == expected.descriptions);
                CHECK(whole.seeds == expected.seeds);
            }
        }
    }
}

TEST_CASE("with one description per class per batch, every rank uses the same description for a class") {
    std::vector<DistributedGroupSampler> shards;
    for (int rank = 0; rank < 3; ++rank) shards.emplace_back(sampler(6), rank, 3);
    for (int batch = 0; batch < 10; ++batch) {
        std::map<std::int64_t, std::set<std::int64_t>> descriptions_of_class;
        for (auto& shard : shards) {
            train::SampledBatch part = shard.next();
            for (std::size_t slot = 0; slot < part.classes.size(); ++slot)
                descriptions_of_class[part.classes[slot]].insert(part.descriptions[slot]);
        }
        for (const auto& [class_id, descriptions] : descriptions_of_class) CHECK(descriptions.size() == 1);
    }
}

TEST_CASE("a sampler saved by two ranks resumes on three ranks with the same global batches") {
    GroupSampler reference = sampler(6);
    DistributedGroupSampler two(sampler(6), 1, 2);
    for (int batch = 0; batch < 4; ++batch) {
        reference.next();
        two.next();
    }
    io::Json saved = two.state();
    std::vector<DistributedGroupSampler> three;
    for (int rank = 0; rank < 3; ++rank) {
        three.emplace_back(sampler(6), rank, 3);
        three.back().load_state(saved);
    }
    for (int batch = 0; batch < 5; ++batch) {
        train::SampledBatch expected = reference.next(), whole;
        for (auto& shard : three) append(whole, shard.next());
        CHECK(whole.items == expected.items);
        CHECK(whole.seeds == expected.seeds);
    }
}

TEST_CASE("a batch smaller than the rank count is refused") {
    CHECK_THROWS_WITH_AS(DistributedGroupSampler(sampler(2), 0, 3),
                         doctest::Contains("cannot be shared out among 3 ranks"), Error);
}
