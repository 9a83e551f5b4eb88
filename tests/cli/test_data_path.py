"""The real deepfake data path, command by command: clipft dataset (FF++, Celeb-DF v2, DFDC Preview in
their own layouts, on small trees of empty files), clipft faces --manifest --frames-per-video, clipft
metrics --video-score max-face-mean against an AUC computed here, clipft sbi and clipft finetune
--fakes self-blended on real photographs.

Usage: test_data_path.py CLIPFT_EXECUTABLE SHARED_DIR. Standard library only. Exits 77 (skipped) without
the shared data outside CI.
"""
import csv
import json
import os
import random
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import auc, check, finish, last_json, require_shared, runner  # noqa: E402

clipft, shared = sys.argv[1], sys.argv[2]
run = runner(clipft)


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("not decoded")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def read_png(path):
    """(width, height, channels, rows of bytes) of a non-interlaced 8-bit PNG (what stb writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride, rows, previous = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1: line[i] = (line[i] + left) & 255
            elif kind == 2: line[i] = (line[i] + up) & 255
            elif kind == 3: line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


with tempfile.TemporaryDirectory() as scratch:
    # FaceForensics++: pairs in the official split files; every real and fake of each pair in its split.
    ffpp = os.path.join(scratch, "ffpp")
    splits = {"train": [["000", "003"], ["001", "870"], ["007", "010"]], "val": [["002", "006"]], "test": [["004", "005"]]}
    methods = ["Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures", "FaceShifter"]
    for name, pairs in splits.items():
        write(os.path.join(ffpp, "splits", name + ".json"), json.dumps(pairs))
        for a, b in pairs:
            for person in (a, b):
                touch(os.path.join(ffpp, "original_sequences/youtube/c23/videos", person + ".mp4"))
            for method in methods:
                for x, y in ((a, b), (b, a)):
                    touch(os.path.join(ffpp, "manipulated_sequences", method, "c23/videos", x + "_" + y + ".mp4"))
    out = os.path.join(scratch, "ffpp-lists")
    listed = run("dataset", "ffpp", "--root", ffpp, "--out", out)
    check(listed.returncode == 0, "dataset ffpp exits 0: " + listed.stderr)
    if listed.returncode == 0:
        people = {}
        for name, pairs in splits.items():
            rows = rows_of(os.path.join(out, name + ".csv"))
            expected = set()
            for a, b in pairs:
                expected |= {("real", "", a, a), ("real", "", b, b)}
                for method in methods[:4]:
                    expected |= {("fake", method, a + "_" + b, a), ("fake", method, b + "_" + a, b)}
            check({(r["label"], r["subset"], r["video"], r["source"]) for r in rows} == expected and len(rows) == len(expected),
                  "ffpp %s.csv: exactly the official split's videos with their sources" % name)
            check(all(os.path.isabs(r["path"]) and os.path.exists(r["path"]) for r in rows), "ffpp: absolute paths of existing files")
            for r in rows:
                for person in r["identities"].split():
                    people.setdefault(person, set()).add(name)
        check(all(len(where) == 1 for where in people.values()), "ffpp: no identity in two splits")
        check(len(rows_of(os.path.join(out, "split.csv"))) == 5 * 10, "ffpp: split.csv records every video")
        summary = last_json(listed)
        check(summary["test"]["Deepfakes"] == 2 and summary["train"]["real"] == 6, "ffpp: counts per split and manipulation: %s" % summary)
    shifter = run("dataset", "ffpp", "--root", ffpp, "--out", os.path.join(scratch, "shifter"), "--methods", "FaceShifter", "--compression", "c23")
    check(shifter.returncode == 0 and {r["subset"] for r in rows_of(os.path.join(scratch, "shifter", "test.csv"))} == {"", "FaceShifter"},
          "dataset ffpp --methods FaceShifter: " + shifter.stderr)
    os.remove(os.path.join(ffpp, "manipulated_sequences/Face2Face/c23/videos/005_004.mp4"))
    missing_out = os.path.join(scratch, "missing")
    missing = run("dataset", "ffpp", "--root", ffpp, "--out", missing_out)
    check(missing.returncode == 1 and "test.json" in missing.stderr and "005_004.mp4" in missing.stderr and not os.path.exists(missing_out),
          "a split file naming a missing video: exit 1 naming both, nothing written: " + missing.stderr)
    check(run("dataset", "ffpp", "--root", ffpp, "--out", missing_out, "--compression", "c99").returncode == 2, "--compression c99: exit 2")
    check(run("dataset", "faceforensics", "--root", ffpp, "--out", missing_out).returncode == 2, "an unknown dataset: exit 2")
    nowhere = run("dataset", "celebdf", "--root", os.path.join(scratch, "nowhere"), "--out", missing_out)
    check(nowhere.returncode == 1 and "nowhere" in nowhere.stderr and not os.path.exists(missing_out), "a missing root: exit 1 naming it")

    # Celeb-DF v2: test = List_of_testing_videos.txt, train = the rest, val an identity-safe share of train.
    celeb = os.path.join(scratch, "celebdf")
    videos = []
    for a in range(8):
        for n in range(2):
            videos.append("Celeb-real/id%d_%04d.mp4" % (a, n))
        for b in range(8):
            if a != b:
                videos.append("Celeb-synthesis/id%d_id%d_0000.mp4" % (a, b))
    videos += ["YouTube-real/%05d.mp4" % n for n in range(6)]
    for video in videos:
        touch(os.path.join(celeb, video))
    tested = ["YouTube-real/00000.mp4", "Celeb-real/id7_0001.mp4", "Celeb-synthesis/id7_id6_0000.mp4", "Celeb-synthesis/id1_id7_0000.mp4"]
    write(os.path.join(celeb, "List_of_testing_videos.txt"), "".join("%d %s\n" % ("real" in v, v) for v in tested))
    out = os.path.join(scratch, "celeb-lists")
    listed = run("dataset", "celebdf", "--root", celeb, "--out", out, "--validation-fraction", "0.1", "--seed", "3")
    check(listed.returncode == 0, "dataset celebdf exits 0: " + listed.stderr)
    if listed.returncode == 0:
        relative = lambda rows: {os.path.relpath(r["path"], celeb) for r in rows}
        train, val, test = (rows_of(os.path.join(out, n + ".csv")) for n in ("train", "val", "test"))
        dropped = [r for r in rows_of(os.path.join(out, "split.csv")) if r["split"] == "dropped"]
        check(relative(test) == set(tested), "celebdf: test = the listed videos")
        check(len(train) + len(val) + len(dropped) == len(videos) - len(tested) and val, "celebdf: train, val and dropped = the rest")
        train_people = {p for r in train for p in r["identities"].split()}
        check(not any(p in train_people for r in val for p in r["identities"].split()), "celebdf: no identity in train and val")
        check(all(r["source"] == "Celeb-real/%s_0000" % r["identities"].split()[0] for r in train if r["label"] == "fake"),
              "celebdf: a fake's source is its target's real video")
    disjoint = run("dataset", "celebdf", "--root", celeb, "--out", os.path.join(scratch, "disjoint"), "--disjoint-identities")
    check(disjoint.returncode == 0 and last_json(disjoint)["identities_in_two_splits"] == 0,
          "dataset celebdf --disjoint-identities: no identity in two splits: " + disjoint.stderr)

    # DFDC Preview: dataset.json's sets; a malformed file is refused, nothing written.
    dfdc = os.path.join(scratch, "dfdcp")
    entries = {}
    for i, person in enumerate(["100", "101", "102", "103", "104", "105", "106"]):
        split = "test" if person in ("105", "106") else "train"
        real = "original_videos/%s/%s_A_001.mp4" % (person, person)
        fake = "method_%s/%s/%s_A/%s_A_001_B_002.mp4" % ("AB"[i % 2], person, person, person)
        entries[real], entries[fake] = {"label": "real", "set": split}, {"label": "fake", "set": split}
        touch(os.path.join(dfdc, real)), touch(os.path.join(dfdc, fake))
    write(os.path.join(dfdc, "dataset.json"), json.dumps(entries))
    out = os.path.join(scratch, "dfdc-lists")
    listed = run("dataset", "dfdcp", "--root", dfdc, "--out", out, "--validation-fraction", "0.2")
    check(listed.returncode == 0, "dataset dfdcp exits 0: " + listed.stderr)
    if listed.returncode == 0:
        test = rows_of(os.path.join(out, "test.csv"))
        check({os.path.relpath(r["path"], dfdc) for r in test} == {k for k, v in entries.items() if v["set"] == "test"},
              "dfdcp: test = dataset.json's test set")
        check({r["subset"] for r in test} == {"", "method_A", "method_B"}, "dfdcp: the methods are the subsets")
    write(os.path.join(dfdc, "dataset.json"), '{"original_videos/100/100_A_001.mp4": {"label": "real"}')
    malformed_out = os.path.join(scratch, "malformed")
    malformed = run("dataset", "dfdcp", "--root", dfdc, "--out", malformed_out)
    check(malformed.returncode == 1 and "dataset.json" in malformed.stderr and not os.path.exists(malformed_out),
          "a malformed dataset.json: exit 1 naming it, nothing written: " + malformed.stderr)

    # metrics --video-score max-face-mean: a frame scores its highest face, a video the mean of its frames.
    generator = random.Random(4)
    scores_path = os.path.join(scratch, "scores.csv")
    labels, scores_by_video = [], {}
    with open(scores_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["label", "score", "video", "frame"])
        for v in range(40):
            label = v % 2
            for frame in range(generator.randint(1, 4)):
                faces = [round(generator.random() * 0.8 + 0.2 * label, 2) for _ in range(generator.randint(1, 3))]
                for score in faces:
                    writer.writerow([label, score, "video%d" % v, frame * 8])
                scores_by_video.setdefault(v, (label, []))[1].append(max(faces))
    expected = auc([label for label, _ in scores_by_video.values()], [sum(s) / len(s) for _, s in scores_by_video.values()])
    measured = run("metrics", "--scores", scores_path, "--video-score", "max-face-mean")
    check(measured.returncode == 0, "metrics --video-score max-face-mean exits 0: " + measured.stderr)
    if measured.returncode == 0:
        videos_auc = json.loads(measured.stdout)["videos"]["auc"]
        check(abs(videos_auc - expected) < 1e-9, "max-face-mean video AUC %.6f = %.6f computed here" % (videos_auc, expected))
        plain = json.loads(run("metrics", "--scores", scores_path).stdout)["videos"]["auc"]
        check(abs(plain - expected) > 1e-6, "the mean over faces differs from max-face-mean on this data")
    check(run("metrics", "--scores", scores_path, "--video-score", "max").returncode == 2, "--video-score max: exit 2")

    faces_real, video_folder = os.path.join(shared, "data", "faces-real"), os.path.join(shared, "data", "videos")
    require_shared(faces_real, video_folder)

    # faces --manifest --frames-per-video 8: the listed videos' rows kept, frames floor(i n / 8).
    counts = {r["file"]: int(r["frames"]) for r in rows_of(os.path.join(video_folder, "manifest.csv"))}
    manifest = os.path.join(scratch, "videos.csv")
    chosen = ["asl_again.mp4", "preview_head-pose-face-detection-female.mp4"]  # a face in every frame, 50 to 90 px
    with open(manifest, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "subset", "video", "source", "identities"])
        for i, name in enumerate(chosen):
            writer.writerow([os.path.join(video_folder, name), "real", "", "v%d" % i, "v%d" % i, "person%d" % i])
    out = os.path.join(scratch, "video-faces")
    found = run("faces", "--manifest", manifest, "--out", out, "--frames-per-video", "8", "--min-size", "40", "--quiet")
    check(found.returncode == 0, "faces --manifest exits 0: " + found.stderr)
    if found.returncode == 0:
        summary = last_json(found)
        check(summary["videos"] == 2 and summary["frames"] == 16 and summary["faces"] > 0, "faces: 8 frames of each video: %s" % summary)
        rows = rows_of(os.path.join(out, "manifest.csv"))
        for i, name in enumerate(chosen):
            spaced = {k * counts[name] // 8 for k in range(8)}
            mine = [r for r in rows if r["video"] == "v%d" % i]
            check(all(int(r["frame"]) in spaced for r in mine), "faces of %s only in frames %s" % (name, sorted(spaced)))
            check(all(r["label"] == "real" and r["source"] == "v%d" % i and r["identities"] == "person%d" % i for r in mine),
                  "faces keep each row's label, source and identities")
            check(all(r["crop"].startswith("real/v%d/" % i) for r in mine), "crops under DIR/label/video/")

    # sbi: self-blended fakes of real crops equal their crops outside their masks.
    photos = [os.path.join(faces_real, "face_%04d.jpg" % n) for n in (1, 2, 3, 103, 104, 205)]
    crops = os.path.join(scratch, "crops")
    found = run("faces", "--in", *photos, "--out", crops, "--label", "real", "--quiet")
    check(found.returncode == 0, "faces of the photographs: " + found.stderr)
    blended = os.path.join(scratch, "sbi")
    made = run("sbi", "--data", os.path.join(crops, "manifest.csv"), "--out", blended, "--per-face", "2", "--seed", "5", "--quiet")
    check(made.returncode == 0, "sbi exits 0: " + made.stderr)
    if made.returncode == 0:
        rows = rows_of(os.path.join(blended, "manifest.csv"))
        check(list(rows[0].keys()) == ["path", "label", "subset", "video", "source_crop", "mask"], "sbi manifest columns")
        check(len(rows) == 2 * len(photos) and all(r["label"] == "fake" and r["subset"] == "SelfBlended" for r in rows),
              "sbi: 2 fakes per real crop, label fake, subset SelfBlended")
        for r in rows[:4]:
            width, height, channels, fake = read_png(os.path.join(blended, r["path"]))
            mask_width, mask_height, mask_channels, mask = read_png(os.path.join(blended, r["mask"]))
            crop_width, crop_height, crop_channels, crop = read_png(r["source_crop"])
            check((width, height) == (crop_width, crop_height) == (mask_width, mask_height) and mask_channels == 1,
                  "sbi: a fake and its 8-bit mask of the crop's size")
            outside = inside = changed_inside = changed_outside = 0
            for y in range(height):
                for x in range(width):
                    differs = fake[y][x * channels:x * channels + 3] != crop[y][x * crop_channels:x * crop_channels + 3]
                    if mask[y][x] == 0:
                        outside += 1
                        changed_outside += differs
                    elif mask[y][x] > 128:
                        inside += 1
                        changed_inside += differs
            check(outside > 0 and changed_outside == 0, "sbi: the fake equals its crop outside the mask (%d pixels differ)" % changed_outside)
            check(inside > 0 and changed_inside * 2 > inside, "sbi: most pixels inside the mask change")
        again = run("sbi", "--data", os.path.join(crops, "manifest.csv"), "--out", os.path.join(scratch, "sbi-again"), "--per-face", "2",
                    "--seed", "5", "--quiet")
        first = rows[0]["path"]
        check(again.returncode == 0 and open(os.path.join(blended, first), "rb").read() == open(os.path.join(scratch, "sbi-again", first), "rb").read(),
              "sbi: the same seed gives the same fakes")
    plain = os.path.join(scratch, "plain.csv")
    write(plain, "path,label\n%s,real\n" % photos[0])
    refused_out = os.path.join(scratch, "refused")
    refused = run("sbi", "--data", plain, "--out", refused_out)
    check(refused.returncode == 1 and "plain.csv" in refused.stderr and "landmarks" in refused.stderr and not os.path.exists(refused_out),
          "sbi on a manifest without landmarks: exit 1 naming it, nothing written: " + refused.stderr)

    # finetune from real faces alone: each real beside its own blend, blended anew every epoch.
    model = os.path.join(shared, "fixtures", "tiny-a")
    run_out = os.path.join(scratch, "sbi-run")
    trained = run("finetune", "--model", model, "--data", os.path.join(crops, "manifest.csv"), "--descriptions", "1desc",
                  "--out", run_out, "--fakes", "self-blended", "--batch", "4", "--epochs", "2", "--lr", "1e-3",
                  "--schedule", "constant", "--validation-fraction", "0.34", "--patience", "0", "--quiet")
    check(trained.returncode == 0, "finetune --fakes self-blended from real faces alone exits 0: " + trained.stderr[-500:])
    if trained.returncode == 0:
        result = last_json(trained)
        check(result["steps"] >= 2 and os.path.exists(os.path.join(run_out, "best.safetensors")), "finetune --fakes self-blended trains: %s" % result)
        split = rows_of(os.path.join(run_out, "split.csv"))
        check(len(split) == len(photos) and {r["split"] for r in split} == {"train", "validation"}, "finetune writes split.csv")
    no_landmarks = run("finetune", "--model", model, "--data", plain, "--descriptions", "1desc", "--out", os.path.join(scratch, "x"),
                       "--fakes", "self-blended", "--quiet")
    check(no_landmarks.returncode == 1 and "landmarks" in no_landmarks.stderr, "finetune --fakes self-blended without landmarks: exit 1")

finish("data path")
