#!/usr/bin/env python3
"""Writes descriptions/550desc/real.txt and fake.txt: 550 distinct descriptions per class.

The thesis sampled its 550 + 550 descriptions from ChatGPT with the prompts of its Table 9; those
lists are not part of the thesis text, so this project writes its own, following the same guidance:
each description is vague enough to fit any image of its class and never claims where in the face
an artifact would be. The sentences are composed from hand-written sentence frames and phrase lists
below. Each class has many frames so that no single sentence shape dominates; within a frame, the
combination chosen next is the one whose phrases have been used least so far, so the phrases are
spread evenly over the 550 lines.

Deterministic (fixed seed, standard library only): running it again rewrites identical files.
Usage: python3 descriptions/generate_550desc.py
"""
import itertools
import os
import pathlib
import random
import re
import tempfile

COUNT = 550
SEED = 20240550
# How many shuffled candidates of a frame are weighed per pick: enough to balance phrase use.
CANDIDATES_PER_PICK = 400

# ---------------------------------------------------------------------------------------------------
# Phrases shared by both classes
# ---------------------------------------------------------------------------------------------------
IMAGE = [
    "the image", "this image", "the photo", "this photo", "the photograph", "this photograph",
    "the picture", "this picture", "the portrait", "this portrait", "the snapshot", "this snapshot",
]
CAPTURE = ["photograph", "photo", "picture", "portrait", "image", "snapshot"]

# ---------------------------------------------------------------------------------------------------
# Genuine images
# ---------------------------------------------------------------------------------------------------
REAL_PHRASES = {
    "image": IMAGE,
    "capture": CAPTURE,
    "person": [
        "a person", "a real person", "an actual person", "a genuine person", "an individual",
        "a real individual", "someone", "a living person", "a human being", "the subject",
    ],
    "a_genuine": [
        "a genuine", "an authentic", "a real", "an unedited", "an untouched", "an unaltered",
        "an honest", "a faithful", "an original", "a true-to-life",
    ],
    "altered": [
        "altered", "edited", "modified", "manipulated", "retouched", "tampered with", "doctored",
        "digitally changed", "artificially changed", "falsified",
    ],
    "manipulation": [
        "manipulation", "digital manipulation", "editing", "tampering", "retouching", "face swapping",
        "synthetic generation", "digital alteration", "deepfake techniques", "artificial modification",
        "forgery", "morphing", "face replacement", "computer-generated changes",
    ],
    "no_evidence": [
        "no evidence of", "no sign of", "no trace of", "no indication of", "no hint of",
        "no suggestion of",
    ],
    "natural_adj": [
        "natural", "realistic", "lifelike", "true to life", "believable", "genuine", "authentic",
    ],
    "consistent_adj": ["consistent", "coherent", "harmonious", "plausible", "ordinary", "balanced"],
    "genuine_adj": ["genuine", "authentic", "real"],
    "untouched": [
        "untouched", "unaltered", "unedited", "unmodified", "intact", "unchanged", "free of edits",
        "just as it was captured",
    ],
    "reflecting": [
        "reflecting its authenticity", "reflecting the person's true identity",
        "showing the face as it really is", "preserving the person's true appearance",
        "faithful to how the person really looks", "with the original identity intact",
        "capturing the person as they truly are", "presenting the face as it was photographed",
        "keeping every facial feature as the camera recorded it", "with nothing added or removed",
    ],
    "free_of": [
        "free of any digital manipulation", "with no traces of editing",
        "without any signs of tampering", "showing no evidence of synthetic changes",
        "untouched by face-editing software", "with no artificial alterations of any kind",
        "unaffected by deepfake techniques", "with no sign that the face was replaced",
        "showing no hint of forgery", "clear of any retouching or morphing",
    ],
    "natural_face": [
        "a natural face", "natural facial features", "consistent facial details",
        "a face with natural proportions", "a coherent and natural appearance",
        "facial features that fit together naturally", "a face that looks exactly as it should",
        "the person's true facial features", "an ordinary, unaltered face",
    ],
    "technique": [
        "digital editing", "face swapping", "deepfake technology", "face reenactment",
        "facial morphing", "image synthesis", "generative modeling", "face-editing software",
        "photo manipulation", "identity replacement",
    ],
}

REAL_FRAMES = [
    "{image} shows {person} whose face has not been {altered}.",
    "{image} captures {person} naturally, with {no_evidence} {manipulation}.",
    "{a_genuine} {capture} of {person}, {free_of}.",
    "{image} is {a_genuine} {capture} of {person}, {reflecting}.",
    "nothing in {image} suggests that the face has been {altered}.",
    "the face in {image} looks {natural_adj} and {consistent_adj}, as expected from {a_genuine} {capture}.",
    "the facial features in {image} appear {natural_adj} and {consistent_adj}, with {no_evidence} {manipulation}.",
    "{image} has not been {altered} and shows the person's true identity.",
    "there is {no_evidence} {manipulation} in {image}; the face is {genuine_adj} and {untouched}.",
    "{image} presents the person's own face, {free_of}.",
    "the person in {image} is real, and their face has not been {altered}.",
    "{image} depicts a real individual with {no_evidence} {manipulation} or {manipulation2}.",
    "an honest record of {person}: the face in {image} is {genuine_adj} and {untouched}.",
    "everything about the face in {image} looks {natural_adj}; no {technique} was involved.",
    "no {technique} has been applied to the face in {image}.",
    "the face shown in {image} belongs to the person who was photographed and has not been {altered}.",
    "{image} offers {a_genuine} view of {person}, showing {natural_face}.",
    "{a_genuine} {capture} showing {natural_face}, with {no_evidence} {manipulation}.",
    "{image} is authentic; the person's face is {untouched} and looks {natural_adj}.",
    "this is a real {capture} of {person}, made without any {technique} or {manipulation}.",
    "{image} faithfully records {person} without any {manipulation}.",
    "a photograph of {person} exactly as the camera saw them, {free_of}.",
    "{image} shows a genuine face; it has not been {altered} in any way.",
    "{person} is shown in {image} with {genuine_adj} facial features that have not been {altered}.",
    "the identity of the person in {image} is {genuine_adj}, and the face has not been {altered}.",
    "{image} contains {no_evidence} {manipulation}; it is {a_genuine} {capture} of {person}.",
    "{a_genuine} {capture} in which the person's face appears {natural_adj} and {untouched}.",
    "{image} can be trusted as {a_genuine} {capture} of {person}, {reflecting}.",
]

# ---------------------------------------------------------------------------------------------------
# Manipulated, synthetic or deepfake images
# ---------------------------------------------------------------------------------------------------
FAKE_PHRASES = {
    "image": IMAGE,
    "capture": CAPTURE,
    "person": [
        "the person", "the subject", "the individual", "the person shown", "the person pictured",
    ],
    "evidence": ["signs of", "traces of", "evidence of", "indications of", "hints of", "clear marks of"],
    "a_deepfake": [
        "a deepfake", "a face swap", "a manipulated face", "digital forgery", "artificial generation",
        "face tampering", "deepfake manipulation", "a synthetic face", "an altered identity",
        "computer-generated content", "a forged image",
    ],
    "a_fake_thing": [
        "a deepfake", "a forgery", "a manipulated photo", "a synthetic image", "a doctored picture",
        "a fabricated portrait", "an altered photograph", "a face swap", "a computer-generated likeness",
    ],
    "manipulation": [
        "manipulation", "digital manipulation", "facial manipulation", "tampering", "digital tampering",
        "face swapping", "face reenactment", "facial morphing", "artificial alteration",
        "deepfake editing", "synthetic generation", "identity swapping", "forgery", "digital editing",
        "artificial modification",
    ],
    "altered_face": [
        "altered", "modified", "manipulated", "edited", "tampered with", "digitally changed",
        "artificially altered", "swapped", "replaced", "morphed", "forged", "synthetically modified",
        "doctored",
    ],
    "altered_image": [
        "altered", "modified", "manipulated", "edited", "tampered with", "doctored", "forged",
        "digitally changed", "artificially altered", "falsified",
    ],
    "generated": ["generated", "created", "produced", "synthesized", "fabricated", "rendered"],
    "means_generate": [
        "artificially", "by a computer", "by a generative model", "with deepfake software",
        "by an AI system", "using machine learning", "with a neural network",
        "through digital synthesis", "by a face-swapping tool", "from scratch by an algorithm",
    ],
    "means_edit": [
        "with deepfake software", "by a generative model", "using machine learning",
        "with a neural network", "by a face-swapping tool", "with image-editing software",
        "by an AI system", "through digital synthesis", "with a face-reenactment method",
    ],
    "purpose": [
        "to hide the original face", "to hide the person's real identity",
        "to make the person look like someone else", "to replace the original identity",
        "to deceive the viewer", "to impersonate another person", "to disguise who is really shown",
        "to pass as a genuine photograph", "to mislead anyone who sees it",
        "to fool face forgery detection",
    ],
    "inconsistency": [
        "inconsistencies", "irregularities", "anomalies", "subtle flaws", "small discrepancies",
        "oddities", "artifacts", "unnatural traits", "faint imperfections", "suspicious details",
    ],
    "facial_aspect": [
        "facial features", "facial details", "facial structure", "facial proportions",
        "facial symmetry", "appearance of the face", "facial expression", "overall look of the face",
        "facial texture", "face",
    ],
    # Features of a face as a whole, which "of the person" can follow.
    "facial_aspect_of": [
        "facial features", "facial details", "facial structure", "facial proportions",
        "facial symmetry", "facial expression", "facial texture", "face",
    ],
    "facial_plural": [
        "facial features", "facial details", "facial traits", "facial characteristics",
        "facial proportions",
    ],
    "undergone": [
        "digital manipulation", "face swapping", "facial manipulation", "deepfake editing",
        "heavy editing", "identity swapping", "digital tampering", "face reenactment",
        "artificial modification", "facial morphing",
    ],
    "unreal": [
        "unreal", "artificial", "synthetic", "unnatural", "fabricated", "computer-generated", "fake",
        "manipulated", "slightly off", "too perfect to be real", "digitally altered",
        "not quite genuine",
    ],
    "a_spoof": [
        "a spoofing attempt", "a forgery", "a fabricated image", "a deepfake", "a manipulated picture",
        "a deliberate fake", "a synthetic fake",
    ],
    "goal": [
        "bypass face forgery recognition", "fool face recognition systems",
        "deceive viewers about who is shown", "impersonate another person",
        "pass as an authentic photograph", "evade deepfake detection",
        "misrepresent the person's identity", "trick anyone who sees it",
    ],
    "doubt": [
        "raises doubts about its authenticity", "casts doubt on the authenticity of the face",
        "suggests that the face is not genuine", "points to artificial manipulation",
        "betrays digital tampering", "hints at the use of deepfake techniques",
        "makes the image seem fabricated", "feels artificial", "does not look genuine",
    ],
    "fake_adj": [
        "a manipulated", "a fake", "an altered", "a forged", "a doctored", "a synthetic",
        "an artificially generated", "a fabricated", "a tampered", "a deceptive",
    ],
    "created_by": [
        "most likely produced by a deepfake model", "probably created with face-swapping software",
        "apparently synthesized by a computer", "likely the result of digital manipulation",
        "possibly generated by artificial intelligence",
        "seemingly edited to change the person's identity",
        "perhaps assembled from another person's features",
    ],
    "replaced": ["replaced", "swapped", "generated", "altered", "reconstructed", "transformed", "morphed"],
    "exchanged": ["replaced", "swapped", "exchanged"],
    "technique": [
        "face-swapping software", "a generative model", "deepfake technology", "a neural network",
        "face reenactment", "AI-based editing tools", "digital morphing", "image synthesis",
    ],
    "morphed": [
        "morphed", "transformed", "reshaped", "blended with another face", "reworked",
        "re-synthesized",
    ],
    "impression": [
        "an artificially altered appearance", "a fabricated identity", "a face that was never there",
        "a computer-made portrait", "a person who does not exist", "a disguised identity",
        "an edited face",
    ],
}

FAKE_FRAMES = [
    "{image} bears {evidence} {manipulation}, hinting at {a_deepfake}.",
    "the face in {image} has been {altered_face} {purpose}.",
    "{image} has been {generated} {means_generate}.",
    "{image} exhibits {inconsistency} in the {facial_aspect}, implying potential {manipulation}.",
    "the person in {image} appears {unreal}, possibly due to {manipulation}.",
    "it seems that {image} has undergone {undergone} {purpose}.",
    "{image} is {a_spoof} meant to {goal}.",
    "something about the {facial_aspect} in {image} {doubt}.",
    "{image} presents a face that is not genuine, {created_by}.",
    "{image} contains {inconsistency} that hint the face has been {altered_face} {purpose}.",
    "the face in {image} looks {unreal}, suggesting {a_deepfake}.",
    "{image} is a deepfake: the face has been {replaced} using {technique}.",
    "the identity shown in {image} is not real; the face was {generated} {means_generate}.",
    "{image} appears to be {a_fake_thing}, with a face that looks {unreal}.",
    "{fake_adj} {capture} in which the person's face has been {altered_face}.",
    "there are {inconsistency} in the {facial_aspect_of} of {person}, suggesting the possibility of {a_deepfake}.",
    "{image} does not show an authentic face; it has been {altered_image} {means_edit}.",
    "the face in {image} was {exchanged} with another one, making {person} appear to be someone else.",
    "{person} in {image} is not who they seem: the face has been {altered_face} {means_edit}.",
    "{image} has been {altered_image} so that the face no longer belongs to the original person.",
    "it seems that the face in {image} has been {morphed}, indicating potential {manipulation}.",
    "{image} shows a face that was never photographed; it was {generated} {means_generate}.",
    "this {capture} is not genuine; a closer look reveals {evidence} {manipulation}.",
    "{image} shows {evidence} {manipulation}, giving the impression of {impression}.",
    "the authenticity of {image} is doubtful, as the face appears {unreal}.",
    "{image} is likely {a_fake_thing} produced with {technique}.",
    "{image} cannot be trusted: the face it shows has been {altered_face} {means_edit}.",
    "the {facial_plural} of {person} in {image} suggest {manipulation}, hinting at {a_deepfake}.",
]

# ---------------------------------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------------------------------
SLOT = re.compile(r"\{(\w+?)(\d?)\}")
DOUBLED_WORD = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)
# Short words that may repeat; "face" is the subject of nearly every sentence.
REPEATABLE = {"face", "that", "with", "been", "have", "from", "this", "they", "them", "their", "into", "were"}


def frame_slots(frame):
    """The frame's slots as (slot name, phrase list name): "manipulation2" draws from "manipulation"."""
    return [(name + digit, name) for name, digit in SLOT.findall(frame)]


def stems(text):
    """The words of four letters or more, cut to four: "hints" and "hinting" share a stem."""
    words = re.findall(r"[a-z]+", text.lower())
    return {word[:4] for word in words if len(word) >= 4 and word not in REPEATABLE}


def repeats_itself(parts):
    """Whether two parts (phrases, or the frame's own words) share a stem, as in "deepfake technology
    or deepfake techniques" or "a real photo of a real person"."""
    seen = set()
    for part in parts:
        part_stems = stems(part)
        if part_stems & seen:
            return True
        seen |= part_stems
    return False


def candidates(frame, phrases, rng):
    """Every filling of the frame's slots that repeats no word stem, in a seeded random order."""
    slots = frame_slots(frame)
    frame_words = SLOT.sub(" ", frame)
    fillings = []
    for values in itertools.product(*(phrases[source] for _, source in slots)):
        filling = dict(zip((slot for slot, _ in slots), values))
        # A doubled word ("tampered with with") is the one clash that shared stems do not catch.
        if not repeats_itself((frame_words, *values)) and not DOUBLED_WORD.search(frame.format(**filling)):
            fillings.append(filling)
    if not fillings:
        raise SystemExit(f"no filling of {frame!r} avoids repeating a word")
    rng.shuffle(fillings)
    return fillings


def sentence(frame, filling):
    text = frame.format(**filling)
    return text[0].upper() + text[1:]


def compose(frames, phrases, rng):
    """COUNT distinct sentences: the frames take turns; each picks its least-used phrase combination."""
    pools = [candidates(frame, phrases, rng) for frame in frames]
    uses = {}
    chosen, seen = [], set()
    turn = 0
    while len(chosen) < COUNT:
        index = turn % len(frames)
        turn += 1
        pool = pools[index]
        if not pool:
            raise SystemExit(f"frame {frames[index]!r} has run out of fillings")
        window = pool[:CANDIDATES_PER_PICK]
        best = min(range(len(window)), key=lambda i: sum(uses.get(v, 0) for v in window[i].values()))
        filling = pool.pop(best)
        text = sentence(frames[index], filling)
        if text in seen:
            continue
        seen.add(text)
        chosen.append(text)
        for value in filling.values():
            uses[value] = uses.get(value, 0) + 1
    return chosen


def write_lines(path, lines):
    """Replaces `path` atomically with one line per entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix="." + path.name)
    with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
        out.write("".join(line + "\n" for line in lines))
    os.replace(temporary, path)


def main():
    folder = pathlib.Path(__file__).resolve().parent / "550desc"
    rng = random.Random(SEED)
    real = compose(REAL_FRAMES, REAL_PHRASES, rng)
    fake = compose(FAKE_FRAMES, FAKE_PHRASES, rng)
    assert not set(real) & set(fake)
    write_lines(folder / "real.txt", real)
    write_lines(folder / "fake.txt", fake)
    print(f"wrote {len(real)} + {len(fake)} descriptions to {folder}")


if __name__ == "__main__":
    main()
