#!/usr/bin/env python3
"""layout.py - the huggingface_hub cache layout, expected and actual, one
line per entry, so a test can compare them with cmp.

    layout.py expected HUBROOT TYPE/ORG/NAME REV COMMIT [PATH...]
    layout.py actual REPOFOLDER

The expected side is computed the way huggingface_hub computes it
(file_download.py): blobs named by the etag (the sha256 for LFS files, the
git blob sha1 otherwise), refs/<rev> holding the commit when rev is not the
commit, and snapshots/<commit>/<path> a symlink whose target is
os.path.relpath(blob, dirname(pointer)).  PATHs default to every file.
"""
import fnmatch
import hashlib
import json
import os
import sys


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def expected(root, key, rev, commit, paths):
    conf = json.load(open(os.path.join(root, "repos.json")))
    repo = conf["repos"][key]
    base = os.path.join(root, repo["commits"][commit])
    if not paths:
        paths = []
        for d, _, names in os.walk(base):
            for n in names:
                paths.append(os.path.relpath(os.path.join(d, n), base))
    folder = "/cache/x"  # any absolute folder: only relative paths are shown
    out = []
    for p in paths:
        data = open(os.path.join(base, p), "rb").read()
        lfs = any(fnmatch.fnmatchcase(p, g) for g in repo.get("lfs", []))
        etag = hashlib.sha256(data).hexdigest() if lfs else git_sha1(data)
        blob = os.path.join(folder, "blobs", etag)
        ptr = os.path.join(folder, "snapshots", commit, p)
        out.append("blobs/%s file %d" % (etag, len(data)))
        out.append("snapshots/%s/%s link %s" % (
            commit, p, os.path.relpath(blob, os.path.dirname(ptr))))
    if rev != commit:
        out.append("refs/%s file %s" % (rev, commit))
    return sorted(set(out))


def actual(folder):
    out = []
    for d, dirs, names in os.walk(folder):
        for n in names + [x for x in dirs if os.path.islink(os.path.join(d, x))]:
            full = os.path.join(d, n)
            rel = os.path.relpath(full, folder)
            if os.path.islink(full):
                out.append("%s link %s" % (rel, os.readlink(full)))
            elif rel.startswith("refs/"):
                out.append("%s file %s" % (rel, open(full).read()))
            elif rel.startswith(".no_exist/"):
                out.append("%s file %d" % (rel, os.path.getsize(full)))
            else:
                out.append("%s file %d" % (rel, os.path.getsize(full)))
    return sorted(out)


def main():
    if sys.argv[1] == "expected":
        lines = expected(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
    else:
        lines = actual(sys.argv[2])
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
