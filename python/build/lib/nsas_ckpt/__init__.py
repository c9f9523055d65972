"""A reader for nsas checkpoints (docs/checkpoint-format.md), in plain Python and numpy.

    import nsas_ckpt
    run = nsas_ckpt.load("runs/nsas/epoch-0002.nsasckpt")   # config, state, metrics, paths, tensors
    table = nsas_ckpt.load_run("runs/nsas")                  # one row per epoch: pandas.DataFrame(table)
    ck = nsas_ckpt.read("runs/nsas/epoch-0002.nsasckpt")
    ck.sections                      # names in file order
    ck.json("config")["run"]         # the run's options (space, method, option groups)
    w = ck.tensors("weights")        # {name: numpy float32 array}
    ck.text("paths").splitlines()    # the architecture of every step
    ck.section("archive")            # any section, decoded by its kind (JSON, tensors or text)

zstd sections are decoded with the `zstandard` module when it is installed, else with the
`zstd` command. `python3 -m nsas_ckpt FILE` (or `Tools/nsas_ckpt.py FILE` in the repository)
prints a JSON summary (used by nsas's tests). Damaged or crafted files raise `CheckpointError` only.
"""
import glob, json, os, shutil, struct, subprocess, sys, zlib

import numpy as np

MAGIC = b"NSASCKPT"
VERSION = 2


# What each section of the run schema holds (docs/checkpoint-format.md); others are returned raw.
TENSOR_SECTIONS = {"weights", "optimizer", "arch", "wpl", "asgd"}
JSON_SECTIONS = {"config", "state", "metrics", "rng", "archive", "arch_state", "wpl_state", "standalone", "asgd_state"}
TEXT_SECTIONS = {"paths"}


class CheckpointError(Exception):
    pass


def _zstd_decompress(data, size):
    try:
        import zstandard
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    except ImportError:
        if shutil.which("zstd") is None:
            raise CheckpointError("neither the zstandard module nor the zstd command is available")
        out = subprocess.run(["zstd", "-d", "-c", "-q"], input=data, capture_output=True)
        if out.returncode != 0:
            raise CheckpointError("zstd failed: " + out.stderr.decode(errors="replace"))
        return out.stdout


def _unshuffle4(b):
    m = len(b) // 4
    out = bytearray(len(b))
    for k in range(4):
        out[k:4 * m:4] = b[k * m:(k + 1) * m]
    out[4 * m:] = b[4 * m:]
    return bytes(out)


MAX_RAW_BYTES = 16 << 30
MAX_COMPRESSION_RATIO = 1024   # as the Swift reader: decoded <= max(1 MiB, 1024 x stored)


def _own_errors(method):
    """Damaged or crafted files raise CheckpointError, never struct, Unicode, index or value errors."""
    import functools

    @functools.wraps(method)
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except CheckpointError:
            raise
        except KeyError as e:
            raise CheckpointError(f"{getattr(self, 'path', '?')}: no section {e}") from None
        except (struct.error, UnicodeDecodeError, IndexError, ValueError, OverflowError, MemoryError) as e:
            raise CheckpointError(f"{getattr(self, 'path', '?')}: damaged ({type(e).__name__}: {e})") from None
        except OSError as e:
            raise CheckpointError(f"{getattr(self, 'path', '?')}: cannot be read ({e.strerror or e})") from None
    return wrapper


class Checkpoint:
    @_own_errors
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self._bytes = f.read()
        b = self._bytes
        if len(b) < 24 or b[:8] != MAGIC:
            raise CheckpointError(f"{path}: not an nsas checkpoint")
        version, n = struct.unpack_from("<II", b, 8)
        if version != VERSION:
            raise CheckpointError(f"{path}: format version {version}, this reader reads {VERSION}")
        end = 24 + 64 * n
        if len(b) < end + 4 or struct.unpack_from("<I", b, end)[0] != zlib.crc32(b[:end]):
            raise CheckpointError(f"{path}: damaged section table")
        self._entries = {}
        self.sections = []
        for i in range(n):
            o = 24 + 64 * i
            name = b[o:o + 16].rstrip(b"\0").decode()
            codec, raw_crc, off, stored, raw, stored_crc = struct.unpack_from("<IIQQQI", b, o + 16)
            bound = stored if codec == 0 else max(1 << 20, stored * MAX_COMPRESSION_RATIO)
            if off + stored > len(b) or raw > min(MAX_RAW_BYTES, bound):
                raise CheckpointError(f"{path}, section '{name}': declares {raw} bytes from {stored} stored at {off} (file: {len(b)} bytes)")
            self._entries[name] = (codec, raw_crc, off, stored, raw, stored_crc)
            self.sections.append(name)

    @_own_errors
    def raw(self, name):
        codec, raw_crc, off, stored, size, stored_crc = self._entries[name]
        data = self._bytes[off:off + stored]
        if len(data) != stored or zlib.crc32(data) != stored_crc:
            raise CheckpointError(f"{self.path}, section '{name}': fails its checksum")
        if codec in (1, 2):
            data = _zstd_decompress(data, size)
            if codec == 2:
                data = _unshuffle4(data)
        if len(data) != size or zlib.crc32(data) != raw_crc:
            raise CheckpointError(f"{self.path}, section '{name}': decodes to bytes that fail their checksum")
        return data

    @_own_errors
    def json(self, name):
        return json.loads(self.raw(name))

    @_own_errors
    def text(self, name):
        return self.raw(name).decode()

    @_own_errors
    def tensors(self, name):
        b = self.raw(name)
        (count,), pos, out = struct.unpack_from("<I", b, 0), 4, {}
        for _ in range(count):
            (nl,) = struct.unpack_from("<H", b, pos); pos += 2
            tname = b[pos:pos + nl].decode(); pos += nl
            rank = b[pos]; pos += 1
            shape = struct.unpack_from(f"<{rank}I", b, pos); pos += 4 * rank
            n = int(np.prod(shape)) if rank else 1
            out[tname] = np.frombuffer(b, "<f4", count=n, offset=pos).reshape(shape).copy(); pos += 4 * n
        return out

    def section(self, name):
        """Any section decoded by its kind: tensors as {name: array}, JSON, text, or raw bytes."""
        if name in TENSOR_SECTIONS:
            return self.tensors(name)
        if name in JSON_SECTIONS:
            return self.json(name)
        if name in TEXT_SECTIONS:
            return self.text(name)
        return self.raw(name)


def read(path):
    return Checkpoint(path)


def load(path):
    """One checkpoint as a dict: config, state, metrics (JSON), paths (one line a step), tensors
    ({section: {name: numpy array}} for every tensor section), and the other JSON sections."""
    ck = read(path)
    out = {"file": path, "sections": ck.sections, "tensors": {}}
    for name in ck.sections:
        if name in TENSOR_SECTIONS:
            out["tensors"][name] = ck.tensors(name)
        elif name in TEXT_SECTIONS:
            out[name] = ck.text(name).splitlines()
        elif name in JSON_SECTIONS:
            out[name] = ck.json(name)
    return out


def load_run(directory):
    """Every epoch's metrics of a run folder, one flat dict a checkpoint in epoch order (with
    `epoch`, `file`, the training metrics, and `tracked.<arch>.loss`/`accuracy` of --track
    architectures): `pandas.DataFrame(load_run(dir))` is the run's table."""
    files = sorted(glob.glob(os.path.join(directory, "epoch-*.nsasckpt")))
    if not files:
        raise CheckpointError(f"{directory}: no checkpoints (epoch-NNNN.nsasckpt)")
    rows = []
    for f in files:
        ck = read(f)
        m, state = ck.json("metrics"), ck.json("state")
        row = {"epoch": state["epoch"], "global_step": state["globalStep"], "file": f}
        for k, v in m.items():
            if k == "tracked":
                for t in v or []:
                    for field in ("loss", "accuracy", "perplexity"):
                        if field in t:
                            row[f"tracked.{t['arch']}.{field}"] = t[field]
            elif isinstance(v, (int, float, str)) and k != "epoch":
                row[k] = v
        rows.append(row)
    return sorted(rows, key=lambda r: r["epoch"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python3 -m nsas_ckpt CHECKPOINT", file=sys.stderr)
        return 2
    try:
        ck = read(argv[0])
        summary = {"sections": ck.sections}
        for name in ck.sections:
            v = ck.section(name)
            if name in TENSOR_SECTIONS:
                summary[name] = {k: {"shape": list(a.shape), "sum": float(np.float64(a.astype(np.float64).sum()))} for k, a in v.items()}
            elif name in TEXT_SECTIONS:
                summary[name] = v.splitlines()
            elif name in JSON_SECTIONS:
                summary[name] = v
            else:
                summary[name] = {"raw_bytes": len(v)}
    except CheckpointError as e:
        print(f"nsas_ckpt: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0
