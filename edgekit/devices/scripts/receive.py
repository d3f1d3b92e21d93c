# ON THE DEVICE (after common.py): python -c SCRIPT DEST_DIR < STREAM
# Receives files from the host into DEST_DIR (created). The stream is, per file, one JSON
# header line {"name": "relative/path", "size": N} followed by N bytes, and finally {"end": true}.
# Answers the SHA-256 of every file as written; on any failure DEST_DIR is removed.
import hashlib
import json
import os
import shutil
import sys

if "emit" not in globals():  # run alone (tests, linters); normally common.py comes first
    from common import emit, expand, fail, fail_os


def safe_path(dest, name):
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        fail("protocol", "refusing file name %r" % name)
    return os.path.join(dest, *parts)


def receive_one(stream, path, size):
    digest = hashlib.sha256()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left:
            block = stream.read(min(left, 1 << 20))
            if not block:
                fail("truncated", "the upload stopped after %d of %d bytes of %s" % (size - left, size, path))
            digest.update(block)
            out.write(block)
            left -= len(block)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def main():
    dest = expand(sys.argv[1])
    stream = sys.stdin.buffer
    hashes = {}
    try:
        os.makedirs(dest, exist_ok=True)
        while True:
            line = stream.readline()
            if not line:
                fail("truncated", "the upload stream ended before its end marker")
            header = json.loads(line)
            if header.get("end"):
                break
            hashes[header["name"]] = receive_one(stream, safe_path(dest, header["name"]), int(header["size"]))
    except OSError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        fail_os(exc, "cannot write to %s" % dest)
    except (ValueError, KeyError, TypeError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        fail("protocol", "bad upload header: %s" % exc)
    except SystemExit:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    emit({"ok": {"dir": dest, "files": hashes}})


if __name__ == "__main__":
    main()
