#!/usr/bin/env python3
"""mkfixtures.py - the repos the mock Hub serves in the download tests.

    mkfixtures.py DIR [CHECKPOINT]

Writes DIR/repos.json, one folder per commit, and DIR/fixtures.env, a shell
file with the commits and checksums the tests compare against.  CHECKPOINT
(a small RWKV-7 .pth) becomes the 0.1B World model in BlinkDL/rwkv-7-world so
that models-by-name and convert can be tested end to end.
"""
import hashlib
import json
import os
import random
import shutil
import sys


def commit_of(name):
    return hashlib.sha1(("commit " + name).encode()).hexdigest()


def put(root, folder, path, data):
    full = os.path.join(root, folder, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def blob(seed, n):
    return random.Random(seed).randbytes(n)


def world_like_vocab():
    """A vocab in the World file's format that a tokenizer accepts: every
    single byte (ids 1..256) and a few words, few enough for the small
    models the tests use."""
    lines = ["%d b'\\x%02x' 1" % (b + 1, b) for b in range(256)]
    for i, w in enumerate([" the", " cat", " sat", " on", " mat", "ab"]):
        lines.append("%d '%s' %d" % (257 + i, w, len(w.encode())))
    return ("\n".join(lines) + "\n").encode()


def main():
    root = sys.argv[1]
    ckpt = sys.argv[2] if len(sys.argv) > 2 else None
    os.makedirs(root, exist_ok=True)
    repos = {}
    env = {}

    # acme/tiny: plain and LFS files, nested paths, three revisions.
    main_c, v1_c, pr_c = commit_of("tiny-main"), commit_of("tiny-v1"), commit_of("tiny-pr1")
    files = {
        ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": b"# tiny\n\nA repo for the tests.\n",
        "config.json": b'{"n_layer": 2}\n',
        "weights.bin": blob(1, 300000),
        "sub/dir/nested.json": b'{"nested": true}\n',
        "gguf/q8.gguf": blob(2, 50000),
        "gguf/q4.gguf": blob(3, 30000),
        "data/a.txt": b"a\n",
        "data/b.txt": b"b\n",
        "same/copy1.bin": blob(9, 4000),
        "same/copy2.bin": blob(9, 4000),
    }
    for p, d in files.items():
        put(root, "tiny-main", p, d)
    put(root, "tiny-v1", "README.md", b"# tiny, version 1\n")
    put(root, "tiny-v1", "config.json", b'{"n_layer": 1}\n')
    for p, d in files.items():
        put(root, "tiny-pr1", p, d)
    put(root, "tiny-pr1", "extra.txt", b"from the pull request\n")
    repos["model/acme/tiny"] = {
        "refs": {"main": main_c, "v1": v1_c, "refs/pr/1": pr_c},
        "commits": {main_c: "tiny-main", v1_c: "tiny-v1", pr_c: "tiny-pr1"},
        "lfs": ["*.bin", "*.gguf"],
    }
    env["C_TINY"] = main_c
    env["C_TINY_V1"] = v1_c
    env["C_TINY_PR"] = pr_c

    # acme/big: one LFS file large enough to interrupt and resume.
    big_c = commit_of("big")
    put(root, "big", "big.bin", blob(4, 4 << 20))
    repos["model/acme/big"] = {"refs": {"main": big_c}, "commits": {big_c: "big"},
                               "lfs": ["*.bin"]}
    env["C_BIG"] = big_c

    # Access: gated, private.
    for name, extra in (("gated", {"gated": "manual"}), ("private", {"private": True})):
        c = commit_of(name)
        put(root, name, "model.bin", blob(5, 1000))
        put(root, name, "README.md", b"# %s\n" % name.encode())
        repos["model/acme/" + name] = dict({"refs": {"main": c}, "commits": {c: name},
                                            "lfs": ["*.bin"]}, **extra)

    # A dataset.
    ds_c = commit_of("ds")
    put(root, "ds", "train.jsonl", b'{"text": "hello"}\n')
    put(root, "ds", "data/part-0.parquet", blob(6, 20000))
    repos["dataset/acme/ds"] = {"refs": {"main": ds_c}, "commits": {ds_c: "ds"},
                                "lfs": ["*.parquet"]}
    env["C_DS"] = ds_c

    # A file that claims more bytes than any disk has.
    huge_c = commit_of("huge")
    put(root, "huge", "huge.bin", blob(7, 100))
    repos["model/acme/huge"] = {"refs": {"main": huge_c}, "commits": {huge_c: "huge"},
                                "lfs": ["*.bin"], "sizes": {"huge.bin": 10 ** 16}}

    # A legacy repo id without an organization.
    leg_c = commit_of("legacy")
    put(root, "legacy", "vocab.txt", b"hello\n")
    repos["model/gpt9"] = {"refs": {"main": leg_c}, "commits": {leg_c: "legacy"}}

    # Models by name: the 0.1B World checkpoint and the vocab repo.
    if ckpt:
        w_c = commit_of("world")
        dst = os.path.join(root, "world", "RWKV-x070-World-0.1B-v2.8-20241210-ctx4096.pth")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(ckpt, dst)
        put(root, "world", "README.md", b"# rwkv-7-world\n")
        repos["model/BlinkDL/rwkv-7-world"] = {"refs": {"main": w_c},
                                               "commits": {w_c: "world"},
                                               "lfs": ["*.pth"]}
        env["C_WORLD"] = w_c
        with open(ckpt, "rb") as f:
            env["SHA_WORLD"] = hashlib.sha256(f.read()).hexdigest()
        v_c = commit_of("vocab")
        put(root, "vocab", "rwkv_vocab_v20230424.txt", world_like_vocab())
        put(root, "vocab", "config.json", b"{}\n")
        repos["model/RWKV/RWKV7-Goose-World2.8-0.1B-HF"] = {
            "refs": {"main": v_c}, "commits": {v_c: "vocab"}, "lfs": ["*.safetensors"]}
        env["C_VOCAB"] = v_c
        # The second place the World vocab is looked for.
        e_c = commit_of("eagle")
        put(root, "eagle", "rwkv_vocab_v20230424.txt", world_like_vocab())
        repos["model/RWKV/v5-Eagle-7B-HF"] = {"refs": {"main": e_c},
                                              "commits": {e_c: "eagle"}}
        env["C_EAGLE"] = e_c

    # Benchmark data, where anser eval fetches it from: a few LAMBADA lines
    # and xStoryCloze stories (made up; the real files are not copied).
    lmb_c = commit_of("lambada")
    put(root, "lambada", "data/lambada_test_en.jsonl",
        b'{"text": "the cat sat on the mat"}\n{"text": "a b ab a b ab"}\n')
    repos["dataset/EleutherAI/lambada_openai"] = {
        "refs": {"main": lmb_c}, "commits": {lmb_c: "lambada"}}
    env["C_LAMBADA"] = lmb_c
    xsc_c = commit_of("xstorycloze")
    put(root, "xsc", "spring2016.val.ru.tsv.split_20_80_eval.tsv",
        "InputStoryid\tInputSentence1\tInputSentence2\tInputSentence3\t"
        "InputSentence4\tRandomFifthSentenceQuiz1\tRandomFifthSentenceQuiz2\t"
        "AnswerRightEnding\ns1\ta b.\tb a.\tab.\tba.\tthe cat.\tthe mat.\t1\n"
        "s2\tкот.\tсидел.\tна.\tковре.\tда.\tнет.\t2\n".encode())
    repos["dataset/juletxara/xstory_cloze"] = {
        "refs": {"main": xsc_c}, "commits": {xsc_c: "xsc"}}
    env["C_XSC"] = xsc_c

    conf = {"tokens": {"hf_good": ["*"], "hf_nogate": []}, "repos": repos}
    with open(os.path.join(root, "repos.json"), "w") as f:
        json.dump(conf, f, indent=1)
    with open(os.path.join(root, "fixtures.env"), "w") as f:
        for k, v in sorted(env.items()):
            f.write("%s=%s\n" % (k, v))


if __name__ == "__main__":
    main()
