// State changes only after validation: an optimizer step, a trainer's resume and an image's
// allocation that fail leave everything as it was (and fail with a clipft::Error).
#include "fixtures.hpp"
#include "training_data.hpp"

#include <clipft/image/image.hpp>
#include <clipft/io/json.hpp>
#include <clipft/io/safetensors.hpp>
#include <clipft/models/clip.hpp>
#include <clipft/optim/adamw.hpp>
#include <clipft/train/trainer.hpp>

#include <doctest/doctest.h>

#include <limits>
#include <memory>

using namespace clipft;

TEST_CASE("AdamW::step that fails on one parameter updates none and counts no step") {
    Tensor<float> first = Tensor<float>::full({2, 2}, 1.0f).requires_grad_();
    Tensor<float> second = Tensor<float>::full({3}, 2.0f).requires_grad_();
    optim::AdamW<float> optimizer({{{{"first", first}, {"second", second}}, 0.1}}, {.learning_rate = 0.1});
    first.accumulate_grad(Tensor<float>::ones({2, 2}));
    second.accumulate_grad(Tensor<float>::ones({4})); // the wrong shape, found after `first`
    CHECK_THROWS_WITH_AS(optimizer.step(), doctest::Contains("the gradient of 'second' has shape [4]"), Error);
    CHECK(first.to_vector() == std::vector<float>(4, 1.0f));
    CHECK(second.to_vector() == std::vector<float>(3, 2.0f));
    CHECK(optimizer.state().empty());

    second.zero_grad();
    second.accumulate_grad(Tensor<float>::ones({3}));
    optimizer.step();
    REQUIRE(optimizer.state().size() == 2);
    CHECK(optimizer.state().at("first").step == 1);
    CHECK(optimizer.state().at("second").step == 1);
    CHECK(first.to_vector()[0] < 1.0f);
}

TEST_CASE("Image(height, width, channels) validates before it allocates") {
    CHECK_THROWS_WITH_AS(image::Image(-1, 5, 3), doctest::Contains("an image needs a positive size"), Error);
    CHECK_THROWS_WITH_AS(image::Image(4, 5, 2), doctest::Contains("3 (RGB) or 4 (RGBA) channels"), Error);
    constexpr std::int64_t huge = std::int64_t(1) << 40;
    CHECK_THROWS_WITH_AS(image::Image(huge, huge, 3), doctest::Contains("too many to hold in memory"), Error);
    image::Image small(2, 3, 4);
    CHECK(small.pixels.size() == 24);
}

TEST_CASE("Trainer::resume from a checkpoint with a bad trainer state leaves the weights and counters alone") {
    if (testing::fixture_path("tiny-a/openai.safetensors").empty()) return;
    testing::TemporaryDirectory folder;
    auto trainer_for = [&](models::CLIP<float>& model) {
        train::TrainerOptions options = testing::small_run(folder.path());
        options.max_steps = 1;
        return std::make_unique<train::Trainer>(model, testing::generated_images(8, 1), testing::generated_images(4, 2),
                                                testing::deepfake_descriptions(), options);
    };
    auto trained = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
    trainer_for(*trained)->run();
    const std::filesystem::path checkpoint = folder.path() / "checkpoint.safetensors";
    io::SafetensorsFile file = io::load_safetensors(checkpoint);

    // The same tensors; a state whose last fields are wrong, read after the weights.
    auto rewritten = [&](const std::function<void(io::Json&)>& spoil) {
        io::Json state = io::Json::parse(file.metadata().at("trainer"));
        spoil(state);
        io::NamedTensors tensors;
        for (const std::string& name : file.names()) tensors.emplace_back(name, file.get<float>(name).clone());
        io::Metadata metadata = file.metadata();
        metadata["trainer"] = state.dump();
        std::filesystem::path path = folder.path() / "spoiled.safetensors";
        io::save_safetensors(path, tensors, metadata);
        return path;
    };
    auto fresh = models::load_clip<float>(testing::fixture_path("tiny-a/openai.safetensors"));
    const std::string name = fresh->named_parameters().front().first;
    const std::vector<float> before = fresh->named_parameters().front().second.to_vector();
    REQUIRE(file.get<float>("model." + name).to_vector() != before); // the run changed this weight
    auto trainer = trainer_for(*fresh);
    for (auto spoil : std::vector<std::function<void(io::Json&)>>{
             [](io::Json& state) { state["history"] = "not a list"; },
             [](io::Json& state) {
                 state["history"] = io::Json::array({io::Json{{"kind", "train"}, {"step", "one"}}});
             },
             [](io::Json& state) { state["window_steps"] = -0.5; },
             [](io::Json& state) { state["early_stopping"] = io::Json::array(); }}) {
        CHECK_THROWS_AS(trainer->resume(rewritten(spoil)), Error);
        CHECK(fresh->named_parameters().front().second.to_vector() == before);
        CHECK(trainer->step() == 0);
        CHECK(trainer->optimizer().state().empty());
    }
    trainer->resume(checkpoint);
    CHECK(fresh->named_parameters().front().second.to_vector() == file.get<float>("model." + name).to_vector());
    CHECK(trainer->step() == 1);
}

TEST_CASE("TrainerState: to_json and from_json round trip; a missing or mistyped field is named") {
    train::TrainerState state{.step = 7,
                              .epoch = 2,
                              .batch_in_epoch = 1,
                              .window_steps = 3,
                              .epoch_loss_sum = 1.5,
                              .window_loss_sum = 0.25,
                              .seconds = 9.5,
                              .sampler = {{"draws", 4}},
                              .early_stopping = {{"best", 0.5}},
                              .loss_scaler = io::Json(),
                              .optimizer_steps = {{"a", 7}, {"b", 6}},
                              .generators = {{"q_adapter.dropout", "1 0 0x0p+0 5"}},
                              .history = {io::Json{{"kind", "train"}}}};
    io::Json json = state.to_json();
    CHECK_FALSE(json.contains("loss_scaler"));
    train::TrainerState back = train::TrainerState::from_json(json, "x: ");
    CHECK(back.to_json() == json);
    CHECK(back.step == 7);
    CHECK(back.optimizer_steps == state.optimizer_steps);
    CHECK(back.loss_scaler.is_null());
    CHECK(back.generators == state.generators);

    io::Json missing = json;
    missing.erase("epoch");
    CHECK_THROWS_WITH_AS(train::TrainerState::from_json(missing, "x: "), doctest::Contains("x: no 'epoch'"), Error);
    io::Json mistyped = json;
    mistyped["seconds"] = "soon";
    CHECK_THROWS_WITH_AS(train::TrainerState::from_json(mistyped, "x: "),
                         doctest::Contains("'seconds' is \"soon\", not a number"), Error);
    mistyped = json;
    mistyped["optimizer_steps"] = {{"a", 1.5}};
    CHECK_THROWS_WITH_AS(train::TrainerState::from_json(mistyped, "x: "), doctest::Contains("optimizer steps of 'a'"),
                         Error);
    mistyped = json;
    mistyped["generators"] = {{"q_adapter.dropout", 3}};
    CHECK_THROWS_WITH_AS(train::TrainerState::from_json(mistyped, "x: "),
                         doctest::Contains("random stream 'q_adapter.dropout'"), Error);
}
