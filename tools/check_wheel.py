"""Check a built fastmlp wheel before it is published.

    python tools/check_wheel.py dist/fastmlp-*.whl

Fails (exit 1, naming each problem) when the wheel carries generated C or other
build products, lacks the LICENSE, or when a compiled module has debug
information or a runpath outside the wheel. Reads ELF modules with pyelftools
(installed with auditwheel); other platforms' modules are only listed.
"""
import io
import sys
import zipfile

BUILD_PRODUCTS = (".c", ".cpp", ".html", ".o")


def elf_problems(name, data):
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    elf = ELFFile(io.BytesIO(data))
    problems = [f"{name}: debug section {s.name}" for s in elf.iter_sections()
                if s.name.startswith((".debug", ".zdebug"))]
    for section in elf.iter_sections():
        if not isinstance(section, DynamicSection):
            continue
        for tag in section.iter_tags():
            if tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                path = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
                outside = [p for p in path.split(":") if not p.startswith("$ORIGIN")]
                if outside:
                    problems.append(f"{name}: runpath outside the wheel {outside}")
    return problems


def check(path):
    problems = []
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        problems += [f"build product {n}" for n in names if n.endswith(BUILD_PRODUCTS)]
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            problems.append("no LICENSE in the .dist-info")
        for n in names:
            if n.endswith(".so") or ".so." in n:
                data = wheel.read(n)
                if data[:4] == b"\x7fELF":
                    problems += elf_problems(n, data)
        modules = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".dll"))
                   or ".so." in n]
    print(f"{path}: {len(names)} files; compiled: {', '.join(sorted(modules))}")
    return problems


def main(paths):
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print("PROBLEM:", p)
    print("wheel check:", "failed" if problems else "passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
