#pragma once
// FaceForensics++ (Rössler et al., ICCV 2019) in its own layout and official splits:
//   R/splits/{train,val,test}.json           lists of [a, b] pairs of original video numbers
//   R/original_sequences/youtube/<c>/videos/a.mp4
//   R/manipulated_sequences/<Method>/<c>/videos/a_b.mp4   (a's video with b's face or expressions)
// A pair [a, b] puts the reals a and b and the fakes a_b and b_a of every method in one split, so no
// identity is in two. A fake a_b shows a and b and comes from the original a (its source).
#include <clipft/backends.hpp>
#include <clipft/data/datasets/video_list.hpp>
#include <clipft/io/json.hpp>

#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::data::datasets {

struct FaceForensicsOptions {
    std::string compression = "c23"; // raw, c23 or c40
    std::vector<std::string> methods = {"Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"};
};

inline const std::vector<std::string>& face_forensics_methods() {
    static const std::vector<std::string> methods = {"Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures",
                                                     "FaceShifter"};
    return methods;
}

// The [a, b] pairs of one split file.
inline std::vector<std::pair<std::string, std::string>> read_face_forensics_pairs(const std::filesystem::path& file) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(file, error))
        fail(file.string(),
             ": no such split file; FaceForensics++ keeps its official splits in R/splits/{train,val,test}.json");
    io::Json json = io::read_json_file(file);
    if (!json.is_array()) fail(file.string(), ": expected a list of [a, b] pairs of video numbers");
    std::vector<std::pair<std::string, std::string>> pairs;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const io::Json& pair = json[i];
        if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
            fail(file.string(), ": entry ", i, " is ", pair.dump().substr(0, 60),
                 ", not a pair [\"a\", \"b\"] of video numbers");
        pairs.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
    }
    if (pairs.empty()) fail(file.string(), ": the split lists no pairs");
    return pairs;
}

inline VideoSplits import_face_forensics(const std::filesystem::path& root_given,
                                         const FaceForensicsOptions& options = {}) {
    namespace fs = std::filesystem;
    const fs::path root = fs::absolute(root_given).lexically_normal();
    require_folder(root, "--root: the FaceForensics++ folder");
    if (options.compression != "raw" && options.compression != "c23" && options.compression != "c40")
        fail("FaceForensics++: compression '", options.compression, "' is none of raw, c23, c40");
    if (options.methods.empty()) fail("FaceForensics++: no manipulation methods given");
    for (const std::string& method : options.methods)
        if (std::find(face_forensics_methods().begin(), face_forensics_methods().end(), method) ==
            face_forensics_methods().end())
            fail("FaceForensics++: unknown method '", method,
                 "' (methods: Deepfakes, Face2Face, FaceSwap, NeuralTextures, FaceShifter)");
    const fs::path originals = root / "original_sequences" / "youtube" / options.compression / "videos";
    VideoSplits splits;
    for (auto [name, split] : {std::pair{"train", &splits.train}, {"val", &splits.val}, {"test", &splits.test}}) {
        const fs::path file = root / "splits" / (std::string(name) + ".json");
        for (const auto& [a, b] : read_face_forensics_pairs(file)) {
            for (const std::string& person : {a, b}) {
                fs::path path = originals / (person + ".mp4");
                require_video_file(path, file.string());
                split->push_back({path, "real", "", person, person, {person}});
            }
            for (const std::string& method : options.methods)
                for (auto [target, face] : {std::pair{a, b}, {b, a}}) {
                    fs::path path = root / "manipulated_sequences" / method / options.compression / "videos" /
                                    (target + "_" + face + ".mp4");
                    require_video_file(path, file.string());
                    split->push_back({path, "fake", method, target + "_" + face, target, {target, face}});
                }
        }
    }
    std::set<std::string> shared = identities_in_two_splits(splits);
    if (!shared.empty())
        fail(root.string(), "/splits: identity ", *shared.begin(), " is in two splits (", shared.size(),
             " identities are); the split files are not FaceForensics++'s official ones");
    return splits;
}

} // namespace clipft::data::datasets
