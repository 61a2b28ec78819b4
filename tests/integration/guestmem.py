#!/usr/bin/env python3
"""Flip one byte of a test guest's checksummed page from the host side.

Usage: guestmem.py flip QEMU_PID REGION PAGE

tide-guestload heads every page it owns with a magic word, the page's id
(region << 56 | index), its generation and the guest's seed (see
tests/guest/tide-guestload.c, page_fill).  This finds every 4 KiB page of the
QEMU process's guest RAM that carries the header of REGION:PAGE and flips one
byte in its body through /proc/PID/mem, behind the guest's back, as a bad
migration would.  Every copy is flipped (a freed, stale copy of the page may
linger in guest RAM), so the live one is hit for sure.  Prints how many pages
were changed; exits 1 if none was found.
"""
import struct
import sys

PAGE = 4096
MAGIC = 0x5449444547554553  # "TIDEGUES"
REGIONS = {"wss": 0, "ballast": 1}
FLIP_OFFSET = PAGE // 2 + 8  # in the body, past the 32-byte header


def ram_mappings(pid, min_bytes):
    """Writable private mappings at least min_bytes long: guest RAM."""
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if "rw" in fields[1] and hi - lo >= min_bytes:
                yield lo, hi


def main():
    if len(sys.argv) != 5 or sys.argv[1] != "flip" or sys.argv[3] not in REGIONS:
        sys.exit(__doc__)
    pid, page = int(sys.argv[2]), int(sys.argv[4])
    want_id = (REGIONS[sys.argv[3]] << 56) | page
    head = struct.pack("<QQ", MAGIC, want_id)
    hits = []
    with open(f"/proc/{pid}/mem", "r+b", buffering=0) as mem:
        for lo, hi in ram_mappings(pid, 32 << 20):
            for base in range(lo, hi, 1 << 20):
                try:
                    mem.seek(base)
                    chunk = mem.read(min(1 << 20, hi - base))
                except OSError:
                    continue
                at = chunk.find(head)
                while at >= 0:
                    if at % PAGE == 0:
                        hits.append(base + at)
                    at = chunk.find(head, at + 1)
        for addr in hits:
            mem.seek(addr + FLIP_OFFSET)
            b = mem.read(1)
            mem.seek(addr + FLIP_OFFSET)
            mem.write(bytes([b[0] ^ 0x01]))
    print(f"flipped one byte in {len(hits)} cop{'y' if len(hits) == 1 else 'ies'} of "
          f"{sys.argv[3]}:{page} in QEMU {pid}")
    sys.exit(0 if hits else 1)


if __name__ == "__main__":
    main()
