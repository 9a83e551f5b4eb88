#pragma once
// What a Trainer's checkpoint holds beside its tensors (safetensors metadata 'trainer'): the
// counters and the states of its parts, with their JSON names, written and read in one place.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/io/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::train {

struct TrainerState {
    std::int64_t step = 0, epoch = 0, batch_in_epoch = 0, window_steps = 0;
    double epoch_loss_sum = 0, window_loss_sum = 0, seconds = 0;
    io::Json sampler, early_stopping;
    io::Json loss_scaler;                                // null without one (float16 training only)
    std::map<std::string, std::int64_t> optimizer_steps; // per parameter, beside its moments
    std::map<std::string, std::string> generators; // the model's random streams (Module::named_generators), by name
    std::vector<io::Json> history;

    io::Json to_json() const {
        io::Json state = {{"step", step},
                          {"epoch", epoch},
                          {"batch_in_epoch", batch_in_epoch},
                          {"epoch_loss_sum", epoch_loss_sum},
                          {"window_loss_sum", window_loss_sum},
                          {"window_steps", window_steps},
                          {"seconds", seconds},
                          {"sampler", sampler},
                          {"early_stopping", early_stopping},
                          {"optimizer_steps", optimizer_steps},
                          {"history", history}};
        if (!loss_scaler.is_null()) state["loss_scaler"] = loss_scaler;
        if (!generators.empty()) state["generators"] = generators;
        return state;
    }

    // `where` starts the messages, e.g. "run/checkpoint.safetensors: the trainer state (metadata 'trainer'): ".
    static TrainerState from_json(const io::Json& json, const std::string& where) {
        if (!json.is_object()) fail(where, "not a JSON object");
        auto field = [&](const char* name) -> const io::Json& {
            if (!json.contains(name)) fail(where, "no '", name, "'; was it written by another version of clipft?");
            return json.at(name);
        };
        auto number = [&](const char* name) {
            const io::Json& value = field(name);
            if (!value.is_number()) fail(where, "'", name, "' is ", value.dump(), ", not a number");
            return value.get<double>();
        };
        TrainerState state;
        state.step = io::json_integer(field("step"), where + "step");
        state.epoch = io::json_integer(field("epoch"), where + "epoch");
        state.batch_in_epoch = io::json_integer(field("batch_in_epoch"), where + "batch_in_epoch");
        state.window_steps = io::json_integer(field("window_steps"), where + "window_steps");
        state.epoch_loss_sum = number("epoch_loss_sum");
        state.window_loss_sum = number("window_loss_sum");
        state.seconds = number("seconds");
        state.sampler = field("sampler");
        state.early_stopping = field("early_stopping");
        if (json.contains("loss_scaler")) state.loss_scaler = json.at("loss_scaler");
        const io::Json& steps = field("optimizer_steps");
        if (!steps.is_object()) fail(where, "'optimizer_steps' is not an object of parameter names and step counts");
        for (const auto& [name, count] : steps.items())
            state.optimizer_steps[name] = io::json_integer(count, where + "optimizer steps of '" + name + "'");
        if (json.contains("generators")) { // absent without random streams
            const io::Json& generators = json.at("generators");
            if (!generators.is_object()) fail(where, "'generators' is not an object of stream names and states");
            for (const auto& [name, text] : generators.items()) {
                if (!text.is_string())
                    fail(where, "the state of random stream '", name, "' is ", text.dump(), ", not a string");
                state.generators[name] = text.get<std::string>();
            }
        }
        const io::Json& history = field("history");
        if (!history.is_array()) fail(where, "'history' is not a list of records");
        state.history = history.get<std::vector<io::Json>>();
        return state;
    }
};

} // namespace clipft::train
