"""Build the six-domain corpus from text that Debian packages ship, plus generated mathematics.

Run (as root, after training/install-deps.sh):
    /usr/bin/python3 training/build_corpus.py [--work DIR] [--data DIR]

Writes
    <work>/corpus/<domain>/train.txt   training text (not committed; default training/work)
    <data>/sources.json                per domain: packages, versions, licences, sizes, held-out documents,
                                       and the held-out contamination check
Reads (never writes) <data>/heldout/<domain>.txt: the held-out sets are frozen, committed text
(chosen by the first version of this script with the same hash rule), so that every model the
project trains is measured on the same documents.

Reproducible: every input file comes from `dpkg-query -L <package>` for the packages named below
(never from whatever else happens to be installed), lists are sorted, the mathematics comes from
a seeded generator, and the split is a hash of each document's text. Documents are whole
(a Bible chapter, one fortune, one source file, one man page, one dictionary entry, one chapter of
a manual, one question with its answer). No held-out text is trained on: a document trains only if
(1) its text's hash is not in the held-out bucket (every held-out document is in it, and so is any
exact copy, whitespace ignored), (2) its name is not a held-out document's name (a later version of
the same file), and (3) at most half of its distinct long lines occur in the domain's held-out text
(near copies). Re-running with the same package versions gives byte-identical files.
"""
import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html.parser import HTMLParser
from math import gcd

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_CAP = 16_000_000         # bytes of training text per domain: ~5 M tokens, about one epoch of the run
BUCKETS = 16                   # a document is held-out material iff hash(text) % BUCKETS == 0
LONG_LINE = 30                 # lines of at least this many characters (stripped) count for near copies


# ---------------------------------------------------------------- packages and licences

# Short licence summaries for the copyright files that are not machine-readable (DEP-5), read
# from /usr/share/doc/<package>/copyright; DEP-5 files are summarised from their "Files: *" stanza.
LICENCE_NOTES = {
    "bible-kjv-text": "King James Version text: public domain (Crown copyright in the UK only); "
                      "Bible Retrieval System data: 'Users may copy, modify or distribute this file at will'",
    "bible-kjv": "Bible Retrieval System: 'Users may copy, modify or distribute this file at will'",
    "fortunes": "BSD-3-clause (fortune-mod); the fortune files are collected quotations distributed with it",
    "fortunes-min": "BSD-3-clause (fortune-mod); the fortune files are collected quotations distributed with it",
    "libc6-dev": "LGPL-2.1+ (GNU C Library headers; a few files under other free licences, see copyright)",
    "linux-libc-dev": "GPL-2 WITH Linux-syscall-note (Linux user-space API headers)",
    "libpython3.11-minimal": "PSF-2.0 (Python Software Foundation License; a few modules under other "
                             "permissive licences, see copyright)",
    "libpython3.11-stdlib": "PSF-2.0 (Python Software Foundation License; a few modules under other "
                            "permissive licences, see copyright)",
    "manpages": "GPL-2+ and Linux-man-pages-copyleft; some pages BSD or Expat (per page, see copyright)",
    "manpages-dev": "GPL-2+ and Linux-man-pages-copyleft; some pages BSD or Expat (per page, see copyright)",
    "dict-gcide": "GPL-3+ (GNU Collaborative International Dictionary of English; from Webster's 1913, public domain, "
                  "and WordNet, see copyright)",
    "dict-devil": "public domain (Ambrose Bierce, The Devil's Dictionary, 1911)",
    "libpython3.11-testsuite": "PSF-2.0 (Python Software Foundation License; see copyright)",
    "python3.11-doc": "PSF-2.0 (Python documentation; see copyright)",
    "glibc-source": "LGPL-2.1+ (GNU C Library sources; some files under other free licences, see copyright)",
    "man-db": "GPL-2+", "coreutils": "GPL-3+", "grep": "GPL-3+", "sed": "GPL-3+", "findutils": "GPL-3+",
    "tar": "GPL-3+", "bash": "GPL-3+", "dpkg": "GPL-2+", "apt": "GPL-2+",
}


def pkg_info(pkg):
    version = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True).stdout
    if not version:
        raise SystemExit(f"package {pkg} is not installed: run training/install-deps.sh")
    path = f"/usr/share/doc/{pkg}/copyright"
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    dep5 = sorted(set(m.strip() for m in re.findall(r"^License:[ \t]*(\S.*)$", text, re.M))) if text.startswith("Format:") else []
    main = re.search(r"^Files:[ \t]*\*[ \t]*\n(?:.*\n)*?License:[ \t]*(\S.*)$", text, re.M) if dep5 else None
    return {"package": pkg, "version": version,
            "license": LICENCE_NOTES.get(pkg) or (main.group(1).strip() if main else "see copyright file"),
            "licenses_in_copyright_file": dep5, "copyright_file": path}


def package_files(pkgs, pattern):
    """Regular files (not links) that the packages install, whose path matches pattern, sorted."""
    out = set()
    for pkg in pkgs:
        listing = subprocess.run(["dpkg-query", "-L", pkg], capture_output=True, text=True, check=True).stdout
        for p in listing.splitlines():
            if re.search(pattern, p) and os.path.isfile(p) and not os.path.islink(p):
                out.add(p)
    return sorted(out)


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------- domains from packages

def fortunes(paths):
    docs = []
    for p in paths:
        for i, d in enumerate(re.split(r"\n%\n", read(p))):
            d = d.strip("\n%")
            if d.strip():
                docs.append((f"{p}#{i}", d + "\n"))
    return docs


def english():
    """King James Bible chapters (as the `bible` program prints them, a verse per line), fortunes,
    The Devil's Dictionary and the Jargon File (an entry each), a sample of the GNU Collaborative
    International Dictionary of English (an entry each), and the Debian Administrator's Handbook and
    the Debian Reference (a chapter each)."""
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], capture_output=True, text=True, check=True).stdout
    chapters = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+?)(\d+):(\d+) (.*)$", line)
        if m:
            chapters.setdefault(f"kjv:{m.group(1)}{m.group(2)}", []).append(line.rstrip())
        elif chapters and line.strip():
            chapters[list(chapters)[-1]][-1] += " " + line.strip()
    docs = [(k, "\n".join(v) + "\n") for k, v in chapters.items()]
    pkgs = ["fortunes", "fortunes-min"]
    docs += fortunes(package_files(pkgs, r"^/usr/share/games/fortunes/[^/]+$(?<!\.dat)(?<!\.u8)"))
    docs += dict_entries("dict-devil", "devil") + dict_entries("dict-jargon", "jargon")
    docs += sample(dict_entries("dict-gcide", "gcide"), 4_000_000, "gcide")
    docs += html_docs(["debian-handbook"], r"^/usr/share/doc/debian-handbook/html/en-US/[^/]+\.html$")
    docs += html_docs(["debian-reference-en"], r"^/usr/share/debian-reference/[^/]+\.en\.html$")
    return docs, ["bible-kjv-text", "bible-kjv"] + pkgs + ["dict-devil", "dict-jargon", "dict-gcide", "debian-handbook",
                                                         "debian-reference-en"]


def dict_entries(pkg, name):
    """The entries of a dictd database (<name>.index and <name>.dict.dz of the package), one document
    each, without the database's own 00-database-* entries."""
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    num = lambda t: sum(b64.index(c) * 64 ** i for i, c in enumerate(reversed(t)))
    index, = package_files([pkg], rf"/{name}\.index$")
    data_file, = package_files([pkg], rf"/{name}\.dict\.dz$")
    with gzip.open(data_file, "rb") as f:  # dictzip is gzip with an index of its own
        data = f.read()
    docs, seen = [], set()
    with open(index, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            off, size = num(parts[1]), num(parts[2])
            if (off, size) in seen:  # several headwords can point at one entry
                continue
            seen.add((off, size))
            text = data[off:off + size].decode("utf-8", errors="replace").strip("\n")
            if len(text) > 40:
                docs.append((f"dict:{name}:{off}", text + "\n"))
    return docs


def sample(docs, cap, salt):
    """A deterministic sample of up to cap bytes: documents in the order of a salted hash of their name."""
    docs = sorted(docs, key=lambda d: hashlib.sha256(f"{salt}:{d[0]}".encode()).hexdigest())
    out, size = [], 0
    for d in docs:
        if size >= cap:
            break
        out.append(d)
        size += len(d[1].encode())
    return out


class _Text(HTMLParser):
    """The text of an HTML page: block elements on lines of their own, <pre> as it is, no scripts or styles."""
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "dt", "dd", "table", "pre",
             "blockquote", "section", "title"}
    SKIP = {"script", "style", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.pre, self.skip = [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in self.BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self):
        lines = [l.rstrip() for l in "".join(self.out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


def html_docs(pkgs, pattern):
    docs = []
    for p in package_files(pkgs, pattern):
        parser = _Text()
        parser.feed(read(p))
        t = parser.text()
        if len(t) > 500:
            docs.append((p, t))
    return docs


def german():
    """German fortunes, the German man pages of manpages-de (rendered as `man` shows them), and the
    German Debian Reference and Debian Administrator's Handbook (a chapter each)."""
    pkgs = ["fortunes-de"]
    docs = fortunes(package_files(pkgs, r"^/usr/share/games/fortunes(-de|/de)/[^/]+$(?<!\.dat)(?<!\.u8)"))
    docs += rendered_man_pages(["manpages-de"], r"^/usr/share/man/de/man[1-8]/[^/]+\.gz$")
    docs += html_docs(["debian-reference-de"], r"^/usr/share/debian-reference/[^/]+\.de\.html$")
    docs += html_docs(["debian-handbook"], r"^/usr/share/doc/debian-handbook/html/de-DE/[^/]+\.html$")
    return docs, pkgs + ["manpages-de", "debian-reference-de", "debian-handbook"]


def source_files(pkgs, pattern, exclude=None):
    docs = []
    for p in package_files(pkgs, pattern):
        if exclude and re.search(exclude, p):
            continue
        t = read(p)
        if 200 < len(t) < 60_000:  # whole files of ordinary size
            docs.append((p, t))
    return docs


def python():
    """The whole Python 3.11 standard library with its test suite (a file each) and the reStructuredText
    sources of its documentation (a page each)."""
    pkgs = ["libpython3.11-minimal", "libpython3.11-stdlib", "libpython3.11-testsuite"]
    docs = source_files(pkgs, r"^/usr/lib/python3\.11/.*\.py$")
    docs += source_files(["python3.11-doc"], r"^/usr/share/doc/python3\.11/html/_sources/.*\.rst\.txt$")
    return docs, pkgs + ["python3.11-doc"]


def c_source():
    """C headers of libc6-dev and linux-libc-dev, and the C sources and headers of the GNU C Library
    (glibc-source's tarball), a file each."""
    pkgs = ["libc6-dev", "linux-libc-dev"]
    docs = source_files(pkgs, r"^/usr/include/.*\.h$")
    for tb in package_files(["glibc-source"], r"^/usr/src/glibc/glibc-[0-9.]+\.tar\.xz$"):
        with tarfile.open(tb) as tar:
            for m in sorted((m for m in tar.getmembers() if m.isfile() and re.search(r"\.[ch]$", m.name)), key=lambda m: m.name):
                t = tar.extractfile(m).read().decode("utf-8", errors="replace")
                if 200 < len(t) < 60_000:
                    docs.append((f"{tb}:{m.name}", t))
    return docs, pkgs + ["glibc-source"]


MAN_PACKAGES = ["manpages", "manpages-dev", "git-man", "perl-doc", "libssl-doc", "man-db", "coreutils", "grep", "sed",
                "findutils", "tar", "bash", "dpkg", "apt"]


def manpages():
    """The English man pages of the Linux man-pages project, git, Perl, OpenSSL and the base tools,
    rendered to plain text (80 columns, no hyphenation or justification)."""
    return rendered_man_pages(MAN_PACKAGES, r"^/usr/share/man/man[1-8][a-z]*/[^/]+\.gz$"), MAN_PACKAGES


def render_man(p):
    """One man page as `man` shows it, or None for a ".so" alias page or a page too short to be one."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_DISABLE_SECCOMP="1")
    env.pop("MANOPT", None)
    env.pop("MANROFFOPT", None)
    with gzip.open(p, "rt", encoding="utf-8", errors="replace") as f:
        if f.read(4) == ".so ":
            return None
    r = subprocess.run(f"man --nh --nj -l '{p}' 2>/dev/null | col -bx", shell=True, env=env,
                       capture_output=True, text=True, errors="replace")
    t = r.stdout.strip("\n")
    return (p, t + "\n") if len(t) > 300 else None


def rendered_man_pages(pkgs, pattern):
    with ThreadPoolExecutor(max_workers=2) as pool:  # each page is a `man | col` subprocess
        return [d for d in pool.map(render_man, package_files(pkgs, pattern)) if d]


# ---------------------------------------------------------------- generated mathematics

LETTERS = "abcdfghjklmnpqrstuvwxyz"  # variable names; no e, i, o (read as constants or zero)


def poly(coeffs, v):
    """coeffs[k] is the coefficient of v**k; written as the DeepMind set does: 3*x**2 - x + 5."""
    out = ""
    for k in range(len(coeffs) - 1, -1, -1):
        c = coeffs[k]
        if c == 0:
            continue
        m = abs(c)
        body = str(m) if k == 0 else ("" if m == 1 else f"{m}*") + (v if k == 1 else f"{v}**{k}")
        out += ("-" if c < 0 else "") + body if not out else (" - " if c < 0 else " + ") + body
    return out or "0"


def dec(d):
    s = format(d, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def frac(q):
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


def is_prime(n):
    return n > 1 and all(n % p for p in range(2, int(n ** 0.5) + 1))


def math_question(r):
    """One question, its answer, and a claim: a Python expression built from the text as shown
    that must be true (checked for every generated question, so every answer is right)."""
    def n(lo=1, hi=999, neg=0.3):
        return r.randint(lo, hi) * (-1 if r.random() < neg else 1)

    def par(x):
        return f"({x})" if str(x).startswith("-") else str(x)

    v = "x" if r.random() < 0.3 else r.choice(LETTERS)
    k = r.randrange(21)
    if k == 0:  # sums and differences
        xs = [n(1, r.choice([9, 99, 999, 9999])) for _ in range(r.randint(2, 4))]
        expr = str(xs[0]) + "".join(f" {r.choice('+-')} {par(x)}" for x in xs[1:])
        q = r.choice(["What is {}?", "Calculate {}.", "Evaluate {}.", "What is the value of {}?", "{}"]).format(expr)
        a = eval(expr)
        return q, str(a), f"{expr} == {a}"
    if k == 1:  # products
        x, y = n(1, r.choice([12, 99, 999])), n(1, 99)
        q = r.choice(["Multiply {} and {}.", "What is {} times {}?", "Calculate {}*{}.", "Product of {} and {}."])
        return q.format(x, par(y) if "*" in q else y), str(x * y), f"{x} * {y} == {x * y}"
    if k == 2:  # exact division
        y, a = n(1, 60), n(1, 300)
        q = r.choice(["Divide {} by {}.", "What is {} divided by {}?", "Calculate {}/{}."])
        return q.format(y * a, par(y) if "/" in q else y), str(a), f"{y * a} / {y} == {a}"
    if k == 3:  # decimals
        x = Decimal(n(1, 9999)) / 10 ** r.randint(1, 3)
        y = Decimal(n(1, 999)) / 10 ** r.randint(0, 2)
        op = r.choice("+-*")
        a = {"+": x + y, "-": x - y, "*": x * y}[op]
        q = r.choice(["What is {} {} {}?", "Calculate {} {} {}.", "Evaluate {} {} {}."]).format(dec(x), op, par(dec(y)))
        return q, dec(a), f"Decimal('{dec(x)}') {op} Decimal('{dec(y)}') == Decimal('{dec(a)}')"
    if k == 4:  # linear equation, one side
        s, a, b = n(1, 30), n(1, 15), n(0, 99)
        lhs, rhs = poly([b, a], v), a * s + b
        q = f"Solve {lhs} = {rhs} for {v}."
        return q, str(s), f"(lambda {v}: {lhs} == {rhs})({s})"
    if k == 5:  # linear equation, both sides
        s, a, b, d = n(1, 20), n(1, 12), n(0, 60), n(0, 60)
        c = n(1, 12)
        if c == a:
            c = a + 1
        lhs, rhs = poly([b, a], v), poly([a * s + b - c * s, c], v)
        if r.random() < 0.5:
            lhs, rhs = rhs, lhs
        q = f"Solve {lhs} = {rhs} for {v}."
        return q, str(s), f"(lambda {v}: {lhs} == {rhs})({s})"
    if k == 6:  # two equations
        v, w = r.sample(LETTERS, 2)
        s, t = n(1, 12), n(1, 12)
        while True:
            a1, b1, a2, b2 = n(1, 9), n(1, 9), n(1, 9), n(1, 9)
            if a1 * b2 != a2 * b1:
                break
        e1 = f"{poly([0, a1], v)} {'-' if b1 < 0 else '+'} {poly([0, abs(b1)], w)} = {a1 * s + b1 * t}"
        e2 = f"{poly([0, a2], v)} {'-' if b2 < 0 else '+'} {poly([0, abs(b2)], w)} = {a2 * s + b2 * t}"
        which, ans = (v, s) if r.random() < 0.5 else (w, t)
        q = f"Solve {e1}, {e2} for {which}."
        claim = f"(lambda {v}, {w}: ({e1.replace('=', '==')}) and ({e2.replace('=', '==')}))({s}, {t})"
        return q, str(ans), claim
    if k == 7:  # collect terms
        p = r.randint(1, 3)
        cs = [n(1, 40) for _ in range(r.randint(2, 4))]
        if sum(cs) == 0:
            cs[0] += 1
        expr = poly([0] * p + [cs[0]], v) + "".join(
            (" - " if c < 0 else " + ") + poly([0] * p + [abs(c)], v) for c in cs[1:])
        a = poly([0] * p + [sum(cs)], v)
        q = r.choice(["Collect the terms in {}.", "Simplify {}."]).format(expr)
        return q, a, f"all((lambda {v}: ({expr}) == ({a}))(t) for t in range(-3, 4))"
    if k == 8:  # expand a product of linear factors
        p1, p2 = [n(0, 9), n(1, 6)], [n(0, 9), n(1, 6)]
        a = poly([p1[0] * p2[0], p1[0] * p2[1] + p1[1] * p2[0], p1[1] * p2[1]], v)
        q = f"Expand ({poly(p1, v)})*({poly(p2, v)})."
        return q, a, f"all((lambda {v}: ({poly(p1, v)})*({poly(p2, v)}) == ({a}))(t) for t in range(-3, 4))"
    if k == 9:  # derivatives
        cs = [n(0, 20) for _ in range(r.randint(3, 5))]
        cs[-1] = cs[-1] or 1
        d1 = [i * c for i, c in enumerate(cs)][1:]
        second = r.random() < 0.3
        der = [i * c for i, c in enumerate(d1)][1:] if second else d1
        a = poly(der, v)
        if second:
            q = r.choice(["What is the second derivative of {p} wrt {v}?", "Find the second derivative of {p} wrt {v}."])
        else:
            q = r.choice(["Differentiate {p} with respect to {v}.", "What is the derivative of {p} wrt {v}?",
                          "Find the first derivative of {p} wrt {v}."])
        q = q.format(p=poly(cs, v), v=v)
        # checked by five-point stencils on exact values: exact for polynomials of degree <= 4
        f = f"(lambda {v}: {poly(cs, v)})"
        if second:
            stencil = f"Fraction(-{f}(t+2) + 16*{f}(t+1) - 30*{f}(t) + 16*{f}(t-1) - {f}(t-2), 12)"
        else:
            stencil = f"Fraction(-{f}(t+2) + 8*{f}(t+1) - 8*{f}(t-1) + {f}(t-2), 12)"
        claim = f"all({stencil} == (lambda {v}: {a})(t) for t in range(-3, 4))"
        return q, a, claim
    if k == 10:  # evaluate a function
        cs = [n(0, 12) for _ in range(r.randint(2, 4))]
        fn, t = r.choice("fghjklmpqrsuwz"), n(0, 9)
        if fn == v:
            fn = "f" if v != "f" else "g"
        a = sum(c * t ** i for i, c in enumerate(cs))
        q = r.choice(["Let {f}({v}) = {p}. What is {f}({t})?", "Let {f}({v}) = {p}. Calculate {f}({t}).",
                      "Let {f}({v}) = {p}. Give {f}({t})."]).format(f=fn, v=v, p=poly(cs, v), t=t)
        return q, str(a), f"(lambda {v}: {poly(cs, v)})({t}) == {a}"
    if k == 11:  # highest common factor / lowest common multiple
        g = r.randint(1, 30)
        x, y = g * r.randint(1, 40), g * r.randint(1, 40)
        if r.random() < 0.5:
            q = r.choice(["What is the highest common factor of {} and {}?", "Calculate the greatest common divisor of {} and {}."])
            a = gcd(x, y)
        else:
            q = r.choice(["What is the lowest common multiple of {} and {}?", "Calculate the least common multiple of {} and {}."])
            a = x * y // gcd(x, y)
        return q.format(x, y), str(a), f"{a} == ({x} * {y} // gcd({x}, {y}) if 'mult' in {q!r} else gcd({x}, {y}))"
    if k == 12:  # primes
        x = r.randint(2, 5000)
        if r.random() < 0.5:
            while not is_prime(x):
                x += 1
        q = r.choice(["Is {} prime?", "Is {} a prime number?"]).format(x)
        return q, str(is_prime(x)), f"{is_prime(x)} == (all({x} % d for d in range(2, {x})))"
    if k == 13:  # remainders
        x, y = r.randint(10, 9999), r.randint(2, 99)
        q = r.choice(["What is the remainder when {} is divided by {}?", "Calculate the remainder when {} is divided by {}."])
        return q.format(x, y), str(x % y), f"{x} - ({x} // {y}) * {y} == {x % y}"
    if k == 14:  # sorting
        xs = r.sample(range(-99, 100), r.randint(3, 6))
        desc = r.random() < 0.5
        q = r.choice(["Sort {} in {} order.", "Put {} in {} order."]).format(
            ", ".join(map(str, xs)), r.choice(["descending", "decreasing"]) if desc else r.choice(["ascending", "increasing"]))
        a = ", ".join(map(str, sorted(xs, reverse=desc)))
        return q, a, f"[{a}] == sorted([{', '.join(map(str, xs))}], reverse={desc})"
    if k == 15:  # comparisons
        xs = r.sample(range(-999, 1000), r.randint(2, 5))
        if len(xs) == 2 and r.random() < 0.5:
            big = r.random() < 0.5
            q = f"Which is {'greater' if big else 'smaller'}: {xs[0]} or {xs[1]}?"
            a = max(xs) if big else min(xs)
        else:
            big = r.random() < 0.5
            q = f"What is the {r.choice(['biggest', 'greatest', 'largest']) if big else r.choice(['smallest', 'least'])} value in {', '.join(map(str, xs))}?"
            a = max(xs) if big else min(xs)
        return q, str(a), f"{a} == {'max' if big else 'min'}([{', '.join(map(str, xs))}])"
    if k == 16:  # rounding
        if r.random() < 0.5:
            places = r.randint(0, 3)
            x = Decimal(n(1, 10 ** 6)) / 10 ** (places + r.randint(1, 3))
            a = x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
            words = {0: "the nearest integer", 1: "one decimal place", 2: "two decimal places", 3: "three decimal places"}
            q = r.choice(["Round {} to {}.", "What is {} rounded to {}?"]).format(dec(x), words[places])
            return q, dec(a), f"abs(Decimal('{dec(x)}') - Decimal('{dec(a)}')) <= Decimal('0.5') * Decimal(10) ** -{places}"
        unit = r.choice([10, 100, 1000])
        x = n(1, 10 ** 6)
        a = int((Decimal(x) / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * unit
        q = r.choice(["Round {} to the nearest {}.", "What is {} rounded to the nearest {}?"]).format(x, unit)
        return q, str(a), f"abs({x} - {a}) <= {unit} // 2 and {a} % {unit} == 0"
    if k == 17:  # place value
        x = r.randint(100, 10 ** 7)
        place = r.choice(["units", "tens", "hundreds", "thousands"][: len(str(x))])
        a = x // {"units": 1, "tens": 10, "hundreds": 100, "thousands": 1000}[place] % 10
        return f"What is the {place} digit of {x}?", str(a), f"str({x})[-{['units', 'tens', 'hundreds', 'thousands'].index(place) + 1}] == '{a}'"
    if k == 18:  # fractions
        x, y = Fraction(n(1, 20), r.randint(1, 12)), Fraction(n(1, 20), r.randint(1, 12))
        op = r.choice("+-*/")
        a = {"+": x + y, "-": x - y, "*": x * y, "/": x / y}[op]
        q = r.choice(["Calculate ({}) {} ({}).", "What is ({}) {} ({})?"]).format(frac(x), op, frac(y))
        return q, frac(a), f"Fraction('{frac(x)}') {op} Fraction('{frac(y)}') == Fraction('{frac(a)}')"
    if k == 19:  # units
        big, small, f = r.choice([("kilometers", "meters", 1000), ("meters", "centimeters", 100), ("kilograms", "grams", 1000),
                                  ("liters", "milliliters", 1000), ("minutes", "seconds", 60), ("hours", "minutes", 60),
                                  ("days", "hours", 24), ("weeks", "days", 7), ("centuries", "years", 100)])
        x = Decimal(r.randint(1, 9999)) / 10 ** r.randint(0, 2)
        if r.random() < 0.5:
            return f"How many {small} are there in {dec(x)} {big}?", dec(x * f), f"Decimal('{dec(x * f)}') / {f} == Decimal('{dec(x)}')"
        return f"Convert {dec(x * f)} {small} to {big}.", dec(x), f"Decimal('{dec(x)}') * {f} == Decimal('{dec(x * f)}')"
    # k == 20: a few steps
    w = r.choice([c for c in LETTERS if c != v])
    a1, a2, m = n(1, 50), n(1, 50), n(1, 9)
    x = a1 + a2
    q = f"Let {v} = {a1} + {par(a2)}. Let {w} = {v} * {par(m)}. What is {w}?"
    return q, str(x * m), f"({a1} + {a2}) * {m} == {x * m}"


def math_text(n_docs=240_000, seed=1234):
    r = random.Random(seed)
    docs = []
    for i in range(n_docs):
        q, a, claim = math_question(r)
        if eval(claim, {"Decimal": Decimal, "Fraction": Fraction, "gcd": gcd}) is not True:
            raise AssertionError(f"wrong answer generated: {q!r} -> {a!r} ({claim})")
        docs.append((f"math:{i:06d}", f"{q}\nAnswer: {a}\n"))
    return docs, []


# ---------------------------------------------------------------- split and write

def long_lines(text):
    return {l.strip() for l in text.split("\n") if len(l.strip()) >= LONG_LINE}


def split(domain, docs, held_names, held_lines):
    """Drop exact duplicates (whitespace ignored), shuffle deterministically, and keep for training
    (up to TRAIN_CAP bytes) every document that is not held-out material: not in the held-out hash
    bucket, not named as a held-out document is, and not a near copy of held-out text (more than
    half of its distinct long lines occur in it)."""
    seen, uniq = set(), []
    for name, text in sorted(docs):
        key = " ".join(text.split())
        if key not in seen:
            seen.add(key)
            uniq.append((name, text, key))
    random.Random(f"mixscope:{domain}").shuffle(uniq)
    train, tb = [], 0
    dropped = {"heldout_bucket": 0, "heldout_name": 0, "near_copy_of_heldout": 0}
    for name, text, key in uniq:
        if int(hashlib.sha256(key.encode()).hexdigest(), 16) % BUCKETS == 0:
            dropped["heldout_bucket"] += 1
        elif name in held_names:
            dropped["heldout_name"] += 1
        elif 2 * len(long_lines(text) & held_lines) > len(long_lines(text)) > 0:
            dropped["near_copy_of_heldout"] += 1
        elif tb < TRAIN_CAP:
            train.append((name, text))
            tb += len(text.encode())
    return train, len(docs) - len(uniq), dropped


DOMAINS = {"english": english, "german": german, "python": python, "c": c_source, "manpages": manpages, "math": math_text}
GENERATED = {"package": "(generated by training/build_corpus.py, math_question, seed 1234)", "version": "-",
             "license": "CC0-1.0 (generated)"}
HELDOUT_KEYS = ("heldout_documents", "heldout_bytes", "heldout_names")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "work"), help="where corpus/<domain>/train.txt goes")
    ap.add_argument("--data", default=os.path.join(HERE, "data"), help="where heldout/ and sources.json are")
    ap.add_argument("--domains", nargs="*", default=list(DOMAINS), help="build only these (the others keep their text)")
    args = ap.parse_args()
    corpus, heldout = os.path.join(args.work, "corpus"), os.path.join(args.data, "heldout")
    src_path = os.path.join(args.data, "sources.json")
    previous = json.load(open(src_path, encoding="utf-8")) if os.path.exists(src_path) else {}
    sources = dict(previous)
    for domain in args.domains:
        path = os.path.join(heldout, f"{domain}.txt")
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: the held-out sets are committed and never rebuilt")
        with open(path, encoding="utf-8") as f:
            held_text = f.read()
        held_lines = long_lines(held_text)
        held = {k: previous.get(domain, {}).get(k) for k in HELDOUT_KEYS}
        docs, pkgs = DOMAINS[domain]()
        train, dups, dropped = split(domain, docs, set(held["heldout_names"] or []), held_lines)
        os.makedirs(os.path.join(corpus, domain), exist_ok=True)
        text = "\n".join(t for _, t in train)
        with open(os.path.join(corpus, domain, "train.txt"), "w", encoding="utf-8") as f:
            f.write(text)
        shared = held_lines & long_lines(text)
        sources[domain] = {
            "sources": [pkg_info(p) for p in pkgs] or [GENERATED],
            "documents": len(docs), "duplicates_dropped": dups, "not_trained_as_heldout": dropped,
            "train_documents": len(train), "train_bytes": len(text.encode()),
            "heldout_long_lines": len(held_lines), "heldout_long_lines_also_in_train": len(shared),
            "heldout_long_lines_also_in_train_examples": sorted(shared)[:5],
            **held,
        }
        s = sources[domain]
        print(f"{domain:9s} {s['documents']:6d} docs ({dups} duplicates, {dropped})  train {s['train_documents']:6d} docs "
              f"{s['train_bytes']:9d} B; held-out long lines also in training: {len(shared)}/{len(held_lines)}", flush=True)
        with open(src_path, "w", encoding="utf-8") as f:
            json.dump({d: sources[d] for d in DOMAINS if d in sources}, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
