// clipft synth: a small face dataset generated procedurally, to try fine-tuning and the thesis'
// experiments with no data: DIR/real/*.png and DIR/fake/<manipulation>/*.png, the folder layout that
// `clipft finetune --data` and clipft-experiment read (a fake's folder is its subset, as the
// manipulations of FaceForensics++).
#include "options.hpp"

#include <clipft/data/synthetic_faces.hpp>
#include <clipft/image/save.hpp>
#include <clipft/io/json.hpp>

#include <cstdio>
#include <iostream>

namespace clipft::cli {

namespace {

std::string numbered_png(std::int64_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "%05lld.png", (long long)number);
    return name;
}

bool holds_files(const std::filesystem::path& folder) {
    return std::filesystem::is_directory(folder) &&
           std::filesystem::directory_iterator(folder) != std::filesystem::directory_iterator();
}

} // namespace

int synth(const Options& options) {
    const std::int64_t images = options.integer("images"), size = options.integer("size");
    if (images < 2)
        throw UsageError("--images must be at least 2 (real faces; as many fakes, half of each manipulation)");
    if (size < 32) throw UsageError("--size must be at least 32 pixels, got " + std::to_string(size));
    const std::uint64_t seed = std::uint64_t(options.integer("seed"));
    const std::filesystem::path out = options.text("out");
    // New files among an earlier run's would mix two datasets unnoticed.
    for (const char* part : {"real", "fake"})
        if (holds_files(out / part))
            fail((out / part).string(), " already holds files; give --out an empty or new folder");

    struct Manipulation {
        data::FakeKind kind;
        std::int64_t count;
    };
    const std::vector<Manipulation> manipulations{{data::FakeKind::self_blended, images / 2},
                                                  {data::FakeKind::face_swap, images - images / 2}};
    std::filesystem::create_directories(out / "real");
    std::int64_t real = 0;
    io::Json fakes = io::Json::object();
    for (std::size_t m = 0; m < manipulations.size(); ++m) {
        const Manipulation& manipulation = manipulations[m];
        // Each call draws as many real faces as fakes, so the reals add up to --images.
        data::SyntheticDeepfakes set =
            data::synthetic_deepfakes(manipulation.count, size, manipulation.kind, seed * manipulations.size() + m);
        const std::string name = data::fake_kind_name(manipulation.kind);
        const std::filesystem::path fake_folder = out / "fake" / name;
        std::filesystem::create_directories(fake_folder);
        std::int64_t fake = 0;
        for (std::size_t i = 0; i < set.images.size(); ++i)
            image::save_image(set.labels[i] == 0 ? out / "real" / numbered_png(real++)
                                                 : fake_folder / numbered_png(fake++),
                              set.images[i]);
        fakes[name] = fake;
    }
    std::cout
        << io::Json{{"folder", out.string()}, {"real", real}, {"fake", fakes}, {"size", size}, {"seed", seed}}.dump()
        << "\n";
    return 0;
}

} // namespace clipft::cli
