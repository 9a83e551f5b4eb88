#!/usr/bin/env python3
"""CLIP tokenizer throughput in plain Python, the counterpart of bench/tokenizer.cpp.

A self-contained implementation of the algorithm of OpenAI's clip.simple_tokenizer and
clip.tokenize (byte-to-unicode symbols, rank-ordered BPE merges with a per-word cache, start/end
tokens, 77 ids padded with 0, truncation), timed on the same 1100 descriptions, printing one JSON
line with the same fields and the same checksum.

Differences from the reference, all of which make this side faster or equal, never slower:
- no ftfy (not packaged for Debian); on these ASCII texts ftfy.fix_text changes nothing, but the
  reference would still spend time running it;
- the `regex` module's pattern is approximated with the standard `re` module:
  [\\p{L}]+ -> [^\\W\\d_]+, [\\p{N}] -> \\d, [^\\s\\p{L}\\p{N}]+ -> (?:[^\\s\\w]|_)+ .
  That is exact on ASCII text (all of these descriptions), not for every Unicode character.

Run with /usr/bin/python3 (no third-party modules needed):
    /usr/bin/python3 bench/tokenizer_python.py [--vocab PATH] [--repetitions N] [--warmup SECONDS]
"""

import argparse
import gzip
import html
import json
import os
import re
import statistics
import sys
import time


def descriptions():
    """4 templates x 25 adjectives x 11 nouns = 1100 texts, in bench/tokenizer.cpp's order."""
    templates = [("The image of a ", "."), ("A photo of a ", "."), ("A close-up picture of a ", "."),
                 ("An old photograph showing a ", ", taken outdoors.")]
    adjectives = ["young", "old", "smiling", "serious", "blurry", "sharp", "bright", "dark", "happy", "tired",
                  "calm", "angry", "surprised", "distant", "pale", "tanned", "bearded", "masked", "laughing",
                  "thoughtful", "sleepy", "curious", "elegant", "scruffy", "famous"]
    nouns = ["person", "man", "woman", "child", "face", "deepfake", "actor", "athlete", "singer", "politician",
             "stranger"]
    return [prefix + adjective + " " + noun + suffix
            for prefix, suffix in templates for adjective in adjectives for noun in nouns]


def byte_symbols():
    """GPT-2's byte -> character map: printable Latin-1 bytes are themselves, the others U+0100 on."""
    printable = [b for b in range(256) if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255]
    others = [b for b in range(256) if b not in printable]
    symbols = {b: chr(b) for b in printable}
    symbols.update({b: chr(256 + i) for i, b in enumerate(others)})
    return symbols, printable + others


class Tokenizer:
    MERGES = 49408 - 512 - 2

    def __init__(self, path):
        lines = gzip.open(path).read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1:1 + self.MERGES]]
        self.symbols, order = byte_symbols()
        tokens = [self.symbols[b] for b in order]
        tokens += [t + "</w>" for t in tokens]
        tokens += ["".join(merge) for merge in merges]
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        self.ids = {token: i for i, token in enumerate(tokens)}
        self.ranks = {merge: rank for rank, merge in enumerate(merges)}
        self.start, self.end = self.ids["<|startoftext|>"], self.ids["<|endoftext|>"]
        self.pattern = re.compile(
            r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+", re.IGNORECASE)
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            ranked = [(self.ranks.get(pair, None), i) for i, pair in enumerate(zip(symbols, symbols[1:]))]
            ranked = [(rank, i) for rank, i in ranked if rank is not None]
            if not ranked:
                break
            best = min(ranked)[1]
            first, second = symbols[best], symbols[best + 1]
            merged, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == first and symbols[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        ids = [self.ids[s] for s in symbols]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        text = html.unescape(html.unescape(text)).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for piece in self.pattern.findall(text):
            if piece in ("<|startoftext|>", "<|endoftext|>"):
                ids.append(self.ids[piece])
            else:
                ids.extend(self.bpe("".join(self.symbols[b] for b in piece.encode("utf-8"))))
        return ids

    def tokenize(self, text, context=77, truncate=True):
        ids = [self.start] + self.encode(text) + [self.end]
        if len(ids) > context:
            if not truncate:
                raise RuntimeError(f"Input {text} is too long for context length {context}")
            ids = ids[:context]
            ids[-1] = self.end
        return ids + [0] * (context - len(ids))


def one_pass(tokenizer, texts):
    checksum = 0
    for text in texts:
        for i, token in enumerate(tokenizer.tokenize(text, 77, True)):
            checksum += (i + 1) * token
    return checksum


def main():
    shared = os.environ.get("CLIPFT_SHARED_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "shared")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", default=os.path.join(shared, "fixtures", "clip", "bpe_simple_vocab_16e6.txt.gz"))
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--warmup", type=float, default=0.3)
    args = parser.parse_args()

    texts = descriptions()
    start = time.perf_counter()
    tokenizer = Tokenizer(args.vocab)
    load_s = time.perf_counter() - start

    checksum = one_pass(tokenizer, texts)
    start = time.perf_counter()
    while time.perf_counter() - start < args.warmup:
        one_pass(tokenizer, texts)

    cold, warm = [], []
    for _ in range(max(1, args.repetitions)):
        tokenizer.cache = {}  # a fresh cache: every distinct word goes through BPE once
        start = time.perf_counter()
        one_pass(tokenizer, texts)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        one_pass(tokenizer, texts)
        warm.append(time.perf_counter() - start)
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    print(json.dumps({
        "implementation": "python", "texts": len(texts), "context": 77, "threads": 1,
        "load_s": round(load_s, 6), "cold_median_s": round(cold_s, 6), "warm_median_s": round(warm_s, 6),
        "cold_texts_per_s": round(len(texts) / cold_s, 1), "warm_texts_per_s": round(len(texts) / warm_s, 1),
        "repetitions": max(1, args.repetitions), "checksum": checksum,
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
