"""Rewrite a .cu file for the CPU emulation (emulation.hpp): kernel<<<grid, block[, shared, stream]>>>(args); becomes
emu::launch(grid, block, [&] { kernel(args); }); (launches run in order, so the stream is dropped; a launch may
span lines, which are joined) and relative includes of cuda/ headers become plain names.

Usage: python emulate_launches.py IN.cu OUT.cpp"""

import re
import sys

LAUNCH = re.compile(r"^(\s*)(.*?)<<<(.+?), (\w+)(?:, [^>]*)?>>>\((.*)\);$")


def main(src: str, dst: str) -> None:
    out = ['#include "emulation.hpp"']
    lines = iter(open(src, encoding="utf-8").read().split("\n"))
    for line in lines:
        joined = 0
        while "<<<" in line and not line.endswith(";"):
            line += " " + next(lines).strip()
            joined += 1
        m = LAUNCH.match(line)
        if m:
            indent, kernel, grid, block, args = m.groups()
            line = f"{indent}emu::launch({grid}, {block}, [&] {{ {kernel}({args}); }});"
        if "<<<" in line:
            sys.exit(f"{src}: a launch this script cannot rewrite: {line.strip()}")
        out.append(re.sub(r'#include "\.\./core/(\w+\.cuh)"', r'#include "\1"', line))
        out += [""] * joined  # later lines keep their numbers in diagnostics
    open(dst, "w", encoding="utf-8").write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
