// Group sampling: distinct classes per group, images and descriptions without replacement per
// pass, descriptions per batch or per group, epoch length, seeding and state round trips.
#include "assertions.hpp"

#include <clipft/train/sampler.hpp>

#include <map>
#include <set>

using namespace clipft;
using namespace clipft::train;

namespace {

// Classes of 0..sizes[c]-1 items each, numbered consecutively across classes.
std::vector<std::vector<std::int64_t>> classes_of_sizes(const std::vector<std::int64_t>& sizes) {
    std::vector<std::vector<std::int64_t>> items;
    std::int64_t next = 0;
    for (std::int64_t size : sizes) {
        items.emplace_back();
        for (std::int64_t i = 0; i < size; ++i) items.back().push_back(next++);
    }
    return items;
}

} // namespace

TEST_CASE("a reshuffled list yields every item once per pass, in a new order each pass") {
    Generator generator(3);
    ReshuffledList list(10);
    std::vector<std::int64_t> first, second;
    for (int i = 0; i < 10; ++i) first.push_back(list.next(generator));
    for (int i = 0; i < 10; ++i) second.push_back(list.next(generator));
    CHECK(std::set<std::int64_t>(first.begin(), first.end()).size() == 10);
    CHECK(std::set<std::int64_t>(second.begin(), second.end()).size() == 10);
    CHECK(first != second);
    CHECK(testing::error_message([&] { ReshuffledList(0).next(generator); }).find("empty") != std::string::npos);
}

TEST_CASE("binary pairs: one real and one fake per group, every image once per pass over the smaller class") {
    GroupSampler sampler(classes_of_sizes({6, 10}), {1, 1}, {.k = 2, .groups_per_batch = 3, .seed = 7});
    CHECK(sampler.batches_per_epoch() == 2); // 6 pairs per epoch, 3 per batch
    std::map<std::int64_t, int> uses;
    for (int b = 0; b < 2; ++b) {
        SampledBatch batch = sampler.next();
        REQUIRE(batch.classes.size() == 6);
        for (std::size_t slot = 0; slot < 6; ++slot) {
            CHECK(batch.classes[slot] == std::int64_t(slot % 2)); // (real, fake) in class order
            CHECK((batch.items[slot] < 6) == (batch.classes[slot] == 0));
            ++uses[batch.items[slot]];
        }
    }
    for (std::int64_t real = 0; real < 6; ++real) CHECK(uses[real] == 1);
    for (const auto& [item, count] : uses) CHECK(count == 1);
}

TEST_CASE("k of N: each group holds k distinct classes, all classes are used") {
    GroupSampler sampler(classes_of_sizes({5, 5, 5, 5, 5}), {1, 1, 1, 1, 1},
                         {.k = 3, .groups_per_batch = 4, .seed = 1});
    CHECK(sampler.batches_per_epoch() == 2); // 5 * 5 / 3 = 8 groups, 4 per batch
    std::set<std::int64_t> seen;
    for (int b = 0; b < 20; ++b) {
        SampledBatch batch = sampler.next();
        for (std::int64_t g = 0; g < batch.groups; ++g) {
            std::set<std::int64_t> group(batch.classes.begin() + g * 3, batch.classes.begin() + g * 3 + 3);
            CHECK(group.size() == 3);
            seen.insert(group.begin(), group.end());
        }
    }
    CHECK(seen.size() == 5);
}

TEST_CASE("one description per class per batch, or one per group, each used once per pass") {
    for (auto draw : {DescriptionDraw::per_batch, DescriptionDraw::per_group}) {
        GroupSampler sampler(classes_of_sizes({40, 40}), {4, 3},
                             {.k = 2, .groups_per_batch = 6, .description_draw = draw, .seed = 2});
        std::vector<std::int64_t> real_descriptions;
        for (int b = 0; b < 4; ++b) {
            SampledBatch batch = sampler.next();
            std::set<std::int64_t> real_in_batch;
            for (std::size_t slot = 0; slot < batch.classes.size(); ++slot)
                if (batch.classes[slot] == 0) {
                    real_in_batch.insert(batch.descriptions[slot]);
                    if (draw == DescriptionDraw::per_group) real_descriptions.push_back(batch.descriptions[slot]);
                }
            if (draw == DescriptionDraw::per_batch) {
                CHECK(real_in_batch.size() == 1);
                real_descriptions.push_back(*real_in_batch.begin());
            }
        }
        // Without replacement: the first four draws of class 0 are its four descriptions.
        std::set<std::int64_t> first_pass(real_descriptions.begin(), real_descriptions.begin() + 4);
        CHECK(first_pass.size() == 4);
    }
}

TEST_CASE("the same seed gives the same batches, and a saved state continues the sequence") {
    GroupSamplerOptions options{.k = 2, .groups_per_batch = 2, .seed = 11};
    GroupSampler a(classes_of_sizes({7, 9}), {3, 2}, options), b(classes_of_sizes({7, 9}), {3, 2}, options);
    for (int i = 0; i < 5; ++i) CHECK(a.next().items == b.next().items);
    GroupSampler c(classes_of_sizes({7, 9}), {3, 2}, options);
    c.load_state(io::Json::parse(a.state().dump()));
    for (int i = 0; i < 9; ++i) {
        SampledBatch x = a.next(), y = c.next();
        CHECK(x.items == y.items);
        CHECK(x.descriptions == y.descriptions);
    }
    options.seed = 12;
    GroupSampler d(classes_of_sizes({7, 9}), {3, 2}, options);
    CHECK(GroupSampler(classes_of_sizes({7, 9}), {3, 2}, {.k = 2, .groups_per_batch = 2, .seed = 11}).next().items !=
          d.next().items);
}

TEST_CASE("the sampler refuses empty classes, impossible k and foreign state") {
    CHECK(testing::error_message([] {
              GroupSampler(classes_of_sizes({3, 0}), {1, 1}, {});
          }).find("class 1 has no images") != std::string::npos);
    CHECK(testing::error_message([] {
              GroupSampler(classes_of_sizes({3, 3}), {1, 1}, {.k = 3});
          }).find("k = 3") != std::string::npos);
    CHECK(testing::error_message([] {
              GroupSampler(classes_of_sizes({3, 3}), {1, 0}, {});
          }).find("no descriptions") != std::string::npos);
    CHECK(testing::error_message([] {
              GroupSampler(classes_of_sizes({3, 3}), {1}, {});
          }).find("descriptions for 1") != std::string::npos);
    GroupSampler two(classes_of_sizes({3, 3}), {1, 1}, {}), three(classes_of_sizes({3, 3, 3}), {1, 1, 1}, {});
    CHECK(testing::error_message([&] { two.load_state(three.state()); }).find("classes") != std::string::npos);

    // A saved list must be a list of this sampler's items, and its numbers whole (a hostile checkpoint).
    ReshuffledList list(3);
    CHECK(testing::error_message([&] {
              list.load_state({{"order", {0, 7, 1}}, {"position", 1}});
          }) ==
          "ReshuffledList::load_state: the saved list holds item 7, outside a list of 3 items; was the dataset changed "
          "since the checkpoint?");
    CHECK(testing::error_message([&] {
              list.load_state({{"order", {0, 2, 1}}, {"position", 1e300}});
          }) == "ReshuffledList::load_state: the position must be a whole number below 2^63, not 1e+300");
    list.load_state({{"order", {0, 2, 1}}, {"position", 1}});
    Generator generator(1);
    CHECK(list.next(generator) == 2);
}

TEST_CASE("with draw_seeds every slot gets a seed, reproducible and carried by the state") {
    GroupSamplerOptions options{.k = 2, .groups_per_batch = 3, .seed = 4, .draw_seeds = true};
    GroupSampler a(classes_of_sizes({5, 5}), {1, 1}, options), b(classes_of_sizes({5, 5}), {1, 1}, options);
    SampledBatch first = a.next();
    CHECK(first.seeds.size() == 6);
    CHECK(std::set<std::uint64_t>(first.seeds.begin(), first.seeds.end()).size() == 6);
    CHECK(b.next().seeds == first.seeds);
    GroupSampler c(classes_of_sizes({5, 5}), {1, 1}, options);
    c.load_state(a.state());
    CHECK(c.next().seeds == a.next().seeds);
    options.draw_seeds = false;
    CHECK(GroupSampler(classes_of_sizes({5, 5}), {1, 1}, options).next().seeds.empty());
}
