// clipft interpolate: WiSE-FT weight interpolation of two checkpoints or two linear probes
// (heads/interpolate.hpp), for one alpha or a list of them.
#include "options.hpp"

#include <clipft/clip.hpp>

#include <iostream>

namespace clipft::cli {

int interpolate(const Options& options) {
    std::vector<double> alphas;
    try {
        alphas = heads::parse_alphas(options.text("alpha"));
    } catch (const Error& error) {
        throw UsageError(std::string("--alpha: ") + error.what());
    }
    const std::filesystem::path out = options.text("out");
    const bool several = alphas.size() > 1;
    if (!several && out.extension() != ".safetensors")
        throw UsageError("with one --alpha, --out names the .safetensors file to write, got '" + out.string() + "'");
    if (several && out.extension() == ".safetensors")
        throw UsageError("with several alphas, --out names a folder (it gets alpha-<a>.safetensors), got '" +
                         out.string() + "'");
    // Every check runs before the first file is written.
    heads::WeightInterpolation interpolation(options.text("from"), options.text("to"));
    if (several) std::filesystem::create_directories(out);
    nlohmann::ordered_json written = nlohmann::ordered_json::array();
    for (double alpha : alphas) {
        std::filesystem::path file = several ? out / ("alpha-" + heads::alpha_text(alpha) + ".safetensors") : out;
        interpolation.write(alpha, file);
        written.push_back({{"alpha", alpha}, {"out", file.string()}});
        if (!options.flag("quiet"))
            std::cerr << "clipft interpolate: alpha " << heads::alpha_text(alpha) << " -> " << file.string() << "\n";
    }
    nlohmann::ordered_json result = {{"from", options.text("from")},
                                     {"to", options.text("to")},
                                     {"tensors", interpolation.size()},
                                     {"written", written}};
    std::cout << result.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
