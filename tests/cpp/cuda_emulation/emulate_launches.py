"""Rewrite a .cu file for the CPU emulation (emulation.hpp): kernel<<<grid, block>>>(args); becomes
emu::launch(grid, block, [&] { kernel(args); }); and relative includes of cuda/ headers become plain names.

Usage: python emulate_launches.py IN.cu OUT.cpp"""

import re
import sys

LAUNCH = re.compile(r"^(\s*)(.*?)<<<(.+?), (\w+)>>>\((.*)\);$")


def main(src: str, dst: str) -> None:
    out = ['#include "emulation.hpp"']
    for line in open(src, encoding="utf-8").read().split("\n"):
        m = LAUNCH.match(line)
        if m:
            indent, kernel, grid, block, args = m.groups()
            line = f"{indent}emu::launch({grid}, {block}, [&] {{ {kernel}({args}); }});"
        if "<<<" in line:
            sys.exit(f"{src}: a launch this script cannot rewrite (keep each on one line): {line.strip()}")
        out.append(re.sub(r'#include "\.\./core/(\w+\.cuh)"', r'#include "\1"', line))
    open(dst, "w", encoding="utf-8").write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
