#!/usr/bin/env bash
# Debian packages the corpus, tokenizer and training scripts need (run as root).
# Text sources per domain: see training/build_corpus.py and training/data/sources.json.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  python3-torch python3-numpy python3-sentencepiece libopenblas0-pthread libtcmalloc-minimal4 \
  groff-base man-db xz-utils \
  bible-kjv-text bible-kjv fortunes fortunes-min dict-devil dict-jargon dict-gcide debian-handbook debian-reference-en \
  fortunes-de manpages-de debian-reference-de \
  libpython3.11-testsuite python3.11-doc \
  libc6-dev glibc-source \
  manpages manpages-dev git-man perl-doc libssl-doc >/dev/null
