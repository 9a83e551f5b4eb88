// clipft sbi: self-blended images (faces/self_blend.hpp) of the real crops of a `clipft faces`
// manifest, each with its mask, as PNG files and a manifest of their own.
#include "options.hpp"
#include "self_blend_options.hpp"

#include <clipft/backend/threads.hpp>
#include <clipft/data/self_blended.hpp>
#include <clipft/image/save.hpp>
#include <clipft/io/csv_write.hpp>
#include <clipft/io/json.hpp>
#include <clipft/progress.hpp>

#include <iostream>
#include <mutex>

namespace clipft::cli {

int sbi(const Options& options) {
    namespace fs = std::filesystem;
    if (!options.positional().empty()) throw UsageError("unexpected argument '" + options.positional().front() + "'");
    if (options.given("threads")) backend::set_num_threads(int(options.integer("threads")));
    const fs::path manifest = options.text("data"), out = options.text("out");
    const long per_face = options.integer("per-face");
    if (per_face < 1) throw UsageError("--per-face expects a count >= 1, got " + options.text("per-face"));
    const auto seed = std::uint64_t(options.integer("seed"));
    const faces::SelfBlendOptions blending = self_blend_options(options);
    if (!fs::is_regular_file(manifest)) fail(manifest.string(), ": no such manifest (a manifest.csv of clipft faces)");
    if (!io::read_csv(manifest).find_column("landmarks"))
        fail(manifest.string(),
             ": no landmarks column; self-blending needs each crop's landmarks, as in a manifest of clipft faces");
    // The real crops: label `real`, or every row when the manifest has no labels.
    const data::Dataset dataset = data::Dataset::from_manifest(manifest);
    const auto real = std::find(dataset.classes.begin(), dataset.classes.end(), "real");
    const std::int64_t real_class = real != dataset.classes.end()                     ? real - dataset.classes.begin()
                                    : dataset.classes == std::vector<std::string>{""} ? 0
                                                                                      : -1;
    if (real_class < 0)
        fail(manifest.string(), ": no crops labelled 'real' (labels: ", dataset.classes.front(), ", ...)");
    std::vector<const data::Sample*> reals;
    for (const data::Sample& sample : dataset.samples)
        if (sample.label == real_class) reals.push_back(&sample);
    data::require_landmarks(dataset, real_class, manifest.string());

    // Each job writes DIR/<crop's path under the manifest's folder>_sbiK.png and its _sbiK_mask.png.
    struct Job {
        const data::Sample* sample;
        std::int64_t index, copy;
        fs::path fake, mask;
        std::string error;
    };
    std::vector<Job> jobs;
    const fs::path base = manifest.parent_path();
    for (std::size_t r = 0; r < reals.size(); ++r) {
        fs::path relative = reals[r]->path.lexically_relative(base);
        if (relative.empty() || *relative.begin() == "..") relative = reals[r]->path.filename();
        relative.replace_extension();
        for (long k = 0; k < per_face; ++k) {
            const std::string stem = relative.filename().string() + "_sbi" + std::to_string(k);
            jobs.push_back({reals[r],
                            std::int64_t(r),
                            k,
                            relative.parent_path() / (stem + ".png"),
                            relative.parent_path() / (stem + "_mask.png"),
                            {}});
        }
    }
    fs::create_directories(out);
    ProgressBar progress("sbi", std::int64_t(jobs.size()), "img", !options.flag("quiet"));
    auto remove_written = [&] {
        for (const Job& job : jobs) {
            std::error_code ignored;
            fs::remove(out / job.fake, ignored), fs::remove(out / job.mask, ignored);
        }
    };
    constexpr std::int64_t chunk = 16;
    for (std::int64_t begin = 0; begin < std::int64_t(jobs.size()); begin += chunk) {
        const std::int64_t end = std::min<std::int64_t>(begin + chunk, std::int64_t(jobs.size()));
        backend::parallel_for(end - begin, 1, [&](std::int64_t first, std::int64_t last) {
            for (std::int64_t j = begin + first; j < begin + last; ++j) {
                Job& job = jobs[std::size_t(j)];
                try {
                    Generator generator(train::item_use_seed(seed, job.index, job.copy));
                    faces::BlendedFace blended = data::blend_sample(*job.sample, generator, blending);
                    fs::create_directories((out / job.fake).parent_path());
                    image::save_image(out / job.fake, blended.fake);
                    const std::vector<std::uint8_t> mask = data::mask_bytes(blended.mask);
                    const std::string bytes = image::encode_pixels(image::ImageFormat::png, mask.data(),
                                                                   blended.fake.height, blended.fake.width, 1);
                    io::write_file_atomically(out / job.mask, [&](io::FileWriter& writer) { writer.write(bytes); });
                } catch (const std::exception& error) {
                    job.error = error.what();
                }
            }
        });
        for (std::int64_t j = begin; j < end; ++j)
            if (!jobs[std::size_t(j)].error.empty()) {
                remove_written();
                fail(jobs[std::size_t(j)].error);
            }
        progress.update(end);
    }
    progress.finish();
    std::vector<std::vector<std::string>> rows;
    for (const Job& job : jobs)
        rows.push_back({job.fake.generic_string(), "fake", "SelfBlended", job.sample->video, job.sample->path.string(),
                        job.mask.generic_string()});
    io::write_csv(out / "manifest.csv", {"path", "label", "subset", "video", "source_crop", "mask"}, rows);
    std::cout << nlohmann::ordered_json{{"real_crops", reals.size()},
                                        {"fakes", jobs.size()},
                                        {"manifest", (out / "manifest.csv").string()}}
                     .dump()
              << "\n";
    return 0;
}

} // namespace clipft::cli
