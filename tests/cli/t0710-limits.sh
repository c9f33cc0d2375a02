#!/bin/sh
# t0710-limits: hostile sizes in a checkpoint: many tensor names (the
# duplicate check was quadratic: 200,000 names took minutes), duplicates
# still found among them, a zip entry whose claimed size is allocated.
. "$(dirname "$0")/lib.sh"

# N tensors, all one-element views of one storage; DUP: the last is named
# like the first.
cat >"$T/many.py" <<'PY'
import collections, sys
sys.path.insert(0, sys.argv[1])
import mkpth
out, n, dup = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "dup"
st = mkpth.Storage("f32", 1, lambda: b"\0\0\0\0")
names = ["t%07d" % i for i in range(n)]
if dup:
    names[-1] = "t%07d" % 0
    names[0] = "x%07d" % 0  # same length: the pickle is patched below
ts = collections.OrderedDict((k, mkpth.Tensor(st, 0, (1,), (1,))) for k in names)
pkl, storages = mkpth.pickle_state(ts)
if dup:
    pkl = pkl.replace(b"x%07d" % 0, b"t%07d" % 0)
mkpth.write_checkpoint(out, "archive", pkl, storages)
PY
python3 "$T/many.py" "$ROOT/tools" "$T/many.pth" 200000 no || exit 1
start=$(date +%s)
timeout 60 "$ANSER" inspect "$T/many.pth" >"$T/out" 2>"$T/err"
RC=$? secs=$(($(date +%s) - start))
check "200,000 tensor names: inspect lists them in seconds (${secs} s)" \
	eval '[ $RC -eq 0 ] && grep -q "^tensors: *200000" "$T/out" && [ $secs -lt 30 ]'
python3 "$T/many.py" "$ROOT/tools" "$T/dup.pth" 1000 dup || exit 1
refuse "a name twice among 1000 is found" "tensor 't0000000' appears twice" \
	inspect "$T/dup.pth"

# A zip entry's size is allocated before it is read: a data.pkl that claims
# 200 MB in a 1 kB file is refused from the claim, not read into 200 MB.
cat >"$T/claim.py" <<'PY'
import pickle, struct, sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
    z.writestr("archive/byteorder", "little")
    z.writestr("archive/version", "3\n")
b = bytearray(open(out, "rb").read())
lie = 200_000_000
i = b.find(b"PK\x03\x04")            # data.pkl's local header comes first
struct.pack_into("<I", b, i + 22, lie)
j = b.find(b"PK\x01\x02")            # and its central directory entry
struct.pack_into("<I", b, j + 24, lie)
open(out, "wb").write(b)
PY
python3 "$T/claim.py" "$T/claim.pth" || exit 1
refuse "a data.pkl claiming 200 MB in a $(stat -c %s "$T/claim.pth")-byte file is refused" \
	"entry 'archive/data.pkl' declares 200000000 bytes, more than the file holds" \
	inspect "$T/claim.pth"

finish
