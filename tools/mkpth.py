#!/usr/bin/env python3
"""mkpth.py: write PyTorch-compatible .pth checkpoints without PyTorch.

Standard library only (no torch, no numpy), so tests and demos can make
good and deliberately broken checkpoints anywhere.  Files are laid out the
way torch.save writes them: a stored (uncompressed) zip whose entries are
<root>/data.pkl (protocol-2 pickle), <root>/byteorder, <root>/data/<key>
(one raw storage per key) and <root>/version; every entry's data starts on a
64-byte boundary via an 'FB' padding record in the *local* header only, and
local headers carry zero CRC/sizes followed by a data descriptor (flags
0x0808), just like torch's writer.

  mkpth.py model OUT.pth [options]   random-weight RWKV-7 checkpoint (+faults)
  mkpth.py views OUT.pth EXPECT.json offset/shared/strided/0-d/empty views
  mkpth.py raw OUT.pth --pickle-hex HEX [--entry NAME=HEX ...]

Run `mkpth.py SUBCOMMAND -h` for the options.
"""

import argparse
import collections
import io
import json
import math
import pickle
import random
import struct
import sys
import types
import zipfile

# dtype name -> (torch storage class name, bytes per element)
DTYPES = {'f32': ('FloatStorage', 4), 'f16': ('HalfStorage', 2),
          'bf16': ('BFloat16Storage', 2)}

# ---------------------------------------------------------------------------
# Fake torch modules.  The C pickler emits GLOBAL 'module name' for a class or
# function only after checking that sys.modules[module].name is that very
# object, so we register stand-ins under the names torch really uses.
# ---------------------------------------------------------------------------


def _rebuild_tensor_v2(*args):
    raise RuntimeError('placeholder: only its name is ever pickled')


_STORAGE_CLASSES = {}


def _install_fake_torch():
    if 'torch' in sys.modules and not getattr(sys.modules['torch'], '_mkpth_fake', False):
        raise RuntimeError('real torch is imported in this process; run mkpth.py on its own')
    if _STORAGE_CLASSES:
        return
    torch_mod = types.ModuleType('torch')
    torch_mod._mkpth_fake = True
    utils_mod = types.ModuleType('torch._utils')
    _rebuild_tensor_v2.__module__ = 'torch._utils'
    _rebuild_tensor_v2.__qualname__ = '_rebuild_tensor_v2'
    utils_mod._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch_mod._utils = utils_mod
    for dtype, (cls_name, _) in DTYPES.items():
        cls = type(cls_name, (), {'__module__': 'torch', '__qualname__': cls_name})
        setattr(torch_mod, cls_name, cls)
        _STORAGE_CLASSES[dtype] = cls
    sys.modules['torch'] = torch_mod
    sys.modules['torch._utils'] = utils_mod


class Storage:
    """One data/<key> entry.  `make` produces its bytes lazily at write time so
    a 400 MB model never sits in memory all at once."""

    def __init__(self, dtype, numel, make):
        self.dtype, self.numel, self.make = dtype, numel, make
        self.keep_bytes = None      # --short-storage: truncate entry to this many bytes


class Tensor:
    """Pickles exactly as a torch tensor: _rebuild_tensor_v2(storage, offset,
    size, stride, requires_grad=False, backward_hooks=OrderedDict())."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    def __reduce__(self):
        # Fresh size/stride tuples per tensor (torch makes a new torch.Size each
        # time), else pickle would memoise a shared shape and emit BINGET.
        return (_rebuild_tensor_v2, (self.storage, self.offset, tuple([*self.size]),
                                     tuple([*self.stride]), False, collections.OrderedDict()))


def contiguous_strides(shape):
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


class _TorchPickler(pickle.Pickler):
    """Storages become BINPERSID ('storage', Class, key, 'cpu', numel); keys are
    handed out in order of first appearance, as torch.save does."""

    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.storages = {}          # key -> Storage
        self._key_of = {}           # id(Storage) -> key

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        key = self._key_of.get(id(obj))
        if key is None:
            key = self._key_of[id(obj)] = str(len(self.storages))
            self.storages[key] = obj
        # A fresh tuple each time (like torch), so a shared storage shows up as a
        # new MARK...TUPLE of memoised BINGETs rather than one BINGET.
        return ('storage', _STORAGE_CLASSES[obj.dtype], key, 'cpu', obj.numel)


# The 'evil' entry is pickled as this string and then replaced by raw opcodes:
# pickle itself refuses to name os.system as 'os system' (it lives in posix).
_EVIL_MARK = '\x00mkpth-forbidden-global\x00'
_EVIL_OPS = b'cos\nsystem\n' + b'X' + struct.pack('<I', 10) + b'echo pwned' + b'\x85R'


def pickle_state(tensors, metadata=None, evil=False):
    """Return (data.pkl bytes, {key: Storage}) for an OrderedDict name -> Tensor."""
    _install_fake_torch()
    top = collections.OrderedDict(tensors)
    if evil:
        top['evil'] = _EVIL_MARK
    if metadata is not None:
        # nn.Module.state_dict() hangs _metadata on the dict; pickle stores the
        # instance __dict__ as state, which costs a BUILD opcode.
        top._metadata = metadata
    buf = io.BytesIO()
    pickler = _TorchPickler(buf)
    pickler.dump(top)
    data = buf.getvalue()
    if evil:
        mark = _EVIL_MARK.encode()
        mark = b'X' + struct.pack('<I', len(mark)) + mark
        assert data.count(mark) == 1
        data = data.replace(mark, _EVIL_OPS)   # the BINPUT after it memoises the REDUCE result
    return data, pickler.storages


# ---------------------------------------------------------------------------
# Zip container
# ---------------------------------------------------------------------------

class _AlignedZipInfo(zipfile.ZipInfo):
    """Pads the local header with an 'FB' extra record (id 0x4246, 'Z' bytes) so
    the entry's data starts on a 64-byte boundary, as torch's writer does.  The
    central directory keeps an empty extra field, so readers must take the data
    offset from the local header.  Also sets the UTF-8 name flag (0x800)."""

    def FileHeader(self, zip64=None):
        self.flag_bits |= 0x800
        self.extra = b''
        bare = len(super().FileHeader(zip64))
        pad = -(self.header_offset + bare + 4) % 64
        self.extra = struct.pack('<HH', 0x4246, pad) + b'Z' * pad
        try:
            return super().FileHeader(zip64)
        finally:
            self.extra = b''


class _NoSeek:
    """Write-only wrapper without seek(): zipfile then writes zero CRC/sizes in
    the local header plus a data descriptor after the data (flag 0x08), which
    is what torch files look like."""

    def __init__(self, f):
        self.f, self.pos = f, 0

    def write(self, b):
        self.pos += len(b)
        return self.f.write(b)

    def tell(self):
        return self.pos

    def flush(self):
        self.f.flush()


def write_archive(path, root, entries):
    """entries: iterable of (name under root, bytes-like or callable -> bytes)."""
    with open(path, 'wb') as raw:
        with zipfile.ZipFile(_NoSeek(raw), 'w', zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, data in entries:
                info = _AlignedZipInfo(f'{root}/{name}', date_time=(1980, 0, 0, 0, 0, 0))
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, data() if callable(data) else data)


def storage_bytes(st, big_endian):
    data = st.make()
    if st.keep_bytes is not None:
        data = data[:st.keep_bytes]
    if big_endian:
        size = DTYPES[st.dtype][1]
        data = bytearray(data[:len(data) - len(data) % size])
        swapped = bytearray(len(data))
        for i in range(size):           # byte i of each element moves to size-1-i
            swapped[size - 1 - i::size] = data[i::size]
        data = swapped
    return data


def write_checkpoint(path, root, pkl, storages, byteorder='little', with_pkl=True):
    entries = [('data.pkl', pkl)] if with_pkl else []
    entries.append(('byteorder', byteorder.encode()))
    # torch writes storages sorted by key *as strings*: 0, 1, 10, 11, ..., 2
    big = byteorder == 'big'
    for key in sorted(storages):
        entries.append((f'data/{key}', lambda st=storages[key]: storage_bytes(st, big)))
    entries.append(('version', b'3\n'))
    write_archive(path, root, entries)


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

def encode(values, dtype):
    """Floats -> little-endian bytes; bf16 rounds f32 to nearest even."""
    n = len(values)
    if dtype == 'f32':
        return struct.pack(f'<{n}f', *values)
    if dtype == 'f16':
        return struct.pack(f'<{n}e', *values)
    words = struct.unpack(f'<{n}I', struct.pack(f'<{n}f', *values))
    return struct.pack(f'<{n}H', *[(w + 0x7fff + ((w >> 16) & 1)) >> 16 for w in words])


_TABLES = {}


def _top_byte_table(dtype, scale):
    """256-entry map for the most significant byte of each element: keep the
    random sign bit, force the exponent into an 8-octave band whose RMS is
    about `scale`; the other bytes stay random (mantissa), so every value is
    finite and no per-element Python loop is needed."""
    key = (dtype, scale)
    if key not in _TABLES:
        # log-uniform |x| over 8 octaves below 2^top has RMS ~ 2^top / 3.33
        top = round(math.log2(3.33 * scale))
        if dtype == 'f16':      # byte = sign | 5 exponent bits | 2 mantissa bits
            e_hi = min(max(top + 14, 8), 30)
            table = [(b & 0x80) | ((e_hi - ((b >> 2) & 7)) << 2) | (b & 3) for b in range(256)]
        else:                   # f32 / bf16: sign | upper 7 of 8 exponent bits
            t = min(max((top + 125) // 2, 4), 126)
            table = [(b & 0x80) | (t - (b & 3)) for b in range(256)]
        _TABLES[key] = bytes(table)
    return _TABLES[key]


def random_fill(rng, numel, dtype, scale):
    size = DTYPES[dtype][1]
    # randbytes(n) asks for n*8 random bits, which must fit a C int: draw in
    # chunks (a multiple of 4 bytes, so the stream is the same as one call).
    buf, left = bytearray(), numel * size
    while left:
        step = min(left, 1 << 26)
        buf += rng.randbytes(step)
        left -= step
    buf[size - 1::size] = buf[size - 1::size].translate(_top_byte_table(dtype, scale))
    return buf


def _uniform(lo, hi):
    return lambda rng, n: [lo + (hi - lo) * rng.random() for _ in range(n)]


# Small per-channel tensors get values in the ranges a forward pass expects.
_LEAF_RANGES = {
    'w0': (-0.5, 0.5), 'a0': (-0.3, 0.3), 'v0': (-0.3, 0.7), 'k_k': (0.6, 1.0),
    'k_a': (0.9, 1.1), 'r_k': (-0.1, 0.1), 'time_decay': (-3.0, 0.0),
    'time_faaaa': (-0.5, 0.5),
}


def vector_role(name):
    """Value generator for small named parameters, or None for big matrices."""
    parts = name.split('.')
    leaf, owner = parts[-1], (parts[-2] if len(parts) > 1 else '')
    if owner.startswith('ln'):                  # LayerNorm / GroupNorm affine
        return _uniform(0.9, 1.1) if leaf == 'weight' else _uniform(-0.05, 0.05)
    if leaf.startswith('x_') or (leaf.startswith('time_maa_') and leaf[-2:] not in ('w1', 'w2')):
        return _uniform(0.0, 0.99)              # mix factors in [0,1) even after bf16 rounding
    if leaf in _LEAF_RANGES:
        return _uniform(*_LEAF_RANGES[leaf])
    return None


def make_storage(name, shape, dtype, seed, scale):
    """Contiguous storage for `name`; values depend only on (seed, name, shape,
    dtype), so dropping/shuffling other tensors never changes this one."""
    numel = math.prod(shape)
    gen = vector_role(name)

    def make():
        rng = random.Random(f'{seed}:{name}')
        if gen is None:
            return random_fill(rng, numel, dtype, scale)
        return encode(gen(rng, numel), dtype)
    return Storage(dtype, numel, make)


# ---------------------------------------------------------------------------
# Tensor lists (name, shape) in the order the training code creates them
# ---------------------------------------------------------------------------

def rwkv7_shapes(a):
    C, N, V, F = a.embd, a.head_size, a.vocab, a.ffn or 4 * a.embd
    H = C // N
    vec = (1, 1, C)
    out = [('emb.weight', (V, C))]
    for i in range(a.layers):
        b = f'blocks.{i}.'
        out += [(b + 'ln1.weight', (C,)), (b + 'ln1.bias', (C,)),
                (b + 'ln2.weight', (C,)), (b + 'ln2.bias', (C,))]
        if i == 0:      # Block registers ln0 after ln1/ln2
            out += [(b + 'ln0.weight', (C,)), (b + 'ln0.bias', (C,))]
        att = [(f'x_{c}', vec) for c in 'rwkvag']
        for p, rank in (('w', a.lora_decay), ('a', a.lora_iclr),
                        ('v', a.lora_value)):
            att += [(f'{p}1', (C, rank)), (f'{p}2', (rank, C)), (f'{p}0', vec)]
        att += [('g1', (C, a.lora_gate)), ('g2', (a.lora_gate, C)),
                ('k_k', vec), ('k_a', vec), ('r_k', (H, N)),
                ('receptance.weight', (C, C)), ('key.weight', (C, C)),
                ('value.weight', (C, C)), ('output.weight', (C, C)),
                ('ln_x.weight', (C,)), ('ln_x.bias', (C,))]
        if i == 0 and a.no_layer0_v:
            att = [t for t in att if t[0] not in ('v0', 'v1', 'v2')]
        out += [(b + 'att.' + n, s) for n, s in att]
        out += [(b + 'ffn.x_k', vec), (b + 'ffn.key.weight', (F, C)),
                (b + 'ffn.value.weight', (C, F))]
    out += [('ln_out.weight', (C,)), ('ln_out.bias', (C,)), ('head.weight', (V, C))]
    return out


def rwkv6_shapes(a):
    C, N, V = a.embd, a.head_size, a.vocab
    F = a.ffn or int(C * 3.5) // 32 * 32
    vec = (1, 1, C)
    out = [('emb.weight', (V, C))]
    for i in range(a.layers):
        b = f'blocks.{i}.'
        out += [(b + 'ln1.weight', (C,)), (b + 'ln1.bias', (C,)),
                (b + 'ln2.weight', (C,)), (b + 'ln2.bias', (C,))]
        if i == 0:
            out += [(b + 'ln0.weight', (C,)), (b + 'ln0.bias', (C,))]
        att = [(f'time_maa_{c}', vec) for c in 'xwkvrg']
        att += [('time_maa_w1', (C, 32 * 5)), ('time_maa_w2', (5, 32, C)),
                ('time_decay', vec), ('time_decay_w1', (C, 64)),
                ('time_decay_w2', (64, C)), ('time_faaaa', (C // N, N))]
        att += [(f'{m}.weight', (C, C)) for m in ('receptance', 'key', 'value', 'output', 'gate')]
        att += [('ln_x.weight', (C,)), ('ln_x.bias', (C,))]
        out += [(b + 'att.' + n, s) for n, s in att]
        out += [(b + 'ffn.time_maa_k', vec), (b + 'ffn.time_maa_r', vec),
                (b + 'ffn.key.weight', (F, C)), (b + 'ffn.receptance.weight', (C, C)),
                (b + 'ffn.value.weight', (C, F))]
    out += [('ln_out.weight', (C,)), ('ln_out.bias', (C,)), ('head.weight', (V, C))]
    return out


def state_shapes(a):
    N = a.head_size
    return [(f'blocks.{i}.att.time_state', (a.embd // N, N, N)) for i in range(a.layers)]


def module_metadata(names, kind):
    """_metadata as nn.Module.state_dict() builds it: every module prefix in
    pre-order, each {'version': 1}.  The RWKV-6/7 att and ffn modules also own
    a parameter-less time_shift (ZeroPad2d) registered before their Linears."""
    meta = collections.OrderedDict([('', {'version': 1})])
    for name in names:
        parts = name.split('.')[:-1]
        for k in range(1, len(parts) + 1):
            mod = '.'.join(parts[:k])
            if mod not in meta:
                meta[mod] = {'version': 1}
                if kind != 'state' and k == 3 and parts[0] == 'blocks' and parts[2] in ('att', 'ffn'):
                    meta[mod + '.time_shift'] = {'version': 1}
    return meta


# ---------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------

def fail(msg):
    sys.stderr.write(f'mkpth: error: {msg}\n')
    sys.exit(2)


def cmd_model(a):
    kind = 'state' if a.state else 'rwkv6' if a.rwkv6 else 'rwkv7'
    dtype = a.dtype or ('f32' if kind == 'state' else 'bf16')
    if a.embd % a.head_size:
        fail(f'--embd {a.embd} is not a multiple of --head-size {a.head_size}')
    shapes = {'state': state_shapes, 'rwkv6': rwkv6_shapes, 'rwkv7': rwkv7_shapes}[kind](a)
    shapes = collections.OrderedDict(shapes)
    scale = 1.0 if kind == 'state' else 1 / math.sqrt(a.embd)

    def need(opt, name):
        if name not in shapes:
            fail(f'{opt}: no tensor named {name!r}')

    # Faults that change which tensors exist or their shapes.
    for name in a.drop:
        need('--drop', name)
        del shapes[name]
    for name, shape in a.reshape:
        need('--reshape', name)
        shapes[name] = shape
    for name, shape in a.add:
        if name in shapes:
            fail(f'--add: tensor {name!r} already exists')
        shapes[name] = shape
    meta_names = list(shapes)
    names = list(shapes)
    if a.shuffle:
        random.Random(a.seed).shuffle(names)

    tensors = collections.OrderedDict()
    for name in names:
        shape = shapes[name]
        st = make_storage(name, shape, dtype, a.seed, scale)
        tensors[name] = Tensor(st, 0, shape, contiguous_strides(shape))

    # Faults in the pickled view metadata or the storage bytes.
    for name in a.short_storage:
        need('--short-storage', name)
        st = tensors[name].storage
        st.keep_bytes = (st.numel // 2) * DTYPES[dtype][1]
    for name in a.view_overflow:
        need('--view-overflow', name)
        tensors[name].offset = 1        # last element lands one past the storage
    for name in a.huge_shape:
        need('--huge-shape', name)
        t = tensors[name]
        # Each number fits int64 (strides 1) so only the product overflows.
        t.size, t.stride = (2**40,) * 3, (1, 1, 1)
    for name in a.negative_shape:
        need('--negative-shape', name)
        t = tensors[name]
        if t.size:
            t.size = (-(t.size[0] or 1),) + t.size[1:]
        else:
            t.size, t.stride = (-1,), (1,)

    meta = module_metadata(meta_names, kind) if a.module_state_dict else None
    pkl, storages = pickle_state(tensors, meta, evil=a.forbidden_global)
    if a.bad_opcode:
        pkl = pkl[:2] + b'\xff' + pkl[2:]       # 0xff is no pickle opcode
    write_checkpoint(a.out, a.root, pkl, storages,
                     'big' if a.big_endian else 'little', with_pkl=not a.no_pkl)
    return 0


def cmd_views(a):
    tensors, expect = collections.OrderedDict(), {}
    for di, dtype in enumerate(DTYPES):
        def vals(n, salt):
            return [((i * 7 + salt + di * 3) % 41 - 20) * 0.25 for i in range(n)]

        def add(name, storage, values, offset, size, stride=None):
            stride = contiguous_strides(size) if stride is None else stride
            tensors[name] = Tensor(storage, offset, size, stride)
            logical = []
            for idx in range(math.prod(size)):     # row-major walk over the view
                pos, rem = offset, idx
                for d, s in zip(reversed(size), reversed(stride)):
                    pos += (rem % d) * s
                    rem //= d
                logical.append(values[pos])
            expect[name] = {'dtype': dtype, 'shape': list(size),
                            'values': [v if math.isfinite(v) else ('inf' if v > 0 else '-inf')
                                       for v in logical]}

        def storage(values, dtype=dtype):      # bind dtype now: bytes are made later
            return Storage(dtype, len(values), lambda: encode(values, dtype))

        v1 = vals(32, 0)
        v1[5], v1[15], v1[20] = -0.0, math.inf, -math.inf
        if dtype != 'bf16':
            v1[12] = 2.0**-20           # f16 subnormal (bf16 would hold it, but keep bf16 plain)
        s1 = storage(v1)
        add(f'{dtype}.offset', s1, v1, 5, (2, 3))
        add(f'{dtype}.share_a', s1, v1, 11, (6,))
        add(f'{dtype}.share_b', s1, v1, 14, (3, 4))        # overlaps share_a's tail
        v2 = vals(12, 5)
        s2 = storage(v2)
        add(f'{dtype}.matrix', s2, v2, 0, (3, 4))
        add(f'{dtype}.transposed', s2, v2, 0, (4, 3), (1, 4))  # matrix.t()
        add(f'{dtype}.column', s2, v2, 1, (3,), (4,))          # matrix[:, 1]
        v3 = vals(8, 11)
        add(f'{dtype}.ln', storage(v3), v3, 0, (1, 1, 8))
        add(f'{dtype}.scalar', storage([-2.5]), [-2.5], 0, ())
        add(f'{dtype}.empty', storage([]), [], 0, (0, 4))
    pkl, storages = pickle_state(tensors)
    write_checkpoint(a.out, a.root, pkl, storages)
    with open(a.expect, 'w') as f:
        f.write('{\n' + ',\n'.join(f'  {json.dumps(k)}: {json.dumps(v)}'
                                   for k, v in expect.items()) + '\n}\n')
    return 0


def cmd_raw(a):
    entries = [('data.pkl', a.pickle_hex), ('byteorder', b'little')]
    entries += [(f'data/{name}', data) for name, data in a.entry]
    entries.append(('version', b'3\n'))
    write_archive(a.out, a.root, entries)
    return 0


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message):           # one line instead of usage + message
        fail(message)


def _count(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not an integer: {s!r}')
    if v < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1: {s}')
    return v


def _name_shape(s):
    name, eq, dims = s.partition('=')
    if not eq or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=D0,D1,... got {s!r}')
    try:
        shape = tuple(int(d) for d in dims.split(',')) if dims else ()
    except ValueError:
        raise argparse.ArgumentTypeError(f'bad dimensions in {s!r}')
    if any(d < 0 for d in shape):
        raise argparse.ArgumentTypeError(f'negative dimension in {s!r} (use --negative-shape)')
    return name, shape


def _hex(s):
    try:
        return bytes.fromhex(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not hex: {s[:40]!r}')


def _name_hex(s):
    name, eq, data = s.partition('=')
    if not eq or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=HEX, got {s[:40]!r}')
    return name, _hex(data)


def build_parser():
    p = _Parser(prog='mkpth.py', description=__doc__.split('\n\n')[0],
                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='cmd', metavar='SUBCOMMAND')
    sub.required = True

    m = sub.add_parser('model', help='random-weight RWKV-7 checkpoint, optionally broken',
                       description='Random-weight RWKV-7 checkpoint; fault options combine.')
    m.add_argument('out', metavar='OUT.pth')
    g = m.add_argument_group('shape and values')
    g.add_argument('--layers', type=_count, default=2, metavar='L', help='default 2')
    g.add_argument('--embd', type=_count, default=128, metavar='C', help='default 128')
    g.add_argument('--vocab', type=_count, default=1024, metavar='V', help='default 1024')
    g.add_argument('--head-size', type=_count, default=64, metavar='N', help='default 64')
    g.add_argument('--ffn', type=_count, default=None, metavar='F', help='default 4C (RWKV-6: 3.5C)')
    g.add_argument('--lora-decay', type=_count, default=64, metavar='D', help='Dw, default 64')
    g.add_argument('--lora-iclr', type=_count, default=64, metavar='D', help='Da, default 64')
    g.add_argument('--lora-value', type=_count, default=32, metavar='D', help='Dv, default 32')
    g.add_argument('--lora-gate', type=_count, default=128, metavar='D', help='Dg, default 128')
    g.add_argument('--dtype', choices=DTYPES, default=None,
                   help='default bf16 (f32 with --state)')
    g.add_argument('--seed', type=int, default=1, metavar='S', help='default 1')
    g.add_argument('--shuffle', action='store_true', help='random key order')
    g.add_argument('--no-layer0-v', action='store_true', help='omit blocks.0.att.v0/v1/v2')
    g.add_argument('--root', default='archive', help='top folder in the zip (default archive)')
    g.add_argument('--module-state-dict', action='store_true',
                   help='add _metadata as nn.Module.state_dict() does (BUILD opcode)')
    f = m.add_argument_group('faults (deliberately broken files)')
    f.add_argument('--drop', action='append', default=[], metavar='NAME', help='omit tensor NAME')
    f.add_argument('--reshape', action='append', default=[], type=_name_shape,
                   metavar='NAME=D0,D1,...', help='store NAME with this shape')
    f.add_argument('--add', action='append', default=[], type=_name_shape,
                   metavar='NAME=D0,D1,...', help='add an extra tensor')
    kind = f.add_mutually_exclusive_group()
    kind.add_argument('--rwkv6', action='store_true', help='RWKV-6 style checkpoint instead')
    kind.add_argument('--state', action='store_true',
                      help='state-tuning file: blocks.i.att.time_state (H,N,N) only')
    f.add_argument('--short-storage', action='append', default=[], metavar='NAME',
                   help="NAME's data entry keeps only the first half of its elements")
    f.add_argument('--view-overflow', action='append', default=[], metavar='NAME',
                   help="NAME's storage_offset is 1, so the view ends one element past its storage")
    f.add_argument('--huge-shape', action='append', default=[], metavar='NAME',
                   help='size (2**40,)*3, strides (1,1,1): the element count overflows int64')
    f.add_argument('--negative-shape', action='append', default=[], metavar='NAME',
                   help='first dimension negated')
    f.add_argument('--forbidden-global', action='store_true',
                   help="extra entry 'evil' = GLOBAL 'os system' ('echo pwned',) REDUCE")
    f.add_argument('--bad-opcode', action='store_true', help='byte 0xff right after PROTO')
    f.add_argument('--no-pkl', action='store_true', help='omit data.pkl')
    f.add_argument('--big-endian', action='store_true',
                   help='byteorder "big" (storages really are byte-swapped to match)')
    m.set_defaults(func=cmd_model)

    v = sub.add_parser('views', help='views of shared storages for every dtype + expected values')
    v.add_argument('out', metavar='OUT.pth')
    v.add_argument('expect', metavar='EXPECT.json')
    v.add_argument('--root', default='archive', help='top folder in the zip (default archive)')
    v.set_defaults(func=cmd_views)

    r = sub.add_parser('raw', help='zip holding exactly the given data.pkl and data/ entries')
    r.add_argument('out', metavar='OUT.pth')
    r.add_argument('--pickle-hex', type=_hex, required=True, metavar='HEX', help='data.pkl bytes')
    r.add_argument('--entry', action='append', default=[], type=_name_hex, metavar='NAME=HEX',
                   help='data/NAME holds these bytes (repeatable)')
    r.add_argument('--root', default='archive', help='top folder in the zip (default archive)')
    r.set_defaults(func=cmd_raw)
    return p


def main(argv=None):
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except (OSError, MemoryError, OverflowError) as e:
        sys.stderr.write(f'mkpth: {a.out}: {e}\n')
        return 1


if __name__ == '__main__':
    sys.exit(main())
