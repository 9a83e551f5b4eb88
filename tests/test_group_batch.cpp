// GroupBatch: the batch built from a description table keeps only the rows in use, and moves to a
// device as a whole.
#include <clipft/ops.hpp>
#include <clipft/train/group_batch.hpp>

#include <doctest/doctest.h>

using namespace clipft;

TEST_CASE("make_group_batch keeps each used description once, in table order") {
    auto table = Tensor<std::int64_t>::from_vector({10, 11, 20, 21, 30, 31}, {3, 2}); // three descriptions of length 2
    auto rows = Tensor<std::int64_t>::from_vector({2, 0, 2, 0}, {2, 2});
    auto classes = Tensor<std::int64_t>::from_vector({1, 0, 1, 0}, {2, 2});
    auto batch = train::make_group_batch(Tensor<float>::zeros({2, 2, 3, 1, 1}), classes, table, rows);
    CHECK(batch.groups() == 2);
    CHECK(batch.k() == 2);
    CHECK(batch.token_ids.to_vector() == std::vector<std::int64_t>{10, 11, 30, 31}); // row 1 is unused
    CHECK(batch.description_of_slot.to_vector() == std::vector<std::int64_t>{1, 0, 1, 0});
}

TEST_CASE("to(device) moves every tensor of the batch; to its own device it copies nothing") {
    auto table = Tensor<std::int64_t>::from_vector({5, 6}, {1, 2});
    auto slots = Tensor<std::int64_t>::zeros({1, 2});
    auto batch = train::make_group_batch(Tensor<float>::ones({1, 2, 3, 2, 2}), slots, table, slots);
    auto moved = batch.to(Device::cpu());
    CHECK(moved.pixels.shares_storage_with(batch.pixels));
    CHECK(moved.class_ids.shares_storage_with(batch.class_ids));
    CHECK(moved.token_ids.shares_storage_with(batch.token_ids));
    CHECK(moved.description_of_slot.shares_storage_with(batch.description_of_slot));
#ifndef CLIPFT_WITH_CUDA
    CHECK_THROWS_AS(batch.to(Device::cuda(0)), Error);
#endif
}
