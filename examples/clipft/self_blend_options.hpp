#pragma once
// The options of faces/self_blend.hpp on the command line, shared by clipft sbi and clipft finetune
// --fakes self-blended: --sbi-NAME for each SelfBlendOptions field, defaults from the struct.
#include "options.hpp"

#include <clipft/faces/self_blend.hpp>

#include <sstream>

namespace clipft::cli {

inline std::vector<OptionSpec> self_blend_option_specs() {
    using Kind = OptionSpec::Kind;
    return {{"sbi-colour-jitter", Kind::value, "0.1,0.1,0.1,0.02"},
            {"sbi-downscale-probability", Kind::value, "0.5"},
            {"sbi-downscale", Kind::value, "0.5,0.9"},
            {"sbi-max-scale-change", Kind::value, "0.05"},
            {"sbi-max-shift", Kind::value, "0.03"},
            {"sbi-mask-deformation", Kind::value, "0.1"},
            {"sbi-erosion", Kind::value, "0,0.05"},
            {"sbi-edge-blur", Kind::value, "0.01,0.05"},
            {"sbi-blend-ratios", Kind::value, "0.25,0.5,0.75,1,1,1"}};
}

inline const char* self_blend_options_help =
    "  self-blending (faces/self_blend.hpp; fractions of the face size):\n"
    "             --sbi-colour-jitter B,C,S,H  --sbi-downscale-probability P  --sbi-downscale MIN,MAX\n"
    "             --sbi-max-scale-change S  --sbi-max-shift S  --sbi-mask-deformation D  --sbi-erosion MIN,MAX\n"
    "             --sbi-edge-blur MIN,MAX  --sbi-blend-ratios R,...";

inline faces::SelfBlendOptions self_blend_options(const Options& options) {
    auto numbers = [&](const std::string& name, std::size_t count) {
        std::vector<double> values;
        std::istringstream in(options.text(name));
        for (std::string field; std::getline(in, field, ',');) {
            std::size_t used = 0;
            double value = 0;
            try {
                value = std::stod(field, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (field.empty() || used != field.size())
                throw UsageError("--" + name + " expects numbers separated by commas, got '" + options.text(name) +
                                 "'");
            values.push_back(value);
        }
        if (count > 0 && values.size() != count)
            throw UsageError("--" + name + " expects " + std::to_string(count) + " numbers, got '" +
                             options.text(name) + "'");
        if (values.empty()) throw UsageError("--" + name + " expects at least one number");
        return values;
    };
    faces::SelfBlendOptions result;
    const std::vector<double> jitter = numbers("sbi-colour-jitter", 4), downscale = numbers("sbi-downscale", 2),
                              erosion = numbers("sbi-erosion", 2), blur = numbers("sbi-edge-blur", 2);
    result.colour_jitter = {jitter[0], jitter[1], jitter[2], jitter[3]};
    result.downscale_probability = numbers("sbi-downscale-probability", 1)[0];
    result.min_downscale = downscale[0], result.max_downscale = downscale[1];
    result.max_scale_change = numbers("sbi-max-scale-change", 1)[0];
    result.max_shift = numbers("sbi-max-shift", 1)[0];
    result.mask_deformation = numbers("sbi-mask-deformation", 1)[0];
    result.min_erosion = erosion[0], result.max_erosion = erosion[1];
    result.min_edge_blur = blur[0], result.max_edge_blur = blur[1];
    result.blend_ratios = numbers("sbi-blend-ratios", 0);
    try {
        faces::detail::check_options(result);
    } catch (const Error& error) {
        throw UsageError(std::string("the --sbi-* options: ") + error.what());
    }
    return result;
}

} // namespace clipft::cli
