// clipft dataset: the videos of FaceForensics++, Celeb-DF v2 or the DFDC Preview, in the splits
// each dataset defines, as manifests for `clipft faces --manifest`.
#include "options.hpp"

#include <clipft/data/datasets/celebdf.hpp>
#include <clipft/data/datasets/dfdcp.hpp>
#include <clipft/data/datasets/ffpp.hpp>
#include <clipft/io/json.hpp>

#include <iostream>

namespace clipft::cli {

int dataset(const Options& options) {
    using namespace data::datasets;
    if (options.positional().size() != 1)
        throw UsageError("name the dataset: clipft dataset ffpp|celebdf|dfdcp --root R --out DIR");
    const std::string name = options.positional().front();
    const double fraction = options.number("validation-fraction");
    if (!(fraction > 0 && fraction < 1))
        throw UsageError("--validation-fraction expects a fraction in (0, 1), got " +
                         options.text("validation-fraction"));
    const auto seed = std::uint64_t(options.integer("seed"));
    const std::string root = options.text("root");
    VideoSplits splits;
    if (name == "ffpp") {
        FaceForensicsOptions settings{options.text("compression"), {}};
        if (settings.compression != "raw" && settings.compression != "c23" && settings.compression != "c40")
            throw UsageError("--compression expects raw, c23 or c40, got '" + settings.compression + "'");
        for (const std::string& list : options.list("methods"))
            for (std::size_t start = 0; start <= list.size();) {
                std::size_t end = std::min(list.find(',', start), list.size());
                if (end > start) settings.methods.push_back(list.substr(start, end - start));
                start = end + 1;
            }
        if (settings.methods.empty()) settings.methods = FaceForensicsOptions{}.methods;
        for (const std::string& method : settings.methods)
            if (std::find(face_forensics_methods().begin(), face_forensics_methods().end(), method) ==
                face_forensics_methods().end())
                throw UsageError("--methods: unknown method '" + method +
                                 "' (Deepfakes, Face2Face, FaceSwap, NeuralTextures, FaceShifter)");
        splits = import_face_forensics(root, settings);
    } else if (name == "celebdf") {
        splits = import_celeb_df(root, fraction, seed);
    } else if (name == "dfdcp") {
        splits = import_dfdc_preview(root, fraction, seed);
    } else {
        throw UsageError("unknown dataset '" + name + "'; use ffpp, celebdf or dfdcp");
    }
    if (options.flag("disjoint-identities")) drop_test_identities(splits);
    const std::set<std::string> shared = identities_in_two_splits(splits);
    const std::filesystem::path out = options.text("out");
    write_video_splits(splits, out, root);

    nlohmann::ordered_json summary = {{"dataset", name}, {"out", out.string()}};
    for (auto [split, videos] : {std::pair{"train", &splits.train},
                                 {"val", &splits.val},
                                 {"test", &splits.test},
                                 {"dropped", &splits.dropped}}) {
        nlohmann::ordered_json counts = {{"real", 0}, {"fake", 0}};
        for (const Video& video : *videos) {
            counts[video.label] = counts[video.label].get<std::int64_t>() + 1;
            if (!video.subset.empty()) counts[video.subset] = counts.value(video.subset, std::int64_t(0)) + 1;
        }
        summary[split] = counts;
    }
    summary["identities_in_two_splits"] = shared.size();
    if (!shared.empty())
        std::cerr << "clipft dataset: " << shared.size() << " identities (e.g. " << *shared.begin()
                  << ") are in two splits, as in the dataset's official test list; --disjoint-identities drops those "
                     "training videos\n";
    std::cout << summary.dump() << "\n";
    return 0;
}

} // namespace clipft::cli
